"""Cross-site requests and DNS rebinding over real HTTP: every API route refuses a browser on another origin
and a Host that does not name the server, while nodes (no Origin) and the dashboard (same origin) work; with
an admin token, training data and exports need it and a task's simulation block is the operator's only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from backend.app.main import create_app
from backend.app.request_origin import host_refusal, origin_refusal, split_host
from backend.orchestrator.service import Orchestrator
from tests.api.conftest import ApiChain, make_settings
from tests.api.helpers import ADDRESS_A, experiment_body
from tests.support.server import live_server

TOKEN = "cross-site-test-token"
PATH_VALUES = {
    "experiment_id": "1",
    "round_number": "1",
    "address": ADDRESS_A,
    "model_hash": "0x" + "ab" * 32,
    "dataset_id": "wine",
}


@contextmanager
def served(tmp_path: Path, chain: ApiChain, **overrides: object) -> Iterator[tuple[str, Orchestrator]]:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'fedshield.db'}", chain, **overrides)
    orchestrator = Orchestrator(settings)
    try:
        with live_server(create_app(orchestrator=orchestrator)) as url:
            yield url, orchestrator
    finally:
        orchestrator.stop()


def api_operations(orchestrator: Orchestrator) -> list[tuple[str, str]]:
    """(method, concrete path) of every operation the API documents."""
    operations = []
    for template, item in create_app(orchestrator=orchestrator).openapi()["paths"].items():
        path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], template)
        operations += [(method.upper(), path) for method in item]
    assert len(operations) > 20, operations
    return operations


def test_every_api_route_refuses_cross_site_and_rebinding(tmp_path: Path, api_chain: ApiChain) -> None:
    with served(tmp_path, api_chain) as (url, orchestrator), httpx.Client(base_url=url) as http:
        created = http.post("/api/experiments", json=experiment_body())  # a node-like client: no Origin
        assert created.status_code == 201, created.text
        port = urlsplit(url).port
        attempts = {
            "cross-site Origin": {"Origin": "http://evil.example"},
            "Origin null": {"Origin": "null"},
            "Sec-Fetch-Site": {"Sec-Fetch-Site": "cross-site"},
            "rebinding": {"Host": f"attacker.example:{port}"},
            "rebinding without port": {"Host": "attacker.example"},
            "loopback at another port": {"Host": f"127.0.0.1:{port + 1 if port else 1}"},
        }
        for method, path in api_operations(orchestrator):
            for what, headers in attempts.items():
                answer = http.request(method, path, headers=headers, json={})
                assert answer.status_code == 403, (what, method, path, answer.text)
                detail = answer.json()["detail"]
                assert "cross-site" in detail or "Host" in detail, (what, method, path, detail)
        # Nothing was done: the experiment is still as created, and no second one exists.
        assert http.get("/api/experiments/1").json()["status"] == "created"
        assert len(http.get("/api/experiments").json()) == 1


def test_same_origin_and_nodes_still_work(tmp_path: Path, api_chain: ApiChain) -> None:
    trusted = "http://localhost:5173"
    with (
        served(tmp_path, api_chain, cors_origins=[trusted]) as (url, _),
        httpx.Client(base_url=url) as http,
    ):
        port = urlsplit(url).port
        for origin in (url, f"http://localhost:{port}", trusted):
            host = urlsplit(origin).netloc if origin != trusted else f"127.0.0.1:{port}"
            headers = {"Origin": origin, "Host": host, "Sec-Fetch-Site": "same-origin"}
            created = http.post("/api/experiments", json=experiment_body(), headers=headers)
            assert created.status_code == 201, (origin, created.text)
        assert http.get("/api/health", headers={"Host": f"[::1]:{port}"}).status_code == 200
        started = http.post("/api/experiments/1/start", headers={"Sec-Fetch-Site": "same-origin"})
        assert started.status_code == 200, started.text
        task = http.get("/api/experiments/1/task", params={"address": ADDRESS_A})
        assert task.status_code == 200, task.text


def test_admin_token_guards_training_data_exports_and_simulation(tmp_path: Path, api_chain: ApiChain) -> None:
    with (
        served(tmp_path, api_chain, admin_token=SecretStr(TOKEN)) as (url, _),
        httpx.Client(base_url=url) as http,
    ):
        admin = {"Authorization": f"Bearer {TOKEN}"}
        assert http.post("/api/experiments", json=experiment_body(), headers=admin).status_code == 201
        for path in ("/api/experiments/1/train-data", "/api/experiments/1/export"):
            assert http.get(path).status_code == 401, path
            assert http.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 403, path
            assert http.get(path, headers=admin).status_code == 200, path
        preview = http.post("/api/dataset-previews", files={"file": ("t.csv", b"a,label\n1,0\n2,1\n")})
        assert preview.status_code == 401, preview.text
        params = {"address": ADDRESS_A}
        public = http.get("/api/experiments/1/task", params=params)
        assert public.status_code == 200 and public.json()["simulation"] is None, public.text
        operator = http.get("/api/experiments/1/task", params=params, headers=admin)
        assert operator.status_code == 200 and operator.json()["simulation"] is not None, operator.text


@pytest.mark.parametrize(
    ("host", "parsed"),
    [
        ("127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("LocalHost", ("localhost", None)),
        ("[::1]:8000", ("::1", 8000)),
        ("[::1]", ("::1", None)),
        ("::1", None),
        ("a:b", None),
        ("host:99999", None),
        ("[::1]x", None),
        (":80", None),
    ],
)
def test_split_host(host: str, parsed: tuple[str, int | None] | None) -> None:
    assert split_host(host) == parsed


def test_host_and_origin_rules() -> None:
    names = {"127.0.0.1", "localhost", "::1"}
    assert host_refusal("localhost:8000", names, 8000, "http") is None
    assert host_refusal("localhost", names, 80, "http") is None
    assert host_refusal("localhost", names, 8000, "http") is not None  # port 80 implied
    assert host_refusal(None, names, 8000, "http") == "the Host header is missing"
    assert "rebinding" in str(host_refusal("evil.example:8000", names, 8000, "http"))
    own = "http://127.0.0.1:8000"
    assert origin_refusal(None, None, own, ()) is None  # a node
    assert origin_refusal(None, "same-origin", own, ()) is None
    assert origin_refusal("http://127.0.0.1:8000/", None, own, ()) is None
    assert origin_refusal("http://localhost:5173", "cross-site", own, ["http://localhost:5173"]) is None
    assert origin_refusal("http://127.0.0.1:8001", None, own, ()) is not None
    assert origin_refusal(None, "cross-site", own, ()) is not None
