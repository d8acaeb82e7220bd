"""`schemathesis run --checks all` against the schema a live orchestrator serves (uvicorn, real HTTP).

Every check passes: no 5xx, every status and body as the schema declares, schema-violating input refused,
schema-valid input taken, the admin token enforced. The only exceptions are those schemathesis.toml names,
with their reasons (the endless event stream; uploads and experiments whose content is checked beyond
what a schema can say). The run is bounded (examples per operation, a fixed seed) so it takes seconds.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
from pydantic import SecretStr

from backend.app.main import create_app
from backend.orchestrator.service import Orchestrator
from backend.settings import REPO_ROOT
from tests.api.conftest import ApiChain, make_settings
from tests.api.helpers import experiment_body
from tests.support.server import live_server

MAX_EXAMPLES = 15  # per operation and phase; ~1000 requests in all
SEED = 1
ADMIN_TOKEN = "schemathesis-admin-token"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_schemathesis_passes_every_check_against_the_served_schema(
    tmp_path: Path, db_url: str, api_chain: ApiChain
) -> None:
    settings = make_settings(tmp_path, db_url, api_chain, admin_token=SecretStr(ADMIN_TOKEN))
    orchestrator = Orchestrator(settings)
    auth = f"Bearer {ADMIN_TOKEN}"
    try:
        with live_server(create_app(orchestrator=orchestrator)) as url:
            # Experiment 1 exists and runs, as the schema's examples assume, so operations meet real state.
            with httpx.Client(base_url=url, headers={"Authorization": auth}) as client:
                assert client.post("/api/experiments", json=experiment_body()).status_code == 201
                assert client.post("/api/experiments/1/start").status_code == 200
            run = subprocess.run(
                [
                    str(SCHEMATHESIS),
                    "run",
                    f"{url}/openapi.json",
                    "--checks=all",
                    f"--max-examples={MAX_EXAMPLES}",
                    f"--seed={SEED}",
                    "--workers=1",
                    "--generation-database=none",
                    "--no-color",
                    f"--header=Authorization: {auth}",
                ],
                cwd=REPO_ROOT,  # where schemathesis.toml is read from
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
    finally:
        orchestrator.stop()
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-8000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", report)
    tested = re.search(r"Tested: (\d+)", report)
    assert selected is not None and tested is not None, report[-3000:]
    assert int(selected.group(1)) == int(selected.group(2)) - 1, report[-3000:]  # all but the event stream
    assert int(tested.group(1)) == int(selected.group(1)), report[-3000:]
