"""A node process logs its per-request HTTP lines only at DEBUG: at INFO, polling every second stays quiet."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi import FastAPI

from backend.settings import REPO_ROOT
from tests.support.server import live_server

PROGRAM = """
import sys, httpx
from workers.node import configure_logging
configure_logging(sys.argv[1], "%(levelname)s %(name)s %(message)s")
httpx.get(sys.argv[2])
"""


@pytest.mark.parametrize(("level", "shown"), [("INFO", False), ("DEBUG", True)])
def test_http_lines_only_at_debug(level: str, shown: bool) -> None:
    app = FastAPI()
    app.get("/ping")(lambda: {"ok": True})
    with live_server(app) as url:
        run = subprocess.run(
            [sys.executable, "-c", PROGRAM, level, f"{url}/ping"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
    assert ("HTTP Request: GET" in run.stderr) is shown, run.stderr
