"""The API bench's load generator: one process, asyncio and aiohttp, N concurrent keep-alive readers.

`python -m backend.bench.load PLAN.json` runs the plan's phases one after another and prints their figures
as JSON on stdout. In every phase `clients` readers each send one request, wait for its answer, and send
the next, for the phase's whole window, after an unmeasured warm-up. A phase that names `updates` also
posts those precomputed, signed updates (a few at a time, as a cohort's nodes arrive in a burst) at the
start of its window, and its window lasts until the experiment's round is recorded: the reads are measured
while the round is received and screened. Nothing is signed, trained or encoded here during a window; the
generator only sends bytes, so the server's own cost is what the figures show.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

POSTERS = 8  # updates in flight at once: a cohort's burst, bounded like a real fleet's processes
MONITOR_TICK_S = 0.1
NEXT_ROUND_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Sample:
    started: float  # perf_counter at send
    latency_s: float
    error: str | None  # None for a 2xx


@dataclass
class Window:
    """A phase's measured span, in perf_counter seconds; `end` stays None while it runs."""

    start: float = 0.0
    end: float | None = None

    def holds(self, moment: float) -> bool:
        return moment >= self.start and (self.end is None or moment < self.end)


@dataclass(frozen=True)
class SignedUpdate:
    address: str
    message: str
    signature: str
    payload: bytes


@dataclass
class RoundWatch:
    """What the monitor saw of the phase's experiment."""

    closed_after_s: float | None = None  # from the first post to the round recorded
    next_opened: bool = False
    posted: Counter[str] = field(default_factory=Counter)  # "202", "409", "timeout", ...
    intake_s: float | None = None  # from the first post to the last answer


def error_of(status: int) -> str | None:
    return None if 200 <= status < 300 else f"HTTP {status}"


async def _timed(request: Awaitable[int]) -> Sample:
    """Awaits one request (a coroutine not yet started) and times it."""
    started = time.perf_counter()
    try:
        status = await request
        error = error_of(status)
    except TimeoutError:
        error = "timeout"
    except aiohttp.ClientError as exc:
        error = type(exc).__name__
    return Sample(started, time.perf_counter() - started, error)


def _request(session: aiohttp.ClientSession, read: dict[str, Any]) -> Callable[[int], Awaitable[int]]:
    """The phase's read, as a function of the call's sequence number (a probe's parameters move with it)."""
    method, url = read["method"], read["url"]

    async def send(i: int) -> int:
        body: dict[str, Any] | None = read.get("json")
        if body is not None and read.get("vary_scale"):
            body = {**body, "attack": {**body["attack"], "scale": 1.0 + (i % 20) / 10}}
        async with session.request(method, url, json=body) as response:
            await response.read()
            return response.status

    return send


async def _reader(send: Callable[[int], Awaitable[int]], samples: list[Sample], stop: asyncio.Event) -> None:
    i = 0
    while not stop.is_set():
        samples.append(await _timed(send(i)))
        i += 1


async def _post_updates(
    session: aiohttp.ClientSession, url: str, updates: Sequence[SignedUpdate], watch: RoundWatch
) -> None:
    queue: asyncio.Queue[SignedUpdate] = asyncio.Queue()
    for update in updates:
        queue.put_nowait(update)
    started = time.perf_counter()

    async def post(update: SignedUpdate) -> int:
        form = aiohttp.FormData()
        form.add_field("update", update.payload, filename="update.safetensors",
                       content_type="application/octet-stream")  # fmt: skip
        form.add_field("message", update.message)
        form.add_field("signature", update.signature)
        form.add_field("address", update.address)
        async with session.post(url, data=form) as response:
            await response.read()
            return response.status

    async def worker() -> None:
        while not queue.empty():
            update = queue.get_nowait()
            sample = await _timed(post(update))
            watch.posted["202" if sample.error is None else sample.error] += 1

    try:
        await asyncio.gather(*(worker() for _ in range(POSTERS)))
    except asyncio.CancelledError:
        watch.posted["not answered before the round timed out"] = len(updates) - sum(watch.posted.values())
        raise
    watch.intake_s = time.perf_counter() - started


async def _experiment_status(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    """The experiment as the monitor sees it; empty while the server does not answer in time."""
    try:
        async with session.get(url) as response:
            found: dict[str, Any] = await response.json() if response.status == 200 else {}
            return found
    except (TimeoutError, aiohttp.ClientError):
        return {}


async def _watch_round(
    session: aiohttp.ClientSession, url: str, window: Window, watch: RoundWatch, timeout_s: float
) -> None:
    """Ends the window when the experiment's first round is recorded (or at the timeout), then checks
    that the runner opens the next round."""
    deadline = window.start + timeout_s
    while time.perf_counter() < deadline:
        if (await _experiment_status(session, url)).get("completed_rounds", 0) >= 1:
            window.end = time.perf_counter()
            watch.closed_after_s = window.end - window.start
            break
        await asyncio.sleep(MONITOR_TICK_S)
    if window.end is None:
        window.end = time.perf_counter()
        return
    next_deadline = time.perf_counter() + NEXT_ROUND_TIMEOUT_S
    while time.perf_counter() < next_deadline:
        if (await _experiment_status(session, url)).get("current_round", 0) >= 2:
            watch.next_opened = True
            return
        await asyncio.sleep(MONITOR_TICK_S)


def _percentile_ms(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index] * 1000, 2)


def summarize(samples: Sequence[Sample], window: Window) -> dict[str, Any]:
    """Requests sent inside the window: throughput over its length, latency percentiles, errors by kind."""
    inside = [s for s in samples if window.holds(s.started)]
    assert window.end is not None
    seconds = max(window.end - window.start, 1e-9)
    latencies = [s.latency_s for s in inside if s.error is None]
    errors = Counter(s.error for s in inside if s.error is not None)
    return {
        "requests": len(inside),
        "ok": len(latencies),
        "errors": dict(errors),
        "window_s": round(seconds, 3),
        "throughput_rps": round(len(latencies) / seconds, 1),
        "p50_ms": _percentile_ms(latencies, 50),
        "p99_ms": _percentile_ms(latencies, 99),
        "started_at": time.time() - (time.perf_counter() - window.start),
        "ended_at": time.time() - (time.perf_counter() - window.end),
    }


def _load_updates(spec: dict[str, Any]) -> list[SignedUpdate]:
    payloads = Path(spec["payload_dir"])
    return [
        SignedUpdate(u["address"], u["message"], u["signature"], (payloads / u["payload"]).read_bytes())
        for u in spec["items"]
    ]


async def run_phase(phase: dict[str, Any], clients: int, warmup_s: float, timeout_s: float) -> dict[str, Any]:
    updates = _load_updates(phase["updates"]) if phase.get("updates") else []  # read before the clock runs
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    readers = aiohttp.TCPConnector(limit=clients)
    async with (
        aiohttp.ClientSession(connector=readers, timeout=timeout) as read_session,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=POSTERS), timeout=timeout) as post_session,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as monitor_session,
    ):
        samples: list[Sample] = []
        stop = asyncio.Event()
        send = _request(read_session, phase["read"])
        tasks = [asyncio.create_task(_reader(send, samples, stop)) for _ in range(clients)]
        await asyncio.sleep(warmup_s)
        window = Window(start=time.perf_counter())
        watch = RoundWatch()
        if updates:
            poster = asyncio.create_task(_post_updates(post_session, phase["updates"]["url"], updates, watch))
            await _watch_round(monitor_session, phase["status_url"], window, watch, phase["round_timeout_s"])
            if watch.closed_after_s is None:
                poster.cancel()  # the round did not close: what is still queued is not worth waiting for
            with contextlib.suppress(asyncio.CancelledError):
                await poster
        else:
            await asyncio.sleep(phase["duration_s"])
            window.end = time.perf_counter()
        stop.set()
        await asyncio.gather(*tasks)
    result = {"name": phase["name"], "clients": clients, **summarize(samples, window)}
    if updates:
        result["round"] = {
            "updates": len(updates),
            "posted": dict(watch.posted),
            "intake_s": None if watch.intake_s is None else round(watch.intake_s, 3),
            "closed": watch.closed_after_s is not None,
            "closed_after_s": None if watch.closed_after_s is None else round(watch.closed_after_s, 3),
            "next_round_opened": watch.next_opened,
        }
    return result


async def run_plan(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        await run_phase(phase, plan["clients"], plan["warmup_s"], plan["timeout_s"])
        for phase in plan["phases"]
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m backend.bench.load PLAN.json", file=sys.stderr)
        return 2
    plan = json.loads(Path(args[0]).read_text())
    print(json.dumps(asyncio.run(run_plan(plan))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
