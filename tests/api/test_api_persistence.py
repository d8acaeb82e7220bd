"""State survives a restart; the settlement outbox rides out a chain outage and never pays a round twice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import update

from backend.app.main import create_app
from backend.db.models import SettlementRow
from backend.orchestrator.service import Orchestrator
from backend.settings import Settings
from tests.api.chain_proxy import ChainProxy
from tests.api.conftest import ApiChain, make_settings
from tests.api.helpers import create_experiment, register, start, submit_honest
from tests.support.server import wait_for


@contextmanager
def running_app(settings: Settings) -> Iterator[tuple[Orchestrator, TestClient]]:
    orchestrator = Orchestrator(settings)
    try:
        with TestClient(create_app(orchestrator=orchestrator)) as client:
            yield orchestrator, client
    finally:
        orchestrator.stop()


def _round(client: TestClient, experiment_id: int, number: int) -> dict[str, Any] | None:
    rounds = client.get(f"/api/experiments/{experiment_id}/rounds").json()
    return next((r for r in rounds if r["round"] == number), None)


def _status_of(client: TestClient, experiment_id: int, number: int, status: str) -> dict[str, Any] | None:
    found = _round(client, experiment_id, number)
    return found if found is not None and found["status"] == status else None


def _settled(client: TestClient, experiment_id: int, number: int) -> dict[str, Any] | None:
    found = _round(client, experiment_id, number)
    ok = (
        found is not None and found["settlement"] is not None and found["settlement"]["status"] == "confirmed"
    )
    return found if ok else None


def _settlements_on_chain(api_chain: ApiChain, results_root: str) -> list[Any]:
    return [e for e in api_chain.client().events(("RoundSettled",)) if e.args["resultsRoot"] == results_root]


@pytest.fixture
def wallets(api_chain: ApiChain) -> list[LocalAccount]:
    return api_chain.staked_wallets(2)


def test_restart_keeps_state_and_resumes_from_the_last_completed_round(
    tmp_path: Path, db_url: str, api_chain: ApiChain, wallets: list[LocalAccount]
) -> None:
    settings = make_settings(tmp_path, db_url, api_chain)
    with running_app(settings) as (_, client):
        experiment_id = create_experiment(client, name="survivor", num_nodes=2, rounds=2)["id"]
        for account in wallets:
            register(client, experiment_id, account)
        start(client, experiment_id)
        for account in wallets:
            assert submit_honest(client, experiment_id, account).status_code == 202
        first = wait_for(lambda: _settled(client, experiment_id, 1), 60, "round 1 to settle")
        wait_for(lambda: _status_of(client, experiment_id, 2, "open"), 30, "round 2 to open")
        assert submit_honest(client, experiment_id, wallets[0]).status_code == 202
        events_before = client.get("/api/events/log", params={"limit": 1000}).json()["events"]
    # The process is gone mid-round 2 (one of two updates in). A new one starts on the same database.
    with running_app(settings) as (_, client):
        experiment = client.get(f"/api/experiments/{experiment_id}").json()
        assert experiment["name"] == "survivor" and experiment["status"] == "running"
        assert experiment["completed_rounds"] == 1 and experiment["current_model_hash"] == first["model_hash"]
        assert _settled(client, experiment_id, 1) == first
        assert len(client.get(f"/api/experiments/{experiment_id}/rounds/1/verdicts").json()) == 2
        events_after = client.get("/api/events/log", params={"limit": 1000}).json()["events"]
        assert events_after[: len(events_before)] == events_before
        reopened = events_after[len(events_before)]
        assert (
            reopened["kind"] == "round.opened" and reopened["message"] == "Round 2 reopened after a restart"
        )
        round_two: Any = _round(client, experiment_id, 2)
        assert round_two["status"] == "open" and round_two["base_model_hash"] == first["model_hash"]
        for account in wallets:  # the interrupted round starts over: both nodes send again
            assert submit_honest(client, experiment_id, account).status_code == 202
        wait_for(lambda: _settled(client, experiment_id, 2), 60, "round 2 to settle")
        wait_for(lambda: client.get(f"/api/experiments/{experiment_id}").json()["status"] == "completed", 10)
    assert len(_settlements_on_chain(api_chain, first["settlement"]["results_root"])) == 1


def test_chain_outage_delays_settlement_and_it_lands_once_when_the_chain_returns(
    tmp_path: Path, db_url: str, api_chain: ApiChain, wallets: list[LocalAccount]
) -> None:
    proxy = ChainProxy(urlparse(api_chain.local.rpc_url).port or 0)
    proxy.up()
    settings = make_settings(tmp_path, db_url, api_chain, rpc_url=proxy.url)
    try:
        with running_app(settings) as (_, client):
            experiment_id = create_experiment(client, num_nodes=2, rounds=1)["id"]
            for account in wallets:
                register(client, experiment_id, account)
            start(client, experiment_id)
            proxy.down()
            assert client.get("/api/health").json()["chain"]["connected"] is False
            for account in wallets:  # nodes seen staked keep being served while the chain is away
                assert submit_honest(client, experiment_id, account).status_code == 202
            recorded: Any = wait_for(lambda: _status_of(client, experiment_id, 1, "completed"), 60, "round 1")
            assert recorded["model_hash"] and recorded["accepted"] == 2
            assert recorded["settlement"]["status"] == "pending"
            assert client.get(f"/api/models/{recorded['model_hash']}").status_code == 200
            wait_for(lambda: _kind_seen(client, "tx.failed"), 30, "the delay to be announced")
            assert _round(client, experiment_id, 1)["settlement"]["status"] in ("pending", "sent")  # type: ignore[index]
            proxy.up()
            settled: Any = wait_for(
                lambda: _settled(client, experiment_id, 1), 60, "settlement after the outage"
            )
            assert client.get("/api/health").json()["chain"]["connected"] is True
        assert len(_settlements_on_chain(api_chain, settled["settlement"]["results_root"])) == 1
        assert (
            api_chain.client().round_model_hash(settled["settlement"]["chain_round_id"])
            == settled["model_hash"]
        )
    finally:
        proxy.down()


def _kind_seen(client: TestClient, kind: str) -> bool:
    return any(
        e["kind"] == kind for e in client.get("/api/events/log", params={"limit": 1000}).json()["events"]
    )


def test_restart_after_an_unrecorded_send_reconciles_instead_of_paying_twice(
    tmp_path: Path, db_url: str, api_chain: ApiChain, wallets: list[LocalAccount]
) -> None:
    proxy = ChainProxy(urlparse(api_chain.local.rpc_url).port or 0)
    proxy.up()
    settings = make_settings(tmp_path, db_url, api_chain, rpc_url=proxy.url)
    try:
        with running_app(settings) as (orchestrator, client):
            experiment_id = create_experiment(client, num_nodes=2, rounds=1)["id"]
            for account in wallets:
                register(client, experiment_id, account)
            start(client, experiment_id)
            proxy.down()
            for account in wallets:
                assert submit_honest(client, experiment_id, account).status_code == 202
            recorded: Any = wait_for(lambda: _status_of(client, experiment_id, 1, "completed"), 60, "round 1")
            orchestrator.outbox.stop()
            with orchestrator.sessions() as session:
                row = session.query(SettlementRow).one()
                model_hash, root, accepted, slashed = (
                    row.model_hash,
                    row.results_root,
                    row.accepted,
                    row.slashed,
                )
        # As if the process had sent the transaction and died before recording the receipt:
        chain = api_chain.client()
        chain_round = chain.last_round_id() + 1
        sent = chain.settle_round(chain_round, model_hash, root, accepted, slashed)
        reopened = Orchestrator(settings)
        with reopened.sessions() as session:
            session.execute(
                update(SettlementRow).values(status="sending", chain_round_id=chain_round, attempts=1)
            )
            session.commit()
        reopened.stop()
        proxy.up()
        with running_app(settings) as (_, client):
            settled: Any = wait_for(lambda: _settled(client, experiment_id, 1), 60, "reconciliation")
            assert settled["settlement"]["tx_hash"] == sent.tx_hash
            assert settled["settlement"]["chain_round_id"] == chain_round
            assert settled["model_hash"] == recorded["model_hash"]
            messages = [
                e["message"] for e in client.get("/api/events/log", params={"limit": 1000}).json()["events"]
            ]
            assert any("found on chain after a restart" in m for m in messages)
        assert len(_settlements_on_chain(api_chain, root)) == 1
        assert chain.last_round_id() == chain_round
    finally:
        proxy.down()
