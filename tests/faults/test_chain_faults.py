"""Chain faults: anvil killed -9 losing its last blocks, anvil stopped for 30 s, and another process spending
the orchestrator's nonce (a replaced transaction, a stuck one, and a burst of sends racing the outbox).

Each drill ends with the ledger check (tests/faults/ledger.py) and prints its figures: how long settlement
took to catch up once the chain was back, and the FLT lost or doubled (0 and 0).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from typing import Any

import httpx

from backend.chain.accounts import ANVIL_ORCHESTRATOR_KEY, dev_account
from backend.chain.toolchain import foundry_binary
from backend.db.models import SettlementAttemptRow
from tests.faults.ledger import Baseline, check_ledger
from tests.faults.stack import (
    Drill,
    all_settled,
    create_experiment,
    fleet_accounts,
    in_process,
    node_fleet,
    rounds_of,
    settled_count,
)
from tests.support.server import wait_for

CATCH_UP_S = 30.0  # the target: settlement caught up within 30 s of the chain being back


def _events(url: str, kind: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{url}/api/events/log", params={"kind": kind, "limit": 1000}, timeout=30).json()
    events: list[dict[str, Any]] = body["events"]
    return events


def _health(url: str) -> dict[str, Any]:
    health: dict[str, Any] = httpx.get(f"{url}/api/health", timeout=30).json()
    return health


def _addresses() -> list[str]:
    return [dev_account(i).address for i in fleet_accounts()]


def test_anvil_killed_losing_its_last_blocks_resettles_them_under_the_next_round_ids(drill: Drill) -> None:
    baseline = Baseline.take(drill.chain(), _addresses())
    older = drill.tmp / "older-state.json"
    with in_process(drill) as (_, url):
        experiment = create_experiment(url, rounds=4)
        with node_fleet(url, experiment, fleet_accounts()):
            wait_for(lambda: settled_count(url, experiment) >= 1, 120, "a first settled round")
            drill.anvil.snapshot(older)  # what a periodic state dump held when anvil died
            wait_for(lambda: all_settled(url, experiment), 120, "the whole experiment settled")
        settled_before = drill.chain().last_round_id()
        drill.anvil.kill9()
        shutil.copy(older, drill.anvil.state_file)
        drill.anvil.start()
        back = time.monotonic()
        restored = drill.chain().last_round_id()
        assert restored < settled_before, "the restarted chain should have lost settled rounds"
        # The API never answers 500 for a transaction the chain lost.
        listed = httpx.get(f"{url}/api/chain/transactions", params={"experiment_id": experiment}, timeout=30)
        assert listed.status_code == 200, listed.text
        wait_for(
            lambda: all_settled(url, experiment) and drill.chain().last_round_id() == settled_before,
            CATCH_UP_S,
            "the lost rounds settled again",
        )
        caught_up = time.monotonic() - back
        requeued = _events(url, "tx.requeued")
        assert len(requeued) == settled_before - restored
        assert _health(url)["status"] == "ok"
        figures = check_ledger(url, drill.chain(), [experiment], baseline)
    print(f"\nFAULT anvil kill -9 losing {settled_before - restored} rounds: caught up in {caught_up:.1f}s; "
          f"{figures.line()}")  # fmt: skip


def test_anvil_stopped_for_30s_nodes_keep_training_and_settlement_catches_up(drill: Drill) -> None:
    baseline = Baseline.take(drill.chain(), _addresses())
    with in_process(drill, settlement_stuck_after_s=10.0) as (_, url):
        experiment = create_experiment(url, rounds=4, attacker=False)
        with node_fleet(url, experiment, fleet_accounts(attacker=False)):
            wait_for(lambda: settled_count(url, experiment) >= 1, 120, "a first settled round")
            drill.anvil.stop()
            down = time.monotonic()
            # Rounds go on: the nodes were seen staked moments ago, their rewards wait in the outbox.
            wait_for(lambda: experiment_done(url, experiment), 60, "the rounds to complete without the chain")
            health = wait_for(
                lambda: (h := _health(url))["status"] == "degraded" and len(h["reasons"]) >= 2 and h,
                30,
                "health to report the outage and the stuck settlement",
            )
            assert isinstance(health, dict)
            assert any("unreachable" in r for r in health["reasons"])
            assert any("settlement stuck" in r for r in health["reasons"])
            remaining = 30.0 - (time.monotonic() - down)
            if remaining > 0:
                time.sleep(remaining)  # the outage lasts 30 s, as the drill says
            drill.anvil.start()
            back = time.monotonic()
            wait_for(lambda: all_settled(url, experiment), CATCH_UP_S, "settlement to catch up")
            caught_up = time.monotonic() - back
        rounds = rounds_of(url, experiment)
        assert all(r["accepted"] == 3 for r in rounds), [r["accepted"] for r in rounds]
        wait_for(lambda: _health(url)["status"] == "ok", 10, "health back to ok")
        figures = check_ledger(url, drill.chain(), [experiment], baseline)
    print(f"\nFAULT anvil stopped 30s: caught up in {caught_up:.1f}s after it came back; {figures.line()}")


def experiment_done(url: str, experiment_id: int) -> bool:
    return bool(
        httpx.get(f"{url}/api/experiments/{experiment_id}", timeout=30).json()["status"] == "completed"
    )


def _cast_send(drill: Drill, *args: str) -> subprocess.CompletedProcess[str]:
    """Another process spending the orchestrator's key: Foundry's `cast send`."""
    return subprocess.run(
        [str(foundry_binary("cast")), "send", "--rpc-url", drill.anvil.url, "--private-key",
         ANVIL_ORCHESTRATOR_KEY, "--async", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_another_process_spending_the_orchestrators_nonce_costs_a_retry_not_a_token(drill: Drill) -> None:
    baseline = Baseline.take(drill.chain(), _addresses())
    me = dev_account(0).address
    with in_process(drill) as (orchestrator, url):
        experiment = create_experiment(url, rounds=4)
        drill.anvil.rpc("evm_setAutomine", False)  # transactions wait in the pool until the drill mines
        with node_fleet(url, experiment, fleet_accounts()):

            def attempts() -> list[SettlementAttemptRow]:
                with orchestrator.sessions() as session:
                    return list(session.query(SettlementAttemptRow).order_by(SettlementAttemptRow.id))

            first = wait_for(lambda: attempts(), 120, "the first settlement attempt")
            assert isinstance(first, list)
            ours = first[0]
            # 1. The other process replaces our pending settlement: same nonce, ten times the fee.
            gas_price = int(drill.anvil.rpc("eth_gasPrice"), 16)
            replaced = _cast_send(
                drill, "--nonce", str(ours.nonce), "--gas-price", str(gas_price * 10),
                "--priority-gas-price", str(gas_price * 5), me, "--value", "0",
            )  # fmt: skip
            assert replaced.returncode == 0, replaced.stderr
            drill.anvil.rpc("evm_mine")
            # The outbox sees its nonce spent with no receipt, and sends again at a fresh nonce.
            wait_for(
                lambda: any(a.nonce > ours.nonce for a in attempts()), 30, "a new attempt at the next nonce"
            )
            # 2. That one is left unmined past tx_stuck_after_s: it is re-sent at the same nonce, higher fee.
            stuck = wait_for(
                lambda: (
                    (same := [a for a in attempts() if a.nonce == ours.nonce + 1]) and len(same) >= 2 and same
                ),
                30,
                "a fee bump of the stuck attempt",
            )
            assert isinstance(stuck, list)
            assert stuck[1].max_fee_per_gas > stuck[0].max_fee_per_gas
            assert stuck[1].chain_round_id == stuck[0].chain_round_id
            drill.anvil.rpc("evm_setAutomine", True)
            drill.anvil.rpc("evm_mine")
            # 3. A burst of the other process's sends races the outbox for the rest of the experiment.
            stop = threading.Event()

            def burst() -> None:
                while not stop.is_set():
                    _cast_send(drill, me, "--value", "1")

            racer = threading.Thread(target=burst, daemon=True)
            racer.start()
            try:
                wait_for(lambda: all_settled(url, experiment), 120, "every round settled")
            finally:
                stop.set()
                racer.join(60)
        states = {a.state for a in attempts()}
        assert "dead" in states and "mined" in states, states
        assert _events(url, "tx.requeued"), "the replaced settlement went back to pending"
        figures = check_ledger(url, drill.chain(), [experiment], baseline)
    print(f"\nFAULT nonce spent by another process (replaced, stuck, burst): {figures.line()}")


def test_a_settlement_is_final_only_after_its_confirmations(drill: Drill) -> None:
    baseline = Baseline.take(drill.chain(), _addresses())
    with in_process(drill, confirmations=3) as (_, url):
        experiment = create_experiment(url, rounds=1, attacker=False)

        def mined() -> dict[str, Any] | None:
            rounds = rounds_of(url, experiment)
            settlement = rounds[0]["settlement"] if rounds else None
            return settlement if settlement and settlement["tx_hash"] else None

        with node_fleet(url, experiment, fleet_accounts(attacker=False)):
            found = wait_for(mined, 120, "the settlement mined")
        assert isinstance(found, dict)
        assert found["status"] == "sent"  # one block deep of the three required
        drill.anvil.rpc("evm_mine")
        assert rounds_of(url, experiment)[0]["settlement"]["status"] == "sent"
        drill.anvil.rpc("evm_mine")
        wait_for(lambda: all_settled(url, experiment), 10, "final at three confirmations")
        check_ledger(url, drill.chain(), [experiment], baseline)
