"""Bringing your own data over HTTP: preview without storing, upload with choices, the schema in the task,
and a mixed-type table that trains with simulated nodes plus a real `fedshield worker` on its own file."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from backend.app.main import create_app
from backend.cli.fleet import Fleet
from backend.orchestrator.service import Orchestrator
from tests.api.conftest import ApiChain, make_settings
from tests.api.helpers import create_experiment, experiment_body
from tests.support.server import live_server, wait_for
from workers.datasets import BUILTIN_DATASETS
from workers.node import register_wallet

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ISLANDS = ("Biscoe", "Dream", '"Torgersen, north"')  # the last one quoted: it holds a comma
TABLE = (
    "id,age,island,smoker,comment,diagnosis\n"
    + "".join(
        f"{i},{'' if i % 7 == 0 else 20 + i % 50},{ISLANDS[i % 3]},"
        f"{'' if i % 5 == 0 else ['yes', 'no'][i % 2]},note {i},{'sick' if i % 3 == 0 else 'well'}\n"
        for i in range(1, 121)
    )
).encode()


def preview(client: TestClient, content: bytes, name: str = "clinic.csv", **form: Any) -> httpx.Response:
    return client.post("/api/dataset-previews", files={"file": (name, content, "text/csv")}, data=form)


def test_preview_shows_kinds_missing_counts_and_classes_and_stores_nothing(client: TestClient) -> None:
    response = preview(client, TABLE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "table" and body["label_column"] == "diagnosis"  # guessed by name
    table = body["table"]
    columns = {c["name"]: c for c in table["columns"]}
    assert columns["age"]["kind"] == "numeric" and columns["age"]["missing"] == 17
    assert columns["island"]["kind"] == "categorical" and columns["island"]["vocabulary_size"] == 3
    assert {t["value"] for t in columns["island"]["top"]} == {"Biscoe", "Dream", "Torgersen, north"}
    assert columns["smoker"]["kind"] == "boolean" and columns["smoker"]["missing"] == 24
    assert columns["id"]["kind"] == "dropped" and "identifier" in columns["id"]["reason"]
    assert (
        columns["comment"]["kind"] == "dropped"
        and "distinct value on every row" in columns["comment"]["reason"]
    )
    assert table["class_balance"] == [{"value": "sick", "count": 40}, {"value": "well", "count": 80}]
    assert table["sample_rows"][0] == {
        "id": "1", "age": "21", "island": "Dream", "smoker": "no", "comment": "note 1", "diagnosis": "well",
    }  # fmt: skip
    assert body["input_shape"] == [1 + 4 + 1]  # age, island one-hot + unknown, smoker
    assert [d["id"] for d in client.get("/api/datasets").json()] == list(BUILTIN_DATASETS)

    chosen = preview(client, TABLE, label_column="island", exclude_columns=["age", "smoker"]).json()
    assert chosen["label_column"] == "island" and chosen["class_names"] == [
        "Biscoe",
        "Dream",
        "Torgersen, north",
    ]
    kinds = {c["name"]: (c["kind"], c["reason"]) for c in chosen["table"]["columns"]}
    assert kinds["age"] == ("dropped", "excluded by the user") and kinds["diagnosis"][0] == "categorical"


def test_preview_refuses_what_cannot_be_used_with_the_reason(client: TestClient) -> None:
    response = preview(client, b"a,b\n1,x\n2,x\n", label_column="b")
    assert (
        response.status_code == 422
        and "fewer than 2 classes in label column 'b'" in response.json()["detail"]
    )
    response = preview(client, b"a,b\n1,x\n2,y\n", label_column="nope")
    assert response.status_code == 422 and "missing label column 'nope'" in response.json()["detail"]
    response = preview(client, b"", name="empty.csv")
    assert response.status_code == 422 and response.json()["detail"] == "empty.csv: file is empty"
    response = preview(client, b"\x00\x01PK\x03\x04" + bytes(range(256)) * 4, name="archive.csv")
    assert response.status_code == 422 and response.json()["detail"].startswith(
        "archive.csv: not a text table: the file holds binary data"
    )
    response = preview(client, b"a,label\n", name="h.csv")
    assert response.status_code == 422 and "no data rows below the header" in response.json()["detail"]
    wide = (
        ",".join(f"c{i}" for i in range(1001)) + "\n" + ",".join("1" for _ in range(1001)) + "\n"
    ).encode()
    response = preview(client, wide, name="wide.csv")
    assert (
        response.status_code == 413 and "1001 columns is over the limit of 1000" in response.json()["detail"]
    )


def test_an_npz_bomb_upload_is_413_before_it_inflates(orchestrator: Orchestrator, client: TestClient) -> None:
    import numpy as np

    buffer = io.BytesIO()
    rows = orchestrator.settings.max_upload_bytes  # float32 x of 4 columns: 16x the upload limit inflated
    np.savez_compressed(buffer, x=np.zeros((rows, 4), dtype=np.float32), y=np.zeros(rows, dtype=np.int64))
    assert len(buffer.getvalue()) < orchestrator.settings.max_upload_bytes
    response = client.post(
        "/api/datasets", files={"file": ("bomb.npz", buffer.getvalue(), "application/octet-stream")}
    )
    assert response.status_code == 413 and "inflate to" in response.json()["detail"]


def test_upload_records_the_schema_and_the_task_serves_the_fitted_one(client: TestClient) -> None:
    response = client.post(
        "/api/datasets",
        files={"file": ("clinic.csv", TABLE, "text/csv")},
        data={"label_column": "diagnosis", "exclude_columns": ["smoker"]},
    )
    assert response.status_code == 201, response.text
    dataset = response.json()
    schema = dataset["table_schema"]
    assert [c["name"] for c in schema["columns"]] == ["age", "island"]
    assert {d["name"]: d["reason"] for d in schema["dropped"]}["smoker"] == "excluded by the user"
    assert dataset["feature_names"] == [
        "age",
        "island=Biscoe",
        "island=Dream",
        "island=Torgersen, north",
        "island=<unknown>",
    ]
    assert dataset["num_samples"] == 120 and dataset["class_names"] == ["sick", "well"]

    experiment = create_experiment(client, dataset_id=dataset["id"], num_nodes=2)
    assert experiment["model_spec"]["input_shape"] == [5]
    task = client.get(
        f"/api/experiments/{experiment['id']}/task",
        params={"address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
    ).json()
    served = task["schema"]["table"]
    assert served["label_column"] == "diagnosis" and served["class_names"] == ["sick", "well"]
    age = served["columns"][0]
    assert (
        age["kind"] == "numeric" and age["std"] > 0 and age["mean"] != schema["columns"][0]["mean"]
    )  # re-fit
    assert task["standardizer"] is None  # the schema scales


def test_an_image_zip_is_previewed_uploaded_and_gets_a_cnn(client: TestClient) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(10):
            for name, mode in (("cats", "RGB"), ("dogs", "L")):
                image = io.BytesIO()
                Image.new(mode, (20 + i, 16)).save(image, format="PNG")
                archive.writestr(f"pets/{name}/{i}.png", image.getvalue())
        archive.writestr("pets/README.txt", b"two classes")
    form = {"image_size": "16"}
    files = {"file": ("pets.zip", buffer.getvalue(), "application/zip")}
    shown = client.post("/api/dataset-previews", files=files, data=form).json()
    assert shown["kind"] == "images" and shown["input_shape"] == [3, 16, 16]
    assert shown["images"]["modes"] == {"RGB": 10, "L": 10} and shown["images"]["skipped"] == [
        "pets/README.txt"
    ]
    assert shown["class_names"] == ["cats", "dogs"]
    uploaded = client.post("/api/datasets", files=files, data=form)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["is_image"] is True
    experiment = create_experiment(client, dataset_id=uploaded.json()["id"], num_nodes=2)
    assert experiment["model_spec"]["kind"] == "cnn" and experiment["model_spec"]["input_shape"] == [
        3,
        16,
        16,
    ]


# --------------------------------------------------------------------------------- the served stack


@pytest.fixture
def served(tmp_path: Path, api_chain: ApiChain) -> Iterator[Orchestrator]:
    """As deployed, on SQLite: rounds close in the compute worker process."""
    running = Orchestrator(
        make_settings(tmp_path, f"sqlite:///{tmp_path / 'fedshield.db'}", api_chain, compute_processes=1)
    )
    try:
        yield running
    finally:
        running.stop()


def test_a_mixed_table_trains_with_simulated_nodes_and_a_worker_on_its_own_file(
    served: Orchestrator, api_chain: ApiChain, tmp_path: Path
) -> None:
    simulated, rounds = 3, 4
    wallets = api_chain.staked_wallets(simulated + 1)
    external = wallets[-1]
    first_account = _dev_index(wallets[0].address)
    with (
        live_server(create_app(orchestrator=served)) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        upload = http.post(
            "/api/datasets",
            files={"file": ("patients.csv", (EXAMPLES / "patients.csv").read_bytes(), "text/csv")},
            data={"label_column": "diagnosis"},
        )
        assert upload.status_code == 201, upload.text
        dataset = upload.json()
        body = experiment_body(
            name="patients", dataset_id=dataset["id"], num_nodes=simulated, rounds=rounds, local_epochs=5,
            batch_size=128, learning_rate=0.1, round_deadline_s=60,
        )  # fmt: skip
        experiment_id = http.post("/api/experiments", json=body).json()["id"]
        joined = register_wallet(http, experiment_id, external.key.hex(), "external")
        assert joined.status_code == 201, joined.text
        env = {**os.environ, "FEDSHIELD_NODE_KEY": external.key.hex(), "COLUMNS": "200"}
        worker_cmd = [
            str(Path(sys.executable).parent / "fedshield"), "worker", "--orchestrator", url,
            "--experiment", str(experiment_id), "--data", str(EXAMPLES / "patients_clinic_b.csv"),
            "--label-column", "diagnosis",
        ]  # fmt: skip
        shown = subprocess.run(
            [*worker_cmd, "--show-schema"], env=env, capture_output=True, text=True, timeout=120
        )
        assert shown.returncode == 0, shown.stderr
        assert (
            "trains on patients:" in shown.stdout
            and "region" in shown.stdout
            and "one-hot over 4" in shown.stdout
            and "identifier" in shown.stdout
        )
        assert "150 samples" in shown.stdout and "nothing was sent" in shown.stdout
        assert "ignoring column ['ward']" in shown.stderr and "['islands']" in shown.stderr

        assert http.post(f"/api/experiments/{experiment_id}/start").status_code == 200
        log_path = tmp_path / "worker.log"
        with log_path.open("w") as log, Fleet.start(
            url, experiment_id, simulated, nodes_per_process=simulated, first_account=first_account,
            log_dir=tmp_path / "fleet",
        ) as fleet:  # fmt: skip
            worker = subprocess.Popen(worker_cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_for(
                    lambda: http.get(f"/api/experiments/{experiment_id}").json()["status"] == "completed",
                    300,
                    "the experiment to complete",
                )
                assert fleet.wait(60), "simulated nodes did not stop when the experiment completed"
                assert worker.wait(60) == 0, log_path.read_text()
            finally:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()

        final = http.get(f"/api/experiments/{experiment_id}").json()
        for r in http.get(f"/api/experiments/{experiment_id}/rounds").json():
            verdicts = http.get(f"/api/experiments/{experiment_id}/rounds/{r['round']}/verdicts").json()
            assert external.address in {v["node_address"] for v in verdicts if v["accepted"]}, verdicts
    with (EXAMPLES / "patients.csv").open() as fh:
        labels = Counter(row["diagnosis"] for row in csv.DictReader(fh))
    majority = max(labels.values()) / sum(labels.values())
    print(f"patients: final accuracy {final['accuracy']:.3f}, majority class {majority:.3f}")
    assert final["accuracy"] >= majority + 0.1, (final["accuracy"], majority)


def _dev_index(address: str) -> int:
    from backend.chain.accounts import dev_account

    return next(i for i in range(1, 200) if dev_account(i).address == address)
