"""The fleet against the real orchestrator service: chain, database, runner, defense and settlement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.app.main import create_app
from backend.chain.accounts import dev_account
from backend.cli.fleet import Fleet
from backend.orchestrator.service import Orchestrator
from backend.settings import Settings
from workers.node import register_wallet

pytestmark = pytest.mark.chain
FINISHED = ("completed", "failed", "stopped")


def test_a_fleet_trains_the_real_orchestrator_to_completion_and_its_attacker_is_rejected(
    chain: Any, tmp_path: Path, http_server: Any, wait_for: Any
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        state_dir=tmp_path / "state",
        deployment_file=chain.deployment_file,
        database_url=f"sqlite:///{tmp_path / 'fedshield.db'}",
        frontend_dist=tmp_path / "no-dashboard",
        round_deadline_s=60.0,
        runner_tick_s=0.1,
        outbox_retry_s=0.3,
    )
    service = Orchestrator(settings)
    try:
        url = http_server(create_app(orchestrator=service))
        api = httpx.Client(base_url=url, timeout=30)
        # Four nodes are below the cohort rules' minimum: the brief's distance threshold must catch it alone.
        attack = {"kind": "sign_flip", "scale": 1e4, "num_attackers": 1, "start_round": 1}
        created = api.post("/api/experiments", json={"name": "fleet", "dataset_id": "digits", "num_nodes": 4,
                                                     "rounds": 2, "attack": attack})  # fmt: skip
        assert created.status_code == 201, created.text
        experiment = created.json()["id"]
        for index in range(1, 5):  # dev accounts 1..4 (the demo nodes), staked by the fixture
            registered = register_wallet(api, experiment, dev_account(index).key.hex(), "simulated")
            assert registered.status_code in (200, 201), registered.text
        assert api.post(f"/api/experiments/{experiment}/start").status_code == 200

        with Fleet.start(url, experiment, 4, nodes_per_process=2, log_dir=tmp_path / "fleet") as fleet:
            assert fleet.addresses == chain.deployment.demo_nodes
            wait_for(lambda: api.get(f"/api/experiments/{experiment}").json()["status"] in FINISHED, 240,
                     "the experiment to finish")  # fmt: skip
            assert fleet.wait(timeout_s=30), "the fleet did not exit after the experiment completed"
        assert api.get(f"/api/experiments/{experiment}").json()["status"] == "completed"
        assert all(p.process.returncode == 0 for p in fleet.processes)

        rounds = api.get(f"/api/experiments/{experiment}/rounds").json()
        assert [(r["round"], r["status"], r["accepted"], r["rejected"]) for r in rounds] == [
            (1, "completed", 3, 1),
            (2, "completed", 3, 1),
        ]
        for round_ in (1, 2):
            verdicts = api.get(f"/api/experiments/{experiment}/rounds/{round_}/verdicts").json()
            assert sorted(v["node_address"] for v in verdicts) == sorted(chain.deployment.demo_nodes)
            assert all(v["accepted"] != v["malicious"] for v in verdicts), verdicts
    finally:
        service.stop()
