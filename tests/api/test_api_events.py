"""The live event stream over a real HTTP server: integer ids, resume with Last-Event-ID without gaps, and
the paged log agreeing with the stream."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backend.app.main import create_app
from backend.orchestrator.service import Orchestrator
from tests.api.helpers import experiment_body
from tests.support.server import live_server


@pytest.fixture
def base_url(orchestrator: Orchestrator) -> Iterator[str]:
    with live_server(create_app(orchestrator=orchestrator)) as url:
        yield url


def read_events(lines: Iterator[str], count: int) -> list[dict[str, Any]]:
    """The next ``count`` events of an SSE stream's lines (comments and keep-alives skipped)."""
    events: list[dict[str, Any]] = []
    fields: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "data" in fields:
                events.append(
                    {"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"])}
                )
                if len(events) == count:
                    return events
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
    raise AssertionError(f"stream ended after {len(events)} of {count} events")


def make_events(base_url: str, experiments: int) -> None:
    """Each experiment created is one `experiment.created` event."""
    with httpx.Client(base_url=base_url) as http:
        for i in range(experiments):
            assert http.post("/api/experiments", json=experiment_body(name=f"e{i}")).status_code == 201


def test_stream_has_integer_ids_and_resumes_after_last_event_id_without_gaps(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        with http.stream("GET", "/api/events") as live:
            assert live.headers["content-type"].startswith("text/event-stream")
            lines = live.iter_lines()
            assert next(lines).startswith(":")  # the stream's opening comment: it is listening from here
            maker = threading.Thread(target=make_events, args=(base_url, 3))
            maker.start()
            first = read_events(lines, 3)
            maker.join()
        assert [e["event"] for e in first] == ["experiment.created"] * 3
        ids = [e["id"] for e in first]
        assert ids == sorted(ids) and len(set(ids)) == 3
        assert all(
            e["data"]["id"] == e["id"] and e["data"]["message"].startswith("Experiment ") for e in first
        )

        make_events(base_url, 4)  # while no one listens
        headers = {"Last-Event-ID": str(ids[-1])}
        with http.stream("GET", "/api/events", headers=headers) as resumed:
            missed = read_events(resumed.iter_lines(), 4)
        log = http.get("/api/events/log", params={"after": ids[-1]}).json()["events"]
        assert [e["id"] for e in missed] == [e["id"] for e in log]
        assert [e["data"]["message"] for e in missed] == [e["message"] for e in log]

        with http.stream("GET", "/api/events", params={"after": 0, "kind": "experiment."}) as replay:
            everything = read_events(replay.iter_lines(), 7)
        assert [e["id"] for e in everything] == ids + [e["id"] for e in missed]


def test_event_log_pages_in_id_order(base_url: str) -> None:
    make_events(base_url, 5)
    with httpx.Client(base_url=base_url) as http:
        page = http.get("/api/events/log", params={"limit": 2}).json()
        assert len(page["events"]) == 2 and page["next_after"] == page["events"][-1]["id"]
        rest = http.get("/api/events/log", params={"after": page["next_after"], "limit": 100}).json()
        assert len(rest["events"]) == 3
        ids = [e["id"] for e in page["events"] + rest["events"]]
        assert ids == sorted(ids)
        newest = http.get("/api/events/log", params={"before": ids[-1] + 1, "limit": 2}).json()["events"]
        assert [e["id"] for e in newest] == [ids[-1], ids[-2]]
        assert http.get("/api/events/log", params={"kind": "round."}).json()["events"] == []
        assert http.get("/api/events/log", params={"limit": 0}).status_code == 422
