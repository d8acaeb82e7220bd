"""A server process of the API bench: the orchestrator, or a bare FastAPI app as the ceiling, served alike.

`python -m backend.bench.served orchestrator|bare --port N --lag-file PATH` serves the app with the
orchestrator's uvicorn configuration (`backend.app.serving`), the orchestrator with `Settings` from the
environment (FEDSHIELD_*). Beside the server, on the same event loop, a monitor sleeps `LAG_TICK_S` at a
time and records how late it wakes: a loop blocked by work that belongs on a thread or a worker process
shows as lag. The samples `[[unix time, lag s], ...]` are written to the lag file at exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI

LAG_TICK_S = 0.02
BARE_PATH = "/ping"


def bare_app() -> FastAPI:
    """The ceiling: one trivial sync GET returning a small JSON, as the orchestrator's sync routes are."""
    app = FastAPI()

    @app.get(BARE_PATH)
    def ping() -> dict[str, Any]:
        return {"ok": True, "service": "ceiling"}

    return app


async def _watch_loop(samples: list[tuple[float, float]]) -> None:
    while True:
        started = time.perf_counter()
        await asyncio.sleep(LAG_TICK_S)
        samples.append((time.time(), time.perf_counter() - started - LAG_TICK_S))


async def _serve(app: Any, port: int, samples: list[tuple[float, float]]) -> None:
    import uvicorn

    from backend.app.serving import uvicorn_config

    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port, access_log=False, log_level="warning"))
    watcher = asyncio.create_task(_watch_loop(samples))
    try:
        await server.serve()
    finally:
        watcher.cancel()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", choices=("orchestrator", "bare"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lag-file", type=Path, required=True)
    args = parser.parse_args(argv)
    from backend.app.serving import freeze_start_up_heap

    if args.app == "orchestrator":
        from backend.app.main import create_app
        from backend.app.serving import share_cores_with_nodes
        from backend.settings import Settings

        share_cores_with_nodes()
        app: Any = create_app(Settings())
    else:
        app = bare_app()
    freeze_start_up_heap()  # both servers alike, as `fedshield serve` does
    samples: list[tuple[float, float]] = []
    try:
        asyncio.run(_serve(app, args.port, samples))
    finally:
        args.lag_file.write_text(json.dumps(samples))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
