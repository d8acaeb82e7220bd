"""How the orchestrator is served: one uvicorn configuration for `fedshield serve` and the API bench, and
what a serving process does once its app is built."""

from __future__ import annotations

import gc
import os
from typing import Any

import uvicorn

GRACEFUL_SHUTDOWN_S = 2


def uvicorn_config(
    app: Any, host: str, port: int, *, access_log: bool, log_level: str = "info"
) -> uvicorn.Config:
    """uvicorn's defaults (one worker, asyncio loop, h11 or httptools) with the orchestrator's shutdown grace."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )


def share_cores_with_nodes() -> None:
    """The server evaluates and probes on torch threads of its own; leave the other cores to the nodes."""
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))


def freeze_start_up_heap() -> None:
    """Moves every object alive now (torch, web3's ABIs, the app: ~350k objects) out of the cycle collector.

    They live as long as the process; left in, every full collection walks them again, which under load
    holds the GIL for about half a second and stalls the event loop and every request with it. Called
    once the app is built, by serving processes only (a test process that builds many apps would keep
    their cyclic garbage forever).
    """
    gc.freeze()
