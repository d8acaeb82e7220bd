"""The standing pool of simulated nodes, through `fedshield serve --fleet` in its own process: the fleet's
experiment (paced, its attacker starting mid-run) gets its nodes from the pool, a finished experiment hands them back, an experiment started
afterwards gets nodes at once, and "Add simulated nodes (N, of which K attack)" starts staked nodes whose
attackers join the experiment's attack plan."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from backend.chain.local import free_port
from backend.settings import REPO_ROOT
from tests.faults.stack import Drill
from tests.support.server import wait_for


@pytest.fixture
def served(drill: Drill) -> Iterator[httpx.Client]:
    port = free_port()
    log = open(drill.tmp / "serve.log", "ab")  # noqa: SIM115 - the child holds it
    serve = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--fleet", "2",
         "--dataset", "wine", "--rounds", "2", "--malicious", "1", "--attack-from", "2", "--pace", "2"],
        cwd=REPO_ROOT, env=drill.environment(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            wait_for(lambda: _answers(http), 90, "the orchestrator to answer")
            yield http
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(60)


def _answers(http: httpx.Client) -> bool:
    try:
        return http.get("/api/health").status_code == 200
    except httpx.TransportError:
        return False


def _experiment(http: httpx.Client, experiment_id: int) -> dict[str, Any]:
    """The experiment; `{"detail": ...}` while `serve` has not created it yet."""
    body: dict[str, Any] = http.get(f"/api/experiments/{experiment_id}").json()
    return body


def _pool(http: httpx.Client, experiment_id: int) -> dict[str, Any]:
    body: dict[str, Any] = http.get(f"/api/experiments/{experiment_id}/simulated-nodes").json()
    return body


def _create(http: httpx.Client, num_nodes: int) -> int:
    created = http.post(
        "/api/experiments", json={"name": "pool", "dataset_id": "wine", "num_nodes": num_nodes, "rounds": 1}
    )
    assert created.status_code == 201, created.text
    experiment_id: int = created.json()["id"]
    return experiment_id


def test_every_experiment_gets_nodes_from_the_standing_pool(served: httpx.Client) -> None:
    http = served
    wait_for(
        lambda: _experiment(http, 1).get("status") == "completed", 120, "the fleet's experiment to finish"
    )
    # The demo's pace: every round open at least 2 s; its attacker starts in round 2, not before.
    for round_ in http.get("/api/experiments/1/rounds").json():
        opened, closed = (datetime.fromisoformat(round_[k]) for k in ("started_at", "finished_at"))
        assert (closed - opened).total_seconds() >= 2.0
    attacking = [
        sum(bool(v["malicious"]) for v in http.get(f"/api/experiments/1/rounds/{r}/verdicts").json())
        for r in (1, 2)
    ]
    assert attacking == [0, 1]
    first = wait_for(lambda: (p := _pool(http, 1))["running"] == 0 and p, 60, "its nodes to go back")
    assert first["available"] and first["idle"] == first["capacity"]
    assert first["join_command"].endswith(f"fedshield worker --orchestrator {http.base_url} --experiment 1")
    assert "0x…" in first["join_command"]  # a placeholder, never a key

    # Started afterwards (as the dashboard's "Create and start" does): nodes at once, a round settles.
    second = _create(http, 3)
    assert http.post(f"/api/experiments/{second}/start").status_code == 200
    wait_for(lambda: _experiment(http, second)["registered_nodes"] == 3, 60, "the pool's nodes to register")
    wait_for(lambda: _experiment(http, second)["status"] == "completed", 120, "the experiment to finish")

    # Added by hand before the start: two nodes, one attacking; the start fills the last slot.
    third = _create(http, 3)
    added = http.post(f"/api/experiments/{third}/simulated-nodes", json={"count": 2, "attackers": 1})
    assert added.status_code == 201, added.text
    body = added.json()
    assert len(body["addresses"]) == 2 and body["attackers"] == body["addresses"][1:]
    plan = _experiment(http, third)["attack"]
    assert plan["kind"] == "sign_flip" and plan["nodes"] == body["attackers"]
    too_many = http.post(f"/api/experiments/{third}/simulated-nodes", json={"count": 2})
    assert too_many.status_code == 422 and "1 open node slots of 3" in too_many.json()["detail"]
    assert http.post(f"/api/experiments/{third}/start").status_code == 200
    wait_for(lambda: _experiment(http, third)["registered_nodes"] == 3, 60, "the third experiment's nodes")
    wait_for(lambda: _experiment(http, third)["status"] == "completed", 120, "the third experiment to finish")
    verdicts = http.get(f"/api/experiments/{third}/rounds/1/verdicts").json()
    attacker = next(v for v in verdicts if v["node_address"] == body["attackers"][0])
    assert attacker["malicious"] and sum(bool(v["malicious"]) for v in verdicts) == 1  # it, and only it
    finished = http.post(f"/api/experiments/{third}/simulated-nodes", json={"count": 1})
    assert finished.status_code == 409
