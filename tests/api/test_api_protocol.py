"""The node protocol over HTTP: a valid update is taken; every bad one is refused with a 4xx naming why,
and refused updates change nothing (no submission stored, no event)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from backend.app.main import create_app
from backend.chain.client import flt
from backend.orchestrator.service import Orchestrator
from tests.api.conftest import ApiChain, make_settings
from tests.api.helpers import (
    ADDRESS_A,
    Signed,
    create_experiment,
    honest_delta,
    open_task,
    post,
    register,
    sign,
    start,
    submit_honest,
)
from tests.support.server import wait_for
from workers.node import register_wallet
from workers.protocol import registration_body
from workers.wire import encode_tensors


@pytest.fixture(scope="session")
def pair(api_chain: ApiChain) -> list[LocalAccount]:
    """Two staked wallets shared by the protocol tests (no round closes here, so nobody is slashed)."""
    return api_chain.staked_wallets(2)


@pytest.fixture
def running(client: TestClient, pair: list[LocalAccount]) -> dict[str, Any]:
    """A running experiment with both wallets registered and round 1 open."""
    experiment = create_experiment(client, num_nodes=3, rounds=3)
    for account in pair:
        register(client, experiment["id"], account)
    start(client, experiment["id"])
    task = open_task(client, experiment["id"], pair[0])
    delta, samples = honest_delta(client, task)
    return {"id": experiment["id"], "task": task, "delta": delta, "samples": samples}


def _received(client: TestClient) -> int:
    return sum(
        e["kind"] == "update.received" for e in client.get("/api/events/log?limit=1000").json()["events"]
    )


def _refused(client: TestClient, response: Any, status: int, *needles: str) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    for needle in needles:
        assert needle in detail, detail
    assert _received(client) == 0


def test_valid_update_is_taken_and_a_second_one_is_409(
    client: TestClient, running: dict[str, Any], pair: list[LocalAccount]
) -> None:
    signed = sign(running["task"], pair[0], running["delta"], running["samples"])
    response = post(client, running["id"], signed, address=pair[0].address)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted_for_screening": True, "round": 1}
    task = client.get(f"/api/experiments/{running['id']}/task", params={"address": pair[0].address}).json()
    assert task["submitted"] is True
    again = post(client, running["id"], signed)
    assert again.status_code == 409 and "already submitted" in again.json()["detail"]
    assert _received(client) == 1


def test_missing_signature_is_401(
    client: TestClient, running: dict[str, Any], pair: list[LocalAccount]
) -> None:
    signed = sign(running["task"], pair[0], running["delta"], running["samples"])
    _refused(client, post(client, running["id"], signed, signature=False), 401, "signature is missing")


def test_malformed_signature_is_422(
    client: TestClient, running: dict[str, Any], pair: list[LocalAccount]
) -> None:
    signed = sign(running["task"], pair[0], running["delta"], running["samples"])
    _refused(client, post(client, running["id"], signed, signature="0x1234"), 422, "malformed signature")


def test_signature_of_another_key_is_401(
    client: TestClient, running: dict[str, Any], pair: list[LocalAccount]
) -> None:
    signed = sign(running["task"], pair[1], running["delta"], running["samples"])
    response = post(client, running["id"], signed, address=pair[0].address)
    _refused(client, response, 401, f"recovers {pair[1].address}", pair[0].address)


def test_signer_not_registered_is_403(
    client: TestClient, running: dict[str, Any], api_chain: ApiChain
) -> None:
    outsider = api_chain.unstaked_wallet()
    signed = sign(running["task"], outsider, running["delta"], running["samples"])
    _refused(client, post(client, running["id"], signed), 403, "not a registered node")


def test_signer_no_longer_staked_is_403(
    client: TestClient, orchestrator: Orchestrator, pair: list[LocalAccount], api_chain: ApiChain
) -> None:
    (quitter,) = api_chain.staked_wallets(1)
    experiment = create_experiment(client, num_nodes=3)
    register(client, experiment["id"], quitter)
    register(client, experiment["id"], pair[0])
    start(client, experiment["id"])
    task = open_task(client, experiment["id"], quitter)
    chain = api_chain.client()
    chain.request_unstake(quitter, chain.node_status(quitter.address).stake)
    orchestrator.chain.forget_status([quitter.address])
    delta, samples = honest_delta(client, task)
    _refused(
        client, post(client, experiment["id"], sign(task, quitter, delta, samples)), 403, "no eligible stake"
    )


def test_registration_needs_a_stake_and_happens_once(
    client: TestClient, pair: list[LocalAccount], api_chain: ApiChain
) -> None:
    experiment = create_experiment(client)
    path = f"/api/experiments/{experiment['id']}/nodes"
    unstaked = register_wallet(client, experiment["id"], api_chain.unstaked_wallet().key.hex())
    assert unstaked.status_code == 403 and "not staked" in unstaked.json()["detail"]
    assert client.post(path, json={"address": "0x1234"}).status_code == 422
    assert register_wallet(client, experiment["id"], pair[0].key.hex()).status_code == 201
    twice = register_wallet(client, experiment["id"], pair[0].key.hex())
    assert twice.status_code == 409 and "already registered" in twice.json()["detail"]
    nodes = client.get(path).json()
    assert [n["address"] for n in nodes] == [pair[0].address]


def test_registration_is_signed_by_the_wallets_own_key(client: TestClient, pair: list[LocalAccount]) -> None:
    experiment = create_experiment(client)
    path = f"/api/experiments/{experiment['id']}/nodes"
    domain = open_domain(client, experiment["id"])
    victim, attacker = pair
    unsigned = client.post(path, json={"address": victim.address, "kind": "external"})
    assert unsigned.status_code == 422 and "signature" in unsigned.json()["detail"], unsigned.text
    forged = registration_body(attacker.key, domain, experiment["id"], now_s=time.time(), kind="external")
    forged["address"] = victim.address  # the attacker's signature, the victim's staked wallet
    refused = client.post(path, json=forged)
    assert refused.status_code == 401 and "its own key" in refused.json()["detail"], refused.text
    other = registration_body(victim.key, domain, experiment["id"] + 1, now_s=time.time())
    assert client.post(path, json=other).status_code == 401  # signed for another experiment
    stale = registration_body(victim.key, domain, experiment["id"], now_s=time.time() - 3600)
    old = client.post(path, json=stale)
    assert old.status_code == 401 and "nonce" in old.json()["detail"], old.text
    assert client.get(path).json() == []
    signed = registration_body(victim.key, domain, experiment["id"], now_s=time.time())
    assert client.post(path, json=signed).status_code == 201


def open_domain(client: TestClient, experiment_id: int) -> dict[str, Any]:
    task = client.get(f"/api/experiments/{experiment_id}/task", params={"address": ADDRESS_A})
    domain: dict[str, Any] = task.json()["eip712"]["domain"]
    return domain


def test_registration_answers_with_the_new_node_and_reads_only_its_chain_status(
    client: TestClient, orchestrator: Orchestrator, pair: list[LocalAccount], monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment = create_experiment(client)
    register(client, experiment["id"], pair[0])
    read: list[str] = []
    real = orchestrator.chain.node_status

    def counted(address: str, **options: Any) -> Any:
        read.append(address)
        return real(address, **options)

    monkeypatch.setattr(orchestrator.chain, "node_status", counted)
    node = register(client, experiment["id"], pair[1])
    assert node["address"] == pair[1].address and node["eligible"] is True
    assert set(read) == {pair[1].address}  # not every registered node's: a fleet registering is not O(n^2)


def test_update_for_another_round_is_409(
    client: TestClient, running: dict[str, Any], pair: list[LocalAccount]
) -> None:
    signed = sign(running["task"], pair[0], running["delta"], running["samples"], round=2)
    _refused(client, post(client, running["id"], signed), 409, "round 2", "round 1 is open")


def test_update_from_a_stale_base_model_is_409(
    client: TestClient, running: dict[str, Any], pair: list[LocalAccount]
) -> None:
    stale = "0x" + "11" * 32
    signed = sign(running["task"], pair[0], running["delta"], running["samples"], base_model_hash=stale)
    _refused(client, post(client, running["id"], signed), 409, "stale or replayed")


def test_message_that_is_not_json_or_for_another_experiment_is_422(
    client: TestClient, running: dict[str, Any], pair: list[LocalAccount]
) -> None:
    signed = sign(running["task"], pair[0], running["delta"], running["samples"])
    _refused(client, post(client, running["id"], signed, message="{not json"), 422, "Invalid JSON")
    other = sign(running["task"], pair[0], running["delta"], running["samples"], experiment=running["id"] + 1)
    _refused(client, post(client, running["id"], other), 422, "for experiment")
    lying = sign(running["task"], pair[0], running["delta"], 0)
    _refused(client, post(client, running["id"], lying), 422, "numSamples must be positive")


def _resigned(running: dict[str, Any], account: LocalAccount, delta: dict[str, torch.Tensor]) -> Signed:
    return sign(running["task"], account, delta, running["samples"])


def test_wrong_tensor_names_shapes_or_dtypes_are_422(
    client: TestClient, running: dict[str, Any], pair: list[LocalAccount]
) -> None:
    delta = dict(running["delta"])
    name = next(k for k in sorted(delta) if delta[k].dim() > 1)
    renamed = {("x" + k if k == name else k): v for k, v in delta.items()}
    _refused(client, post(client, running["id"], _resigned(running, pair[0], renamed)), 422, "tensor names")
    reshaped = delta | {name: delta[name].reshape(-1)}
    _refused(client, post(client, running["id"], _resigned(running, pair[0], reshaped)), 422, "shape")
    retyped = delta | {name: delta[name].to(torch.float64)}
    _refused(client, post(client, running["id"], _resigned(running, pair[0], retyped)), 422, "dtype")
    garbage = sign(running["task"], pair[0], delta, running["samples"])
    garbage.payload = b"\x00" * 16
    resigned = sign(running["task"], pair[0], delta, running["samples"], update_hash=_hash(garbage.payload))
    _refused(client, post(client, running["id"], resigned, payload=garbage.payload), 422, "not safetensors")


def _hash(data: bytes) -> str:
    from workers.wire import model_hash

    return model_hash(data)


def test_nan_or_inf_values_are_422(
    client: TestClient, running: dict[str, Any], pair: list[LocalAccount]
) -> None:
    delta = dict(running["delta"])
    name = sorted(delta)[-1]
    poisoned = delta[name].clone()
    poisoned.view(-1)[0] = math.nan
    poisoned.view(-1)[1] = math.inf
    response = post(client, running["id"], _resigned(running, pair[0], delta | {name: poisoned}))
    _refused(client, response, 422, "non-finite", "1 NaN and 1 Inf")


def test_update_whose_bytes_differ_from_the_signed_hash_is_422(
    client: TestClient, running: dict[str, Any], pair: list[LocalAccount]
) -> None:
    signed = sign(running["task"], pair[0], running["delta"], running["samples"])
    tampered = encode_tensors({k: v * 2 for k, v in running["delta"].items()})
    _refused(client, post(client, running["id"], signed, payload=tampered), 422, "does not match keccak256")


def test_oversized_update_is_413(
    tmp_path: Path, db_url: str, api_chain: ApiChain, pair: list[LocalAccount]
) -> None:
    orchestrator = Orchestrator(make_settings(tmp_path, db_url, api_chain, max_update_bytes=1024))
    try:
        with TestClient(create_app(orchestrator=orchestrator)) as client:
            experiment = create_experiment(client)
            register(client, experiment["id"], pair[0])
            start(client, experiment["id"])
            task = open_task(client, experiment["id"], pair[0])
            delta, samples = honest_delta(client, task)
            response = post(client, experiment["id"], sign(task, pair[0], delta, samples))
            _refused(client, response, 413, "over the limit of 1024 bytes")
    finally:
        orchestrator.stop()


def test_update_after_the_deadline_is_410(
    tmp_path: Path, db_url: str, api_chain: ApiChain, pair: list[LocalAccount]
) -> None:
    orchestrator = Orchestrator(make_settings(tmp_path, db_url, api_chain))
    try:
        with TestClient(create_app(orchestrator=orchestrator)) as client:
            experiment = create_experiment(client, round_deadline_s=1.0)
            register(client, experiment["id"], pair[0])
            start(client, experiment["id"])
            task = open_task(client, experiment["id"], pair[0])
            delta, samples = honest_delta(client, task)
            signed = sign(task, pair[0], delta, samples)
            with orchestrator.runner.suspended():  # the round cannot be closed or re-armed meanwhile
                wait_for(lambda: _past(task["deadline"]), 10, "the deadline")
                _refused(client, post(client, experiment["id"], signed), 410, "round 1 closed at")
    finally:
        orchestrator.stop()


def _past(deadline: str) -> bool:
    from datetime import UTC, datetime

    return datetime.now(UTC) > datetime.fromisoformat(deadline.replace("Z", "+00:00"))


def test_task_describes_the_round_the_share_and_the_attack(
    client: TestClient, pair: list[LocalAccount]
) -> None:
    experiment = create_experiment(
        client, num_nodes=2, attack={"kind": "sign_flip", "num_attackers": 1, "scale": 3}
    )
    register(client, experiment["id"], pair[0])
    register(client, experiment["id"], pair[1])
    before = client.get(
        f"/api/experiments/{experiment['id']}/task", params={"address": pair[0].address}
    ).json()
    assert before["status"] == "created" and before["round"] is None and before["registered"] is True
    start(client, experiment["id"])
    honest, attacker = (open_task(client, experiment["id"], a) for a in pair)
    assert honest["round"] == 1 and honest["base_model_hash"] == experiment["initial_model_hash"]
    assert honest["eip712"]["domain"]["name"] == "FedShield" and honest["eip712"]["primaryType"] == "Update"
    assert honest["simulation"]["node_index"] == 0 and honest["simulation"]["attack"] is None
    assert attacker["simulation"]["node_index"] == 1
    assert (
        attacker["simulation"]["attack"]["kind"] == "sign_flip"
        and attacker["simulation"]["attack"]["scale"] == 3
    )
    assert honest["train_config"]["batch_size"] == 16 and honest["schema"]["num_classes"] == 3
    nodes = client.get(f"/api/experiments/{experiment['id']}/nodes").json()
    assert [n["malicious"] for n in nodes] == [False, True]
    bad = client.get(f"/api/experiments/{experiment['id']}/task", params={"address": "bob"})
    assert bad.status_code == 422 and "address" in bad.json()["detail"]


@pytest.fixture
def fresh_pair(api_chain: ApiChain) -> Iterator[list[LocalAccount]]:
    yield api_chain.staked_wallets(2)


def test_round_closes_at_quorum_and_settles_on_chain(
    client: TestClient, fresh_pair: list[LocalAccount], api_chain: ApiChain
) -> None:
    experiment = create_experiment(client, num_nodes=2, rounds=1)
    for account in fresh_pair:
        register(client, experiment["id"], account)
    start(client, experiment["id"])
    for account in fresh_pair:
        task = open_task(client, experiment["id"], account)
        delta, samples = honest_delta(client, task)
        assert post(client, experiment["id"], sign(task, account, delta, samples)).status_code == 202

    def settled() -> dict[str, Any] | None:
        rounds = client.get(f"/api/experiments/{experiment['id']}/rounds").json()
        done = rounds and rounds[0]["settlement"] and rounds[0]["settlement"]["status"] == "confirmed"
        return rounds[0] if done else None

    round_one: Any = wait_for(settled, 60, "round 1 to settle")
    assert round_one["accepted"] == 2 and round_one["accuracy"] is not None
    chain = api_chain.client()
    chain_round = round_one["settlement"]["chain_round_id"]
    assert chain.round_model_hash(chain_round) == round_one["model_hash"]
    wait_for(lambda: client.get(f"/api/experiments/{experiment['id']}").json()["status"] == "completed", 10)
    verdicts = client.get(f"/api/experiments/{experiment['id']}/rounds/1/verdicts").json()
    assert {v["node_address"] for v in verdicts} == {a.address for a in fresh_pair}
    assert all(v["accepted"] for v in verdicts)
    paid = {
        n["address"]: n["rewarded_flt"]
        for n in client.get(f"/api/experiments/{experiment['id']}/nodes").json()
    }
    assert paid == {a.address: "10" for a in fresh_pair}
    assert chain.flt_balance(fresh_pair[0].address) >= flt(10)


def test_a_registered_node_that_never_posts_leaves_the_quorum_after_one_deadline(
    client: TestClient, pair: list[LocalAccount], api_chain: ApiChain
) -> None:
    deadline_s = 3.0
    experiment = create_experiment(client, num_nodes=2, rounds=2, round_deadline_s=deadline_s)
    (silent,) = api_chain.staked_wallets(1)
    for account in pair:
        register(client, experiment["id"], account)
    joined = register_wallet(client, experiment["id"], silent.key.hex(), "external")
    assert joined.status_code == 201, joined.text
    start(client, experiment["id"])
    nodes_path = f"/api/experiments/{experiment['id']}/nodes"

    def round_completed(round_: int) -> bool:
        rounds = client.get(f"/api/experiments/{experiment['id']}/rounds").json()
        return any(r["round"] == round_ and r["status"] == "completed" for r in rounds)

    for account in pair:
        assert submit_honest(client, experiment["id"], account).status_code == 202
    wait_for(lambda: round_completed(1), 30, "round 1 to close at its deadline")
    active = {n["address"]: n["active"] for n in client.get(nodes_path).json()}
    assert active == {pair[0].address: True, pair[1].address: True, silent.address: False}
    # Round 2 closes at quorum, once both real nodes posted, without waiting for its deadline.
    tasks = [open_task(client, experiment["id"], account) for account in pair]
    signed = [sign(t, a, *honest_delta(client, t)) for t, a in zip(tasks, pair, strict=True)]
    posted_at = time.monotonic()
    for one in signed:
        assert post(client, experiment["id"], one).status_code == 202
    wait_for(lambda: round_completed(2), 30, "round 2 to close")
    waited = time.monotonic() - posted_at
    print(f"round 2 closed {waited:.2f}s after the last real update (deadline {deadline_s:.0f}s)")
    assert waited < deadline_s, "round 2 waited for the silent node's deadline"
