"""Real HTTP for tests: an ASGI app under uvicorn on a free loopback port, and polling for a condition."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
import uvicorn

from backend.chain.local import free_port

T = TypeVar("T")


@contextmanager
def live_server(app: Any, *, start_timeout_s: float = 30.0, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn on ``port`` (default: a free one) of 127.0.0.1 in a thread; yields its URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), start_timeout_s, "uvicorn to start")
    if not server.started:
        raise RuntimeError("uvicorn exited before it started serving")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def wait_for(condition: Callable[[], T | None], timeout_s: float = 60.0, what: str = "condition") -> T:
    """Poll ``condition`` until it returns something truthy, and return that; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.05)
