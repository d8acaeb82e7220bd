"""The ledger beside a live orchestrator: `fedshield chain reconcile` passes (a second process's reconciler,
here on its own engine and bus) while rounds settle re-queue nothing healthy and announce no payout twice;
the chain views show the chain as it is after a reorg, not receipts read before it."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from backend.app.main import create_app
from backend.db.base import make_engine, make_session_factory
from backend.ledger.chain_gateway import ChainGateway
from backend.ledger.reconciler import Reconciler
from backend.orchestrator.events import EventBus
from backend.orchestrator.service import Orchestrator
from backend.settings import Settings
from tests.api.conftest import ApiChain, make_settings
from tests.api.helpers import create_experiment, register, start, submit_honest
from tests.support.chain import LocalChain
from tests.support.server import live_server, wait_for

PASSES = 20  # reconcile passes during the live run (issue #21's target)


@contextmanager
def served(tmp_path: Path, chain: ApiChain) -> Iterator[tuple[httpx.Client, Settings]]:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'fedshield.db'}", chain)
    orchestrator = Orchestrator(settings)
    try:
        with live_server(create_app(orchestrator=orchestrator)) as url, httpx.Client(base_url=url) as http:
            yield http, settings
    finally:
        orchestrator.stop()


@contextmanager
def cli_reconciler(settings: Settings) -> Iterator[Reconciler]:
    """A reconciler as `fedshield chain reconcile` builds one: its own engine, bus and chain connection."""
    engine = make_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    bus = EventBus(sessions)
    try:
        gateway = ChainGateway(settings.deployment_file, settings.orchestrator_key.get_secret_value())
        yield Reconciler(sessions, bus, gateway)
    finally:
        bus.close()
        engine.dispose()


def _events(http: httpx.Client, kind: str) -> list[dict[str, Any]]:
    page = http.get("/api/events/log", params={"limit": 1000, "kind": kind})
    assert page.status_code == 200, page.text
    events: list[dict[str, Any]] = page.json()["events"]
    return events


def _settled(http: httpx.Client, experiment_id: int, rounds: int) -> bool:
    found = http.get(f"/api/experiments/{experiment_id}/rounds").json()
    return len(found) == rounds and all(
        r["settlement"] is not None and r["settlement"]["status"] == "confirmed" for r in found
    )


def test_reconcile_beside_a_live_run_requeues_nothing_and_announces_each_payout_once(
    tmp_path: Path, api_chain: ApiChain
) -> None:
    wallets = api_chain.staked_wallets(2)
    rounds = 3
    with served(tmp_path, api_chain) as (http, settings), cli_reconciler(settings) as reconciler:
        experiment = create_experiment(http, num_nodes=2, rounds=rounds)
        for wallet in wallets:
            register(http, experiment["id"], wallet)
        start(http, experiment["id"])
        reports = []

        def reconcile_all_along() -> None:
            for _ in range(PASSES):
                reports.append(reconciler.run())

        passes = threading.Thread(target=reconcile_all_along, name="reconcile-cli")
        passes.start()
        for _ in range(rounds):
            for wallet in wallets:
                assert submit_honest(http, experiment["id"], wallet).status_code == 202
        wait_for(lambda: _settled(http, experiment["id"], rounds), 60, "every round settled")
        passes.join(120)
        assert not passes.is_alive()
        # The race made certain: a pass whose chain read predates every confirmation.
        reports.append(reconciler.run(chain_rounds=[]))
        requeued = sum(len(report.requeued) for report in reports)
        print(f"{len(reports)} reconcile passes beside the live run: {requeued} settlements re-queued")
        assert all(not report.requeued for report in reports), [r.requeued for r in reports]
        final = reconciler.run()
        assert final.ok and not final.requeued, final.unrepaired
        assert _events(http, "tx.requeued") == []
        rewarded = Counter((e["round"], e["data"]["address"]) for e in _events(http, "wallet.rewarded"))
        verdicts = [
            v
            for r in range(1, rounds + 1)
            for v in http.get(f"/api/experiments/{experiment['id']}/rounds/{r}/verdicts").json()
        ]
        assert sum(rewarded.values()) == sum(v["outcome"] == "accepted" for v in verdicts)
        assert set(rewarded.values()) <= {1}, rewarded


def test_chain_transactions_follow_a_reorg(tmp_path: Path, api_chain: ApiChain, chain: LocalChain) -> None:
    (wallet,) = api_chain.staked_wallets(1)
    with served(tmp_path, api_chain) as (http, _):
        experiment = create_experiment(http, num_nodes=1, rounds=1)
        register(http, experiment["id"], wallet)
        before = chain.rpc("evm_snapshot")  # the chain as it was before the settlement was mined
        start(http, experiment["id"])
        assert submit_honest(http, experiment["id"], wallet).status_code == 202
        wait_for(lambda: _settled(http, experiment["id"], 1), 60, "the round settled")
        shown = http.get("/api/chain/transactions", params={"experiment_id": experiment["id"]}).json()
        assert len(shown) == 1, shown
        # A reorg: the settlement's blocks are replaced by longer, empty ones.
        chain.rpc("evm_revert", before)
        chain.rpc("anvil_mine", hex(8))
        client = chain.client()
        after = http.get("/api/chain/transactions", params={"experiment_id": experiment["id"]}).json()
        for tx in after:  # only what the chain holds now, where it holds it
            mined = client.transaction(tx["hash"])
            assert mined is not None and mined.block_number == tx["block_number"], (tx, mined)
