"""Service-level behaviour: health and config, admin token beyond localhost, CORS, the orchestrator key never
leaving the process, the dashboard build served at /, and the Attack Lab's probe."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from backend.app.main import create_app
from backend.chain.accounts import ANVIL_ORCHESTRATOR_KEY
from backend.db.models import SettlementRow
from backend.orchestrator.service import Orchestrator
from backend.settings import Settings
from tests.api.conftest import ApiChain, make_settings
from tests.api.helpers import (
    create_experiment,
    experiment_body,
    register,
    settle_one_round,
    start,
    submit_honest,
)
from tests.support.server import live_server

DASHBOARD = "http://localhost:5173"


@contextmanager
def app_client(settings: Settings) -> Iterator[TestClient]:
    orchestrator = Orchestrator(settings)
    try:
        with TestClient(create_app(orchestrator=orchestrator)) as client:
            yield client
    finally:
        orchestrator.stop()


def test_health_and_config_show_the_chain_and_the_values_in_force(
    client: TestClient, api_chain: ApiChain
) -> None:
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["chain"]["connected"] is True
    assert health["chain"]["chain_id"] == 31337 and health["chain"]["last_block"] > 0
    config = client.get("/api/config").json()
    assert (config["reward_flt"], config["slash_flt"]) == ("10", "15")
    assert config["norm_threshold"] == 1000.0
    assert config["staking_address"] == api_chain.local.deployment.staking.address
    deployment = client.get("/api/chain/deployment").json()
    assert deployment["chain_id"] == 31337 and deployment["staking"]["abi"]


def test_admin_actions_need_the_token_beyond_localhost(
    tmp_path: Path, db_url: str, api_chain: ApiChain
) -> None:
    open_settings = make_settings(tmp_path / "a", db_url, api_chain, host="0.0.0.0")
    with app_client(open_settings) as client:
        refused = client.post("/api/experiments", json=experiment_body())
        assert refused.status_code == 403 and "FEDSHIELD_ADMIN_TOKEN" in refused.json()["detail"]
    token_settings = make_settings(
        tmp_path / "b", db_url, api_chain, host="0.0.0.0", admin_token="s3cret-token"
    )
    with app_client(token_settings) as client:
        assert client.post("/api/experiments", json=experiment_body()).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.post("/api/experiments", json=experiment_body(), headers=wrong).status_code == 403
        right = {"Authorization": "Bearer s3cret-token"}
        created = client.post("/api/experiments", json=experiment_body(), headers=right)
        assert created.status_code == 201
        experiment_id = created.json()["id"]
        for path in (f"/api/experiments/{experiment_id}/start", f"/api/experiments/{experiment_id}/stop"):
            assert client.post(path).status_code == 401
        assert (
            client.put(f"/api/experiments/{experiment_id}/attack", json={"kind": "none"}).status_code == 401
        )
        probe = {"dataset_id": "wine", "attack": {"kind": "sign_flip"}}
        assert client.post("/api/attack-probe", json=probe).status_code == 401
        upload = client.post("/api/datasets", files={"file": ("a.csv", b"a,label\n1,0\n", "text/csv")})
        assert upload.status_code == 401
        # Reads and the node protocol stay open: nodes and the dashboard need no admin token.
        assert client.get("/api/experiments").status_code == 200
        assert (
            client.get(
                f"/api/experiments/{experiment_id}/task", params={"address": "0x" + "11" * 20}
            ).status_code
            == 200
        )
        assert "s3cret-token" not in client.get("/api/config").text


def test_cors_admits_only_the_dashboards_origin(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options("/api/experiments", headers={"Origin": DASHBOARD, **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == DASHBOARD
    refused = client.options("/api/experiments", headers={"Origin": "http://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    simple = client.get("/api/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_orchestrator_key_never_appears_in_responses_or_logs(
    orchestrator: Orchestrator, api_chain: ApiChain, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = ANVIL_ORCHESTRATOR_KEY.lower().removeprefix("0x")
    (wallet,) = api_chain.staked_wallets(1)
    bodies: list[str] = []
    with (
        live_server(create_app(orchestrator=orchestrator)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        experiment = settle_one_round(http, wallet, timeout_s=20)  # a transaction signed with the key
        for path in ("/api/health", "/api/config", "/api/chain/deployment", "/api/chain/rounds", "/openapi.json",
                     "/api/chain/transactions", "/api/events/log?limit=1000", f"/api/experiments/{experiment['id']}/export",
                     f"/api/experiments/{experiment['id']}/export?format=csv", f"/api/wallets/{wallet.address}"):  # fmt: skip
            response = http.get(path)
            assert response.status_code == 200, path
            bodies.append(response.text)
        bodies.append(
            http.post("/api/experiments", content=b"{", headers={"Content-Type": "application/json"}).text
        )
    assert "tx.confirmed" in bodies[6]
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    for text in [*bodies, logged, repr(orchestrator.settings), str(orchestrator.settings.model_dump())]:
        assert key not in text.lower()


def test_dashboard_build_is_served_at_root_with_spa_fallback(
    tmp_path: Path, db_url: str, api_chain: ApiChain
) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>FedShield</title>")
    (dist / "assets" / "app.js").write_text("console.log('fedshield')")
    (tmp_path / "secret.txt").write_text("outside the build")
    with app_client(make_settings(tmp_path, db_url, api_chain, frontend_dist=dist)) as client:
        assert "FedShield" in client.get("/").text
        assert "FedShield" in client.get("/experiments/3/rounds").text  # client-side route
        assert client.get("/assets/app.js").text == "console.log('fedshield')"
        assert "outside" not in client.get("/../secret.txt").text
        missing = client.get("/api/no-such-thing")
        assert missing.status_code == 404 and missing.json()["detail"]
        assert client.get("/api/health").json()["status"] == "ok"


def test_attack_probe_predicts_the_verdict_fast_without_waiting_for_training(
    client: TestClient, api_chain: ApiChain
) -> None:
    flip = {"kind": "sign_flip", "num_attackers": 1, "scale": 2.0}
    first = client.post("/api/attack-probe", json={"dataset_id": "breast_cancer", "attack": flip})
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["predicted"] in ("excluded", "slashed") and result["rule"]
    assert any(f["caught"] for f in result["features"])
    assert {"name", "value", "threshold", "slash_threshold", "comparison", "caught", "outcome"} <= set(
        result["features"][0]
    )
    honest = client.post(
        "/api/attack-probe", json={"dataset_id": "breast_cancer", "attack": {"kind": "none"}}
    ).json()
    assert honest["predicted"] != "slashed" and honest["cached"] is True  # an honest node is never slashed
    latencies = []
    for scale in (1.0, 1.5, 3.0, 5.0):
        probe = client.post(
            "/api/attack-probe", json={"dataset_id": "breast_cancer", "attack": flip | {"scale": scale}}
        )
        latencies.append(probe.json()["latency_ms"])
    assert max(latencies) < 500, latencies  # cached inputs: fast enough to poll several times a second

    wallets = api_chain.staked_wallets(2)
    experiment = create_experiment(client, dataset_id="breast_cancer", num_nodes=2, rounds=2)
    for w in wallets:
        register(client, experiment["id"], w)
    start(client, experiment["id"])
    # Two nodes are below the cohort rules' minimum: only the brief's thresholds can catch an attack.
    gross = flip | {"scale": 1e4}
    on_experiment = client.post(
        "/api/attack-probe", json={"experiment_id": experiment["id"], "attack": gross}
    )
    assert on_experiment.status_code == 200 and on_experiment.json()["predicted"] == "excluded"
    for w in wallets:
        assert submit_honest(client, experiment["id"], w).status_code == 202
    # The model moves on; the next probe answers at once from the previous inputs while new ones build.
    again = client.post("/api/attack-probe", json={"experiment_id": experiment["id"], "attack": flip})
    assert again.status_code == 200 and again.json()["cached"] is True

    assert client.post("/api/attack-probe", json={"attack": flip}).status_code == 422
    assert client.post("/api/attack-probe", json={"dataset_id": "nope", "attack": flip}).status_code == 404
    assert client.post("/api/attack-probe", json={"experiment_id": 404, "attack": flip}).status_code == 404
    bad = client.post("/api/attack-probe", json={"dataset_id": "wine", "attack": {"kind": "meteor"}})
    assert bad.status_code == 422 and "kind" in bad.json()["detail"]
    for kind in ("alie", "ipm", "min_max", "backdoor", "free_rider"):
        probe = client.post(
            "/api/attack-probe", json={"dataset_id": "breast_cancer", "attack": {"kind": kind}}
        )
        assert probe.status_code == 200 and probe.json()["predicted"], probe.text
    outside = {"kind": "backdoor", "target_label": 2}  # breast cancer has two classes
    refused = client.post("/api/attack-probe", json={"dataset_id": "breast_cancer", "attack": outside})
    assert refused.status_code == 422 and "target_label 2" in refused.json()["detail"]


def test_health_is_degraded_while_the_chain_is_behind_the_database_until_reconciled(
    tmp_path: Path, db_url: str, api_chain: ApiChain
) -> None:
    settings = make_settings(tmp_path, db_url, api_chain, reconcile_interval_s=3600.0)
    orchestrator = Orchestrator(settings)
    (wallet,) = api_chain.staked_wallets(1)
    try:
        with (
            live_server(create_app(orchestrator=orchestrator)) as url,
            httpx.Client(base_url=url, timeout=30) as http,
        ):
            experiment = settle_one_round(http, wallet)
            assert http.get("/api/health").json()["status"] == "ok"
            # The database claims a chain round the chain never reached, in a transaction it never saw.
            with orchestrator.sessions() as session:
                row = session.query(SettlementRow).one()
                real = (row.chain_round_id, row.tx_hash)
                row.chain_round_id = api_chain.client().last_round_id() + 1000
                row.tx_hash = "0x" + "ab" * 32
                session.commit()
            health = http.get("/api/health").json()
            assert health["status"] == "degraded"
            assert any("chain is behind the database" in r for r in health["reasons"]), health["reasons"]
            listed = http.get("/api/chain/transactions", params={"experiment_id": experiment["id"]})
            assert listed.status_code == 200 and listed.json() == []  # a vanished tx is no 500

            report = orchestrator.outbox.reconciler.run()
            assert [(r.round, r.outcome) for r in report.rounds if r.experiment_id == experiment["id"]] == [
                (1, "repaired")
            ]
            with orchestrator.sessions() as session:
                row = session.query(SettlementRow).one()
                assert (row.chain_round_id, row.tx_hash) == real
            assert http.get("/api/health").json()["status"] == "ok"
            listed = http.get("/api/chain/transactions", params={"experiment_id": experiment["id"]})
            assert [t["hash"] for t in listed.json()] == [real[1]]
    finally:
        orchestrator.stop()
