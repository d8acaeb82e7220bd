"""End to end with real node processes: a fleet (backend.cli.fleet) of five staked wallets trains over HTTP; the
sign-flipping one is left out every round, and slashed on chain once its evidence has accumulated over the
slash window; the honest ones are rewarded and never slashed — checked by reading the chain itself, and
through the API's chain inspection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.app.main import create_app
from backend.app.schemas.events import StreamedEvent
from backend.chain.client import flt
from backend.cli.fleet import Fleet
from backend.orchestrator.event_kinds import parse_event
from backend.orchestrator.service import Orchestrator
from tests.api.conftest import ApiChain, make_settings
from tests.api.helpers import experiment_body
from tests.support.server import live_server, wait_for
from workers.wire import model_hash

ROUNDS = 4
WINDOW = 3  # DefenseConfig().slash_window: the attacker is slashed from this round on
NODES = 5


@pytest.fixture
def orchestrator(tmp_path: Path, db_url: str, api_chain: ApiChain) -> Iterator[Orchestrator]:
    """As deployed: rounds close in the compute worker process."""
    running = Orchestrator(make_settings(tmp_path, db_url, api_chain, compute_processes=1))
    try:
        yield running
    finally:
        running.stop()


def test_fleet_trains_attacker_is_rejected_and_slashed_honest_nodes_are_rewarded(
    orchestrator: Orchestrator, api_chain: ApiChain, tmp_path: Path
) -> None:
    wallets = api_chain.staked_wallets(NODES)
    chain = api_chain.client()
    before = {w.address: chain.node_status(w.address) for w in wallets}
    first_account = _dev_index(wallets[0].address)
    body = experiment_body(
        name="e2e", dataset_id="digits", num_nodes=NODES, rounds=ROUNDS,  # the product's local training
        attack={"kind": "sign_flip", "num_attackers": 1, "scale": 1.0},
    )  # fmt: skip
    with (
        live_server(create_app(orchestrator=orchestrator)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        experiment = http.post("/api/experiments", json=body).json()
        experiment_id = experiment["id"]
        assert http.post(f"/api/experiments/{experiment_id}/start").status_code == 200
        with Fleet.start(url, experiment_id, NODES, nodes_per_process=NODES, first_account=first_account,
                         log_dir=tmp_path / "fleet") as fleet:  # fmt: skip
            wait_for(lambda: _settled(http, experiment_id), 240, "every round to settle on chain")
            assert fleet.wait(30), "nodes did not stop when the experiment completed"

        nodes = http.get(f"/api/experiments/{experiment_id}/nodes").json()
        attacker = next(n["address"] for n in nodes if n["malicious"])
        honest = [n["address"] for n in nodes if not n["malicious"]]
        assert len(honest) == NODES - 1

        rounds = http.get(f"/api/experiments/{experiment_id}/rounds").json()
        slashed_rounds, accepted_count = [], {h: 0 for h in honest}
        for r in rounds:
            verdicts = http.get(f"/api/experiments/{experiment_id}/rounds/{r['round']}/verdicts").json()
            by_node = {v["node_address"]: v for v in verdicts}
            mine = by_node[attacker]
            assert (
                mine["outcome"] in ("excluded", "slashed") and mine["malicious"] is True and mine["rule"]
            ), mine
            if mine["outcome"] == "slashed":
                slashed_rounds.append(r["round"])
            assert all(by_node[h]["outcome"] != "slashed" for h in honest), verdicts
            for h in honest:
                accepted_count[h] += by_node[h]["outcome"] == "accepted"
            assert (r["tp"], r["fn"]) == (1, 0) and r["fp"] + r["tn"] == NODES - 1
            assert set(r["settlement"]["payouts"]) == {h for h in honest if by_node[h]["accepted"]} | (
                {attacker} if mine["outcome"] == "slashed" else set()
            )
        assert slashed_rounds == list(range(WINDOW, ROUNDS + 1)), slashed_rounds

        # The chain itself: rewards, slashes and model hashes of exactly our settlement transactions.
        chain_ids = {r["settlement"]["chain_round_id"] for r in rounds}
        assert len(chain_ids) == ROUNDS
        slashed = [e for e in chain.events(("Slashed",)) if e.args["roundId"] in chain_ids]
        rewarded = [e for e in chain.events(("RewardPaid",)) if e.args["roundId"] in chain_ids]
        assert [e.args["node"] for e in slashed] == [attacker] * len(slashed_rounds)
        assert all(e.args["amount"] == flt(15) for e in slashed)
        assert sorted(e.args["node"] for e in rewarded) == sorted(
            h for h, n in accepted_count.items() for _ in range(n)
        )
        after = {a: chain.node_status(a) for a in [attacker, *honest]}
        assert after[attacker].stake == before[attacker].stake - len(slashed_rounds) * flt(15)
        for address in honest:
            assert after[address].stake == before[address].stake  # never slashed
            assert after[address].balance == before[address].balance + accepted_count[address] * flt(10)
        for r in rounds:
            body_bytes = http.get(f"/api/models/{r['model_hash']}").content
            assert (
                model_hash(body_bytes)
                == r["model_hash"]
                == chain.round_model_hash(r["settlement"]["chain_round_id"])
            )

        _check_chain_inspection(http, experiment_id, attacker, chain_ids, len(slashed_rounds))
        _check_events(http, experiment_id, attacker)
        final = http.get(f"/api/experiments/{experiment_id}").json()
        assert final["status"] == "completed" and final["accuracy"] > 0.8


def _dev_index(address: str) -> int:
    from backend.chain.accounts import dev_account

    return next(i for i in range(200) if dev_account(i).address == address)


def _settled(http: httpx.Client, experiment_id: int) -> bool:
    experiment = http.get(f"/api/experiments/{experiment_id}").json()
    if experiment["status"] == "failed":
        raise AssertionError(experiment["error"])
    rounds = http.get(f"/api/experiments/{experiment_id}/rounds").json()
    done = [r for r in rounds if r["settlement"] and r["settlement"]["status"] == "confirmed"]
    return experiment["status"] == "completed" and len(done) == ROUNDS


def _check_chain_inspection(
    http: httpx.Client, experiment_id: int, attacker: str, chain_ids: set[int], slashes: int
) -> None:
    mine = [r for r in http.get("/api/chain/rounds").json() if r["experiment_id"] == experiment_id]
    assert {r["round_id"] for r in mine} == chain_ids and all(r["model_matches"] for r in mine)
    txs = http.get("/api/chain/transactions", params={"experiment_id": experiment_id}).json()
    assert len(txs) == ROUNDS
    for tx in txs:
        assert tx["hash"].startswith("0x") and tx["block_number"] > 0 and tx["gas_used"] > 0
        assert tx["from"] and tx["to"]
        names = [e["name"] for e in tx["events"]]
        assert "RoundSettled" in names and names.count("Slashed") == (1 if tx["round"] >= WINDOW else 0)
        for slash in (e for e in tx["events"] if e["name"] == "Slashed"):
            assert slash["args"]["node"] == attacker and slash["contract"] == "FedShieldStaking"
    one = http.get("/api/chain/transactions", params={"experiment_id": experiment_id, "round": 2}).json()
    assert len(one) == 1 and one[0]["round"] == 2
    of_wallet = http.get("/api/chain/transactions", params={"wallet": attacker}).json()
    assert {t["hash"] for t in txs if t["round"] >= WINDOW} <= {t["hash"] for t in of_wallet}  # its slashes
    wallet: dict[str, Any] = http.get(f"/api/wallets/{attacker}").json()
    assert [e["name"] for e in wallet["history"]].count("Slashed") == slashes


def _check_events(http: httpx.Client, experiment_id: int, attacker: str) -> None:
    events = http.get("/api/events/log", params={"experiment_id": experiment_id, "limit": 1000}).json()[
        "events"
    ]
    for event in events:  # each as its kind's schema documents it, its text made from its fields
        StreamedEvent.model_validate(event)
        payload = parse_event(event["kind"], event["experiment_id"], event["round"], event["data"])
        assert payload.message() == event["message"], event
    kinds = [e["kind"] for e in events]
    for kind in ("round.opened", "update.received", "update.accepted", "update.excluded", "update.slashed",
                 "model.aggregated",
                 "tx.sent", "tx.confirmed", "wallet.rewarded", "wallet.slashed", "experiment.completed"):  # fmt: skip
        assert kind in kinds, kind
    messages = [e["message"] for e in events]
    short = f"{attacker[:6]}…{attacker[-4:]}"
    assert f"Round {ROUNDS} opened" in messages
    assert f"Aggregated v{ROUNDS + 1}" in " ".join(messages)
    assert any(m.startswith(f"Excluded update from {short}, not slashed: ") for m in messages)
    assert any(m.startswith(f"Slashed {short}: ") for m in messages)
    assert any(m.startswith(f"Slashed wallet {short}: 15 FLT, tx 0x") for m in messages)
