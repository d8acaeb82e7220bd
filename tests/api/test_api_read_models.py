"""The read models behind the API own their thread pool: node statuses are read on it, and stopping the
orchestrator stops its threads (none outlives the app)."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient

from backend.app.main import create_app
from backend.orchestrator.queries import ReadModels
from backend.orchestrator.service import Orchestrator
from tests.api.conftest import ApiChain, make_settings
from tests.api.helpers import create_experiment, register
from tests.support.server import wait_for

PREFIX = "node-status"


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(PREFIX)]


def test_stopping_the_orchestrator_stops_the_node_status_readers(tmp_path: Path, api_chain: ApiChain) -> None:
    orchestrator = Orchestrator(make_settings(tmp_path, f"sqlite:///{tmp_path / 'fedshield.db'}", api_chain))
    wallets = api_chain.staked_wallets(2)
    try:
        assert isinstance(orchestrator.queries, ReadModels)
        with TestClient(create_app(orchestrator=orchestrator)) as client:
            experiment = create_experiment(client)
            for wallet in wallets:
                register(client, experiment["id"], wallet)
            nodes = client.get(f"/api/experiments/{experiment['id']}/nodes").json()
            assert [n["stake_flt"] for n in nodes] == ["100", "100"]  # read from the chain on the pool
            assert _readers(), "the statuses were read on the read models' pool"
    finally:
        orchestrator.stop()
    wait_for(lambda: not _readers(), 10, "the node-status threads to end")
