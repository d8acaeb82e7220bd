"""Input at the edges: an experiment's numbers inside their ranges, an upload's long file name stored cut
short (no 500), and `fedshield serve` listening where FEDSHIELD_HOST / FEDSHIELD_PORT say and resuming its
fleet's experiment after a restart."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from backend.app.main import create_app
from backend.chain.local import free_port
from backend.cli.service import resumable_fleet_experiment
from backend.orchestrator.data import MAX_UPLOAD_STEM, safe_upload_name
from backend.orchestrator.service import Orchestrator
from backend.orchestrator.specs import ExperimentCreate
from tests.api.conftest import ApiChain, make_settings
from tests.api.helpers import experiment_body
from tests.support.server import live_server, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLE = b"a,b,label\n" + b"".join(f"{i},{i % 7},{i % 2}\n".encode() for i in range(60))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"defense": {"max_reject_fraction": 5}}, "max_reject_fraction"),
        ({"defense": {"max_exclude_fraction": 1.5}}, "max_exclude_fraction"),
        ({"defense": {"exclude_z": float("inf")}}, "exclude_z"),
        ({"defense": {"norm_threshold": float("nan")}}, "norm_threshold"),
        ({"round_deadline_s": 1e-9}, "round_deadline_s"),
        ({"round_deadline_s": 0.5}, "round_deadline_s"),
        ({"attack": {"kind": "gaussian", "sigma": float("inf")}}, "sigma"),
        ({"attack": {"kind": "label_flip", "flip_fraction": 2}}, "flip_fraction"),
        ({"momentum": 1.0}, "momentum"),
    ],
)
def test_experiment_numbers_outside_their_range_are_refused(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ExperimentCreate.model_validate(experiment_body(**overrides))
    assert field in str(refused.value)


def test_experiment_numbers_at_their_edges_are_taken() -> None:
    body = experiment_body(round_deadline_s=1, defense={"max_reject_fraction": 1, "max_exclude_fraction": 1})
    assert ExperimentCreate.model_validate(body).round_deadline_s == 1


def test_non_finite_json_number_is_a_422(tmp_path: Path, api_chain: ApiChain) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'fedshield.db'}", api_chain)
    orchestrator = Orchestrator(settings)
    try:
        with live_server(create_app(orchestrator=orchestrator)) as url, httpx.Client(base_url=url) as http:
            raw = b'{"name": "x", "dataset_id": "wine", "defense": {"exclude_z": Infinity}}'
            answer = http.post("/api/experiments", content=raw, headers={"Content-Type": "application/json"})
            assert answer.status_code == 422 and "exclude_z" in answer.text, answer.text
            long_name = "a" * 300 + ".csv"
            for path in ("/api/dataset-previews", "/api/datasets"):
                stored = http.post(path, files={"file": (long_name, TABLE, "text/csv")})
                assert stored.status_code in (200, 201), (path, stored.text)
            assert len(http.get("/api/datasets").json()[-1]["name"]) <= MAX_UPLOAD_STEM
    finally:
        orchestrator.stop()


def test_safe_upload_name() -> None:
    assert safe_upload_name("../../etc/passwd.csv") == "passwd.csv"
    assert safe_upload_name("x" * 300 + ".parquet") == "x" * MAX_UPLOAD_STEM + ".parquet"
    assert safe_upload_name("é" * 300 + ".csv") == "upload.csv"
    assert safe_upload_name(None) == "upload"


def test_serve_listens_on_fedshield_host_and_port(tmp_path: Path, api_chain: ApiChain) -> None:
    port = free_port()
    env = {
        **os.environ,
        "FEDSHIELD_HOST": "127.0.0.1",
        "FEDSHIELD_PORT": str(port),
        "FEDSHIELD_STATE_DIR": str(tmp_path / "state"),
        "FEDSHIELD_DEPLOYMENT_FILE": str(api_chain.deployment_file),
        "FEDSHIELD_FRONTEND_DIST": str(tmp_path / "no-dashboard"),
        "FEDSHIELD_COMPUTE_PROCESSES": "0",
        "PYTHONPATH": str(REPO_ROOT),
    }
    serve = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def healthy() -> bool:
            assert serve.poll() is None, "serve exited"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, 60, f"serve to answer on port {port}")
    finally:
        serve.terminate()
        serve.wait(30)


def test_serve_fleet_resumes_its_unfinished_experiment_after_a_restart() -> None:
    body = {"name": "digits: 4 nodes, 1 sign_flip", "dataset_id": "digits", "num_nodes": 4, "rounds": 10}
    earlier = [
        {**body, "id": 1, "status": "completed"},
        {**body, "id": 2, "status": "running"},
        {**body, "id": 3, "status": "paused"},
        {**body, "id": 4, "status": "running", "num_nodes": 5},  # other options: another fleet's
        {**body, "id": 5, "status": "stopped"},  # stopped for good by someone
    ]
    found = resumable_fleet_experiment(earlier, body)
    assert found is not None and found["id"] == 3
    assert resumable_fleet_experiment(earlier[:2], {**body, "rounds": 5}) is None
