"""Test helpers: create experiments, and act as a node (train on the task's share, sign, post)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount

from tests.support.server import wait_for
from workers.datasets import load_builtin_split
from workers.models import ModelSpec
from workers.node import register_wallet
from workers.partition import partition_indices
from workers.protocol import UpdateMessage, eip712_domain_from_dict, sign_update
from workers.tensors import Weights
from workers.training import TrainConfig, train_local
from workers.wire import encode_tensors, model_hash

ADDRESS_A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def experiment_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "wine test",
        "dataset_id": "wine",
        "num_nodes": 3,
        "rounds": 2,
        "local_epochs": 1,
        "batch_size": 16,
        "learning_rate": 0.05,
        "seed": 1,
    }
    body.update(overrides)
    return body


def create_experiment(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/experiments", json=experiment_body(**overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def start(client: httpx.Client, experiment_id: int) -> dict[str, Any]:
    response = client.post(f"/api/experiments/{experiment_id}/start")
    assert response.status_code == 200, response.text
    started: dict[str, Any] = response.json()
    return started


def register(client: httpx.Client, experiment_id: int, account: LocalAccount) -> dict[str, Any]:
    response = register_wallet(client, experiment_id, account.key.hex())
    assert response.status_code == 201, response.text
    node: dict[str, Any] = response.json()
    return node


def open_task(
    client: httpx.Client, experiment_id: int, account: LocalAccount, timeout_s: float = 30
) -> dict[str, Any]:
    """The node's task once a round is open for it."""

    def ready() -> dict[str, Any] | None:
        response = client.get(f"/api/experiments/{experiment_id}/task", params={"address": account.address})
        assert response.status_code == 200, response.text
        task: dict[str, Any] = response.json()
        return task if task["round"] is not None and not task["submitted"] else None

    return wait_for(ready, timeout_s, f"an open round for {account.address}")


def global_model(client: httpx.Client, model_hash_: str) -> bytes:
    response = client.get(f"/api/models/{model_hash_}")
    assert response.status_code == 200, response.text
    assert model_hash(response.content) == model_hash_
    return response.content


def honest_delta(client: httpx.Client, task: dict[str, Any]) -> tuple[Weights, int]:
    """What an honest simulated node sends: Δ after local training on its share."""
    import safetensors.torch

    weights = safetensors.torch.load(global_model(client, task["base_model_hash"]))
    sim = task["simulation"]
    train = load_builtin_split(
        sim["dataset"], test_fraction=sim["test_fraction"], seed=sim["split_seed"]
    ).train
    parts = partition_indices(
        train.y, sim["num_nodes"], sim["partition"], alpha=sim["alpha"], seed=sim["seed"]
    )
    share = train.subset(parts[sim["node_index"]])
    spec = ModelSpec.from_dict(task["model_spec"])
    update = train_local(
        spec, weights, share.x, share.y, TrainConfig.from_dict(task["train_config"]), seed=task["round"]
    )
    return update.delta, update.num_samples


@dataclass
class Signed:
    payload: bytes
    message: UpdateMessage
    signature: str


def sign(
    task: dict[str, Any], account: LocalAccount, delta: Weights, num_samples: int, **message: Any
) -> Signed:
    """Encode and sign an update for ``task``; ``message`` overrides fields of the signed message."""
    payload = encode_tensors(delta)
    fields: dict[str, Any] = {
        "experiment": task["experiment_id"],
        "round": task["round"],
        "base_model_hash": task["base_model_hash"],
        "update_hash": model_hash(payload),
        "num_samples": num_samples,
    }
    fields.update(message)
    signed_message = UpdateMessage(**fields)
    domain = eip712_domain_from_dict(task["eip712"]["domain"])
    return Signed(
        payload, signed_message, sign_update("0x" + bytes(account.key).hex(), domain, signed_message)
    )


def post(
    client: httpx.Client,
    experiment_id: int,
    signed: Signed,
    *,
    payload: bytes | None = None,
    message: str | None = None,
    signature: str | bool | None = True,
    address: str | None = None,
) -> httpx.Response:
    data: dict[str, str] = {"message": signed.message.to_json() if message is None else message}
    if signature is True:
        data["signature"] = signed.signature
    elif isinstance(signature, str):
        data["signature"] = signature
    if address is not None:
        data["address"] = address
    files = {
        "update": (
            "update.safetensors",
            signed.payload if payload is None else payload,
            "application/octet-stream",
        )
    }
    return client.post(f"/api/experiments/{experiment_id}/updates", data=data, files=files)


def submit_honest(client: httpx.Client, experiment_id: int, account: LocalAccount) -> httpx.Response:
    task = open_task(client, experiment_id, account)
    delta, num_samples = honest_delta(client, task)
    return post(client, experiment_id, sign(task, account, delta, num_samples))


def settle_one_round(client: httpx.Client, account: LocalAccount, timeout_s: float = 60) -> dict[str, Any]:
    """A one-node, one-round experiment whose node posts an honest update; returns it once the round's
    settlement is confirmed on chain."""
    experiment = create_experiment(client, num_nodes=1, rounds=1)
    register(client, experiment["id"], account)
    start(client, experiment["id"])
    response = submit_honest(client, experiment["id"], account)
    assert response.status_code == 202, response.text

    def settled() -> bool:
        rounds = client.get(f"/api/experiments/{experiment['id']}/rounds").json()
        return bool(rounds and rounds[0]["settlement"] and rounds[0]["settlement"]["status"] == "confirmed")

    wait_for(settled, timeout_s, "the round to settle on chain")
    return experiment
