"""The API under many clients: the polled reads (experiment status, event log) answered from the read cache (a
repeated read at the same bus version runs no SQL at all; the first read after any committed change shows
it), and a crowd of probes waiting on their own limiter rather than holding every request thread."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from backend.app.api.routes.attack import PROBE_CONCURRENCY
from backend.app.main import create_app
from backend.app.read_cache import ReadCache
from backend.app.serving import freeze_start_up_heap
from backend.ledger.outbox import OUTBOX_THREAD
from backend.orchestrator.event_kinds import AttackUpdated
from backend.orchestrator.runner import RUNNER_THREAD
from backend.orchestrator.service import Orchestrator
from backend.orchestrator.specs import AttackPlan
from tests.api.helpers import create_experiment
from tests.support.server import live_server

ANYIO_THREADS = 40  # anyio's default limit on threads running sync routes


BACKGROUND_THREADS = {RUNNER_THREAD, OUTBOX_THREAD}


@contextmanager
def statements(orchestrator: Orchestrator) -> Iterator[list[str]]:
    """The SQL statements the orchestrator's engine runs inside the block, for requests: the round runner's
    and the outbox's own ticks (their threads) are not the reads' doing."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.current_thread().name not in BACKGROUND_THREADS:
            seen.append(statement)

    event.listen(orchestrator.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(orchestrator.engine, "before_cursor_execute", record)


def test_status_read_is_cached_until_a_change_commits(client: TestClient, orchestrator: Orchestrator) -> None:
    experiment = create_experiment(client)
    path = f"/api/experiments/{experiment['id']}"
    first = client.get(path)
    assert first.status_code == 200 and first.json() == experiment  # same body as the create answered
    with statements(orchestrator) as seen:
        again = client.get(path)
    assert again.content == first.content and seen == []
    assert client.put(f"{path}/attack", json={"kind": "sign_flip", "num_attackers": 1}).status_code == 200
    changed = client.get(path).json()
    assert changed["attack"]["kind"] == "sign_flip" and changed["updated_at"] != experiment["updated_at"]
    assert client.post(f"{path}/start").status_code == 200
    assert client.get(path).json()["status"] == "running"
    missing = client.get("/api/experiments/999999")
    assert missing.status_code == 404 and "no experiment 999999" in missing.json()["detail"]


def test_event_log_page_is_cached_until_an_event_commits(
    client: TestClient, orchestrator: Orchestrator
) -> None:
    experiment = create_experiment(client)
    newest = f"/api/events/log?before={2**53 - 1}&limit=5&experiment_id={experiment['id']}"
    first = client.get(newest).json()
    assert [e["kind"] for e in first["events"]] == ["experiment.created"]
    with statements(orchestrator) as seen:
        assert client.get(newest).json() == first
    assert seen == []
    orchestrator.bus.publish(AttackUpdated(experiment_id=experiment["id"], attack=AttackPlan()))
    after = client.get(newest).json()
    assert [e["kind"] for e in after["events"]] == ["attack.updated", "experiment.created"]


def test_bus_version_moves_only_when_a_transaction_commits(orchestrator: Orchestrator) -> None:
    bus = orchestrator.bus
    before = bus.version
    with bus.transaction():
        pass  # a commit without events still counts: state may have changed
    assert bus.version == before + 1
    with pytest.raises(RuntimeError), bus.transaction() as pub:
        pub.publish(AttackUpdated(experiment_id=1, attack=AttackPlan()))
        raise RuntimeError("abort")
    assert bus.version == before + 1


def test_a_crowd_of_probes_leaves_request_threads_to_other_routes(orchestrator: Orchestrator) -> None:
    """Twice as many probes in flight as request threads: a sync route still answers at once, while only a
    few probes have finished (were probes holding the threads, it would wait for dozens of them)."""
    crowd = 2 * ANYIO_THREADS
    attack: dict[str, Any] = {"kind": "sign_flip", "num_attackers": 1}
    body: dict[str, Any] = {"dataset_id": "wine", "attack": attack}
    with live_server(create_app(orchestrator=orchestrator)) as url:
        assert (
            httpx.post(f"{url}/api/attack-probe", json=body, timeout=120).status_code == 200
        )  # builds the cache

        async def crowd_then_read() -> tuple[int, list[int]]:
            finished: list[int] = []
            async with httpx.AsyncClient(
                base_url=url, timeout=120, limits=httpx.Limits(max_connections=crowd + 1)
            ) as http:

                async def probe(i: int) -> None:
                    scaled = {**body, "attack": {**attack, "scale": 1 + i % 7}}
                    assert (await http.post("/api/attack-probe", json=scaled)).status_code == 200
                    finished.append(i)

                probes = [asyncio.create_task(probe(i)) for i in range(crowd)]
                while not finished:  # by the first answer, every probe has been sent
                    await asyncio.sleep(0.005)
                read = await http.get("/api/experiments")
                done_at_read = len(finished)
                await asyncio.gather(*probes)
                return read.status_code, [done_at_read, len(finished)]

        status, (done_at_read, done) = asyncio.run(crowd_then_read())
    assert status == 200 and done == crowd
    assert done_at_read < crowd - ANYIO_THREADS  # it did not wait for the threads to drain
    assert PROBE_CONCURRENCY < ANYIO_THREADS


def test_readers_that_miss_together_share_one_build(orchestrator: Orchestrator) -> None:
    cache = ReadCache()
    release = threading.Event()
    builds: list[int] = []

    def build() -> bytes:
        builds.append(1)
        assert release.wait(30)
        return b'{"built": 1}'

    async def crowd() -> list[bytes]:
        readers = [asyncio.create_task(cache.response(orchestrator.bus, "key", build)) for _ in range(50)]
        await asyncio.sleep(0)  # one pass of the loop: every reader has asked and is waiting
        release.set()
        return [bytes(r.body) for r in await asyncio.gather(*readers)]

    assert asyncio.run(crowd()) == [b'{"built": 1}'] * 50
    assert builds == [1]


def test_serving_freezes_the_start_up_heap_out_of_the_cycle_collector() -> None:
    gc.unfreeze()
    try:
        freeze_start_up_heap()
        assert gc.get_freeze_count() > 10_000  # torch, web3, the app: not walked by full collections
        assert gc.collect() >= 0 and gc.get_freeze_count() > 10_000  # a full collection leaves them frozen
    finally:
        gc.unfreeze()
