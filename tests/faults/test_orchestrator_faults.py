"""Orchestrator faults: `fedshield serve` killed -9 right after `tx.sent` (three times) and mid-round, with
duplicate and replayed updates around the restart. Each drill ends with the ledger check."""

from __future__ import annotations

import sqlite3
import time
from functools import partial
from pathlib import Path

import httpx

from backend.chain.accounts import dev_account
from tests.api.helpers import honest_delta, open_task, post, sign
from tests.faults.ledger import Baseline, check_ledger
from tests.faults.stack import (
    ATTACKER,
    HONEST,
    Drill,
    OrchestratorProcess,
    all_settled,
    create_experiment,
    fleet_accounts,
    node_fleet,
)
from tests.support.server import wait_for


def _scalar(db: Path, query: str, *params: object) -> int:
    """One number from the orchestrator's SQLite file, read from outside the process (WAL allows it)."""
    with sqlite3.connect(db, timeout=30) as connection:
        value = connection.execute(query, params).fetchone()[0]
    return int(value or 0)


def _newest_event(db: Path, kind: str) -> int:
    return _scalar(db, "SELECT max(id) FROM events WHERE kind = ?", kind)


def _sent_after(db: Path, event_id: int) -> bool:
    return _newest_event(db, "tx.sent") > event_id


def _stored(db: Path, experiment_id: int, round_: int) -> int:
    return _scalar(
        db, "SELECT count(*) FROM submissions WHERE experiment_id = ? AND round = ?", experiment_id, round_
    )


def _round_status(db: Path, experiment_id: int, round_: int) -> str:
    with sqlite3.connect(db, timeout=30) as connection:
        row = connection.execute(
            "SELECT status FROM rounds WHERE experiment_id = ? AND round = ?", (experiment_id, round_)
        ).fetchone()
    return str(row[0]) if row else ""


def test_orchestrator_killed_right_after_tx_sent_three_times_pays_every_round_once(drill: Drill) -> None:
    baseline = Baseline.take(drill.chain(), [dev_account(i).address for i in fleet_accounts()])
    orchestrator = OrchestratorProcess(drill)
    restarts: list[float] = []
    try:
        orchestrator.start()
        experiment = create_experiment(orchestrator.url, rounds=3)
        with node_fleet(orchestrator.url, experiment, fleet_accounts()):
            seen = 0
            for _ in range(3):
                wait_for(partial(_sent_after, drill.db_file, seen), 120, "a tx.sent")
                orchestrator.kill9()
                seen = _newest_event(drill.db_file, "tx.sent")
                restarts.append(orchestrator.start())
            back = time.monotonic()
            wait_for(lambda: all_settled(orchestrator.url, experiment), 120, "every round settled")
            caught_up = time.monotonic() - back
        figures = check_ledger(orchestrator.url, drill.chain(), [experiment], baseline)
        with httpx.Client(base_url=orchestrator.url, timeout=30) as http:
            health = http.get("/api/health").json()
            assert health["status"] == "ok", health["reasons"]
            listed = http.get("/api/chain/transactions", params={"experiment_id": experiment})
            assert listed.status_code == 200 and len(listed.json()) == figures.rounds
    finally:
        orchestrator.stop()
    print(f"\nFAULT orchestrator kill -9 after tx.sent x3: restarts took {', '.join(f'{s:.1f}s' for s in restarts)}; "
          f"settled {caught_up:.1f}s after the last restart; {figures.line()}")  # fmt: skip


def test_orchestrator_killed_mid_round_nodes_post_again_and_replays_count_once(drill: Drill) -> None:
    """Node 4 is played by the test (so the round waits for it); nodes 1-3 are NodeClients."""
    manual = dev_account(ATTACKER)  # staked 25 FLT; honest here (no attack plan)
    baseline = Baseline.take(drill.chain(), [dev_account(i).address for i in (*HONEST, ATTACKER)])
    # The rounds wait for the manual node; a generous deadline keeps a slow machine from closing them first.
    orchestrator = OrchestratorProcess(drill, round_deadline_s=90.0)
    try:
        orchestrator.start()
        experiment = create_experiment(orchestrator.url, rounds=2, attack=None)
        url = orchestrator.url
        # Round 1: the manual node posts first, twice (the second is a duplicate), then the process dies.
        with httpx.Client(base_url=url, timeout=60) as http:
            task = open_task(http, experiment, manual)
            delta, samples = honest_delta(http, task)
            update = sign(task, manual, delta, samples)
            assert post(http, experiment, update).status_code == 202
            duplicate = post(http, experiment, update)
            assert duplicate.status_code == 409, duplicate.text
        orchestrator.kill9()  # mid-round: one update stored, the round open
        orchestrator.start()
        with httpx.Client(base_url=url, timeout=60) as http:
            # The reopened round dropped its stored updates: the same signed bytes count again, once.
            assert post(http, experiment, update).status_code == 202
            assert post(http, experiment, update).status_code == 409
        with node_fleet(url, experiment, HONEST):
            wait_for(lambda: _round_status(drill.db_file, experiment, 1) == "completed", 120, "round 1")
            # Round 2: the NodeClients post, the manual node holds back, and the process dies mid-round.
            wait_for(lambda: _stored(drill.db_file, experiment, 2) == len(HONEST), 120, "round 2's updates")
            orchestrator.kill9()
            orchestrator.start()
            back = time.monotonic()
            # The round was reopened from the same base model: every NodeClient posts again.
            wait_for(
                lambda: _stored(drill.db_file, experiment, 2) == len(HONEST), 60, "the nodes posting again"
            )
            reposted = time.monotonic() - back
            with httpx.Client(base_url=url, timeout=60) as http:
                stale = post(http, experiment, update)  # round 1's update replayed into round 2
                assert stale.status_code in (409, 422), stale.text
                task = open_task(http, experiment, manual)
                delta, samples = honest_delta(http, task)
                assert post(http, experiment, sign(task, manual, delta, samples)).status_code == 202
            wait_for(lambda: all_settled(url, experiment), 60, "both rounds settled")
        figures = check_ledger(url, drill.chain(), [experiment], baseline)
        with httpx.Client(base_url=url, timeout=30) as http:
            for round_ in (1, 2):
                verdicts = http.get(f"/api/experiments/{experiment}/rounds/{round_}/verdicts").json()
                assert sorted(v["node_address"] for v in verdicts) == sorted(
                    dev_account(i).address for i in (*HONEST, ATTACKER)
                )
    finally:
        orchestrator.stop()
    print(f"\nFAULT orchestrator kill -9 mid-round (+ duplicate and replayed updates): nodes posted again "
          f"{reposted:.1f}s after the restart; {figures.line()}")  # fmt: skip
