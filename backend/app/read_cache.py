"""Response bodies of the reads a dashboard polls, cached against the event bus's version.

Every write to what the experiment status and the event log show commits through
`EventBus.transaction()`, which bumps `bus.version` after its commit. A body built after reading version
`v` is therefore true for as long as the version is still `v`: until the next write, every poll is answered
from memory, on the event loop, with no thread hop, database session or serialization. The first read
after a write builds the body again on a worker thread. Keys carry the version, so superseded bodies age out
of a bounded LRU; each body is bounded by its route's own page limit.

Under 100 concurrent readers this is what keeps status reads near a bare endpoint's cost while a round is
received (each update commits, so the version moves tens of times a second, and each version is built once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from backend.engine.caching import LRUCache
from backend.orchestrator.events import EventBus

ENTRIES = 256


class ReadCache:
    """JSON bodies by (bus version, key); used from one event loop (the app's)."""

    def __init__(self, size: int = ENTRIES) -> None:
        self._bodies: LRUCache[bytes] = LRUCache(size)
        self._building: dict[Hashable, asyncio.Task[bytes]] = {}

    async def response(self, bus: EventBus, key: Hashable, build: Callable[[], bytes]) -> Response:
        """The body for ``key`` at the bus's current version; ``build`` (blocking) runs on a thread if absent.

        The version is read before building, so a write that commits meanwhile makes the body stale at
        once rather than serving it past that write. Readers that miss together share one build: after a
        write, a hundred pollers cost one database read, not a hundred.
        """
        versioned = (bus.version, key)
        body = self._bodies.get(versioned)
        if body is not None:
            return Response(body, media_type="application/json")
        task = self._building.get(versioned)
        if task is None:
            task = self._building[versioned] = asyncio.create_task(self._build(versioned, build))
        # shield: a reader that disconnects must not cancel the build the others wait on
        return Response(await asyncio.shield(task), media_type="application/json")

    async def _build(self, versioned: Hashable, build: Callable[[], bytes]) -> bytes:
        try:
            built = await asyncio.to_thread(build)
            return self._bodies.get_or_make(versioned, lambda: built)
        finally:
            del self._building[versioned]


async def get_read_cache(request: Request) -> ReadCache:
    """The app's cache (async: a dependency on the loop costs no thread hop)."""
    cache: ReadCache = request.app.state.read_cache
    return cache


ReadCacheDep = Annotated[ReadCache, Depends(get_read_cache)]
