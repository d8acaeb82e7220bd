"""Experiments, datasets and models over HTTP: lifecycle, bad input answered with a 4xx naming the problem."""

from __future__ import annotations

import io

import numpy as np
from fastapi.testclient import TestClient

from backend.orchestrator.service import Orchestrator
from backend.orchestrator.specs import AttackPlan
from tests.api.helpers import create_experiment, experiment_body, global_model, start
from tests.support.server import wait_for
from workers.attacks import AttackConfig
from workers.datasets import BUILTIN_DATASETS
from workers.wire import model_hash


def test_experiment_lifecycle_create_start_pause_resume_stop(client: TestClient) -> None:
    created = create_experiment(client, name="lifecycle", rounds=3)
    assert created["status"] == "created"
    assert created["reward_flt"] == "10" and created["slash_flt"] == "15"
    assert created["current_model_hash"] == created["initial_model_hash"]
    experiment_id = created["id"]
    assert [e["id"] for e in client.get("/api/experiments").json()] == [experiment_id]

    assert start(client, experiment_id)["status"] == "running"
    rounds = _wait_rounds(client, experiment_id)
    assert rounds[0]["round"] == 1 and rounds[0]["status"] == "open"
    assert rounds[0]["base_model_hash"] == created["initial_model_hash"]

    assert client.post(f"/api/experiments/{experiment_id}/pause").json()["status"] == "paused"
    again = client.post(f"/api/experiments/{experiment_id}/pause")
    assert again.status_code == 409 and "paused" in again.json()["detail"]
    assert client.post(f"/api/experiments/{experiment_id}/resume").json()["status"] == "running"
    assert client.post(f"/api/experiments/{experiment_id}/stop").json()["status"] == "stopped"
    restart = client.post(f"/api/experiments/{experiment_id}/start")
    assert restart.status_code == 409 and "stopped" in restart.json()["detail"]
    assert client.get(f"/api/experiments/{experiment_id}/rounds").json()[0]["status"] == "cancelled"

    kinds = [e["kind"] for e in client.get("/api/events/log").json()["events"]]
    assert kinds[:4] == ["experiment.created", "experiment.started", "round.opened", "experiment.paused"]
    assert kinds[-1] == "experiment.stopped"


def _wait_rounds(client: TestClient, experiment_id: int) -> list[dict[str, object]]:
    def rounds() -> list[dict[str, object]]:
        found: list[dict[str, object]] = client.get(f"/api/experiments/{experiment_id}/rounds").json()
        return found

    return wait_for(rounds, 10, "round 1 to open")


def test_create_experiment_rejects_malformed_json(client: TestClient) -> None:
    response = client.post(
        "/api/experiments", content=b'{"name": "x", ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]
    assert client.get("/api/experiments").json() == []


def test_create_experiment_rejects_wrong_types_naming_the_field(client: TestClient) -> None:
    response = client.post("/api/experiments", json=experiment_body(num_nodes="many"))
    assert response.status_code == 422
    assert "num_nodes" in response.json()["detail"]
    response = client.post("/api/experiments", json=experiment_body(partition="random"))
    assert response.status_code == 422 and "partition" in response.json()["detail"]
    response = client.post("/api/experiments", json=experiment_body(colour="blue"))
    assert response.status_code == 422 and "colour" in response.json()["detail"]
    response = client.post(
        "/api/experiments", json=experiment_body(attack={"kind": "sign_flip", "num_attackers": 9})
    )
    assert response.status_code == 422 and "num_attackers" in response.json()["detail"]
    assert client.get("/api/experiments").json() == []


def test_create_experiment_rejects_unknown_dataset(client: TestClient) -> None:
    response = client.post("/api/experiments", json=experiment_body(dataset_id="imagenet"))
    assert response.status_code == 404
    assert "imagenet" in response.json()["detail"]
    assert client.get("/api/experiments").json() == []


def test_unknown_experiment_is_404_everywhere(client: TestClient) -> None:
    for method, path in [
        ("GET", "/api/experiments/99"),
        ("POST", "/api/experiments/99/start"),
        ("GET", "/api/experiments/99/rounds"),
        ("GET", "/api/experiments/99/rounds/1/verdicts"),
        ("GET", "/api/experiments/99/nodes"),
        ("GET", "/api/experiments/99/task?address=0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 404, (path, response.text)
        assert "99" in response.json()["detail"]
    response = client.post(
        "/api/experiments/99/updates",
        data={"message": "{}"},
        files={"update": ("u", b"x", "application/octet-stream")},
    )
    assert response.status_code == 404 and "experiment 99" in response.json()["detail"]


def test_datasets_list_builtin_and_upload_csv_and_npz(client: TestClient) -> None:
    ids = [d["id"] for d in client.get("/api/datasets").json()]
    assert ids == list(BUILTIN_DATASETS)
    rows = "\n".join(f"{i % 7}.5,{(i * 3) % 11},{'cat' if i % 2 else 'dog'}" for i in range(40))
    csv_bytes = f"height,width,label\n{rows}\n".encode()
    response = client.post(
        "/api/datasets", files={"file": ("pets.csv", csv_bytes, "text/csv")}, data={"label_column": "label"}
    )
    assert response.status_code == 201, response.text
    uploaded = response.json()
    assert uploaded["source"] == "upload" and uploaded["num_samples"] == 40
    assert uploaded["class_names"] == ["cat", "dog"] and uploaded["feature_names"] == ["height", "width"]

    buffer = io.BytesIO()
    np.savez(buffer, x=np.random.default_rng(0).random((30, 4, 4)).astype(np.float32), y=np.arange(30) % 3)
    response = client.post(
        "/api/datasets", files={"file": ("tiles.npz", buffer.getvalue(), "application/octet-stream")}
    )
    assert response.status_code == 201, response.text
    assert response.json()["is_image"] is True and response.json()["input_shape"] == [1, 4, 4]
    assert len(client.get("/api/datasets").json()) == len(BUILTIN_DATASETS) + 2

    experiment = create_experiment(client, dataset_id=uploaded["id"], num_nodes=2)
    assert experiment["model_spec"]["input_shape"] == [2]


def test_dataset_upload_reports_the_loaders_exact_problem(client: TestClient) -> None:
    bad = b"height,width,label\n1.5,2,cat\n1.5,-inf,dog\n"
    response = client.post(
        "/api/datasets", files={"file": ("pets.csv", bad, "text/csv")}, data={"label_column": "label"}
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "pets.csv: column 'width' holds an infinite value at data row 2"
    response = client.post(
        "/api/datasets", files={"file": ("pets.csv", bad, "text/csv")}, data={"label_column": "kind"}
    )
    assert response.status_code == 422 and "missing label column 'kind'" in response.json()["detail"]
    response = client.post("/api/datasets", files={"file": ("notes.json", b"{}", "application/json")})
    assert response.status_code == 422 and "expected one of .csv, .tsv" in response.json()["detail"]
    response = client.post(
        "/api/datasets", files={"file": ("x.npz", b"not a zip", "application/octet-stream")}
    )
    assert response.status_code == 422 and "x.npz: not a readable .npz archive" in response.json()["detail"]
    assert len(client.get("/api/datasets").json()) == len(BUILTIN_DATASETS)


def test_dataset_upload_over_the_limit_is_413(orchestrator: Orchestrator, client: TestClient) -> None:
    limit = orchestrator.settings.max_upload_bytes
    big = b"a,label\n" + b"1,0\n" * (limit // 4 + 10)
    response = client.post(
        "/api/datasets", files={"file": ("big.csv", big, "text/csv")}, data={"label_column": "label"}
    )
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert len(client.get("/api/datasets").json()) == len(BUILTIN_DATASETS)


def test_model_download_is_the_safetensors_whose_keccak_is_the_hash(client: TestClient) -> None:
    created = create_experiment(client)
    body = global_model(client, created["initial_model_hash"])
    assert model_hash(body) == created["initial_model_hash"]
    missing = "0x" + "ab" * 32
    assert client.get(f"/api/models/{missing}").status_code == 404
    response = client.get("/api/models/not-a-hash")
    assert response.status_code == 404 and "64 hex digits" in response.json()["detail"]


def test_attack_plans_take_the_literature_attacks_and_refuse_bad_parameters(client: TestClient) -> None:
    for attack, field in [
        ({"kind": "ipm", "epsilon": 0}, "epsilon"),
        ({"kind": "alie", "z": -1}, "z"),
        ({"kind": "min_max", "perturbation": "diagonal"}, "perturbation"),
        ({"kind": "backdoor", "boost": 0}, "boost"),
        ({"kind": "backdoor", "poison_fraction": 1.5}, "poison_fraction"),
        ({"kind": "backdoor", "target_label": 3, "num_attackers": 1}, "target_label"),  # wine has 3 classes
        ({"kind": "trojan"}, "kind"),
    ]:
        response = client.post("/api/experiments", json=experiment_body(attack=attack))
        assert response.status_code == 422, (attack, response.text)
        assert field in response.json()["detail"], (attack, response.json())
    assert client.get("/api/experiments").json() == []

    created = create_experiment(client, attack={"kind": "ipm", "epsilon": 100, "num_attackers": 1})
    assert created["attack"]["kind"] == "ipm" and created["attack"]["epsilon"] == 100
    path = f"/api/experiments/{created['id']}/attack"
    plan = {"kind": "min_max", "perturbation": "unit", "num_attackers": 1}
    assert client.put(path, json=plan).json()["attack"]["perturbation"] == "unit"
    backdoor = {"kind": "backdoor", "target_label": 2, "boost": 5, "poison_fraction": 0.3, "num_attackers": 1}
    assert client.put(path, json=backdoor).status_code == 200
    stored = client.get(f"/api/experiments/{created['id']}").json()["attack"]
    assert {key: stored[key] for key in backdoor} == backdoor
    refused = client.put(path, json=backdoor | {"target_label": 7})
    assert refused.status_code == 422 and "target_label 7" in refused.json()["detail"]


def test_an_attack_plan_becomes_the_attack_config_its_attackers_run() -> None:
    plan = AttackPlan(kind="alie", z=0.8, epsilon=3, perturbation="sign", boost=4, target_label=1)
    config = plan.attack_config(start_round=2)
    assert config == AttackConfig(
        kind="alie", z=0.8, epsilon=3, perturbation="sign", boost=4, target_label=1, start_round=2,
        norm_matched=True,  # the plan's default
    )  # fmt: skip
    assert set(AttackConfig.__dataclass_fields__) - {"label_map", "start_round"} <= set(
        AttackPlan.model_fields
    )
