"""The served stack for tests: the real orchestrator (SQLite file, round runner, compute worker, settlement
outbox) over real HTTP on 127.0.0.1 against a real anvil, and a fleet of real node processes training one
of its experiments.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from backend.app.main import create_app
from backend.chain.accounts import dev_account
from backend.cli.fleet import Fleet, FleetPlan, RayFleet, stake_fleet
from backend.orchestrator.service import Orchestrator
from backend.settings import Settings
from tests.support.chain import LocalChain
from tests.support.server import live_server, wait_for
from workers.node import register_wallet

FINISHED = ("completed", "failed", "stopped")


@dataclass
class ServedExperiment:
    """One experiment being trained by the fleet; ``addresses[i]`` holds data slot ``i``."""

    api: httpx.Client
    service: Orchestrator
    experiment_id: int
    fleet: Fleet | RayFleet
    addresses: list[str]

    def get(self, path: str) -> Any:
        response = self.api.get(f"/api/experiments/{self.experiment_id}{path}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_until_settled(self, timeout_s: float) -> list[dict[str, Any]]:
        """Waits for the experiment to finish and every round's settlement to confirm; returns the rounds."""
        wait_for(lambda: self.get("")["status"] in FINISHED, timeout_s, "the experiment to finish")
        assert self.get("")["status"] == "completed", self.get("")

        def settled() -> list[dict[str, Any]] | None:
            rounds: list[dict[str, Any]] = self.get("/rounds")
            done = all(
                r["settlement"] is not None and r["settlement"]["status"] == "confirmed" for r in rounds
            )
            return rounds if done else None

        rounds = wait_for(settled, 60, "every round's settlement to confirm")
        assert isinstance(rounds, list)
        return rounds


@contextmanager
def served_experiment(
    chain: LocalChain,
    tmp_path: Path,
    body: dict[str, Any],
    *,
    nodes_per_process: int,
    first_account: int = 1,
    engine: str = "local",
    **settings: Any,
) -> Iterator[ServedExperiment]:
    """Stakes the fleet's wallets, creates and starts experiment ``body`` with every node registered in slot
    order (dev account ``first_account + i`` holds slot ``i``), launches the fleet (node processes, or with
    ``engine="ray"`` actors of the Ray this process is connected to); stops it all on exit."""
    values: dict[str, Any] = {
        "state_dir": tmp_path / "state",
        "deployment_file": chain.deployment_file,
        "database_url": f"sqlite:///{tmp_path / 'fedshield.db'}",
        "frontend_dist": tmp_path / "no-dashboard",
        "round_deadline_s": 60.0,
        "quorum_fraction": 1.0,  # every active node is in every round
        "runner_tick_s": 0.1,
        "outbox_retry_s": 0.3,
    }
    values.update(settings)
    service = Orchestrator(Settings(**values))
    try:
        with (
            live_server(create_app(orchestrator=service)) as url,
            httpx.Client(base_url=url, timeout=60) as api,
        ):
            num_nodes = int(body["num_nodes"])
            addresses = stake_fleet(chain.client(), num_nodes, first_account=first_account)
            created = api.post("/api/experiments", json=body)
            assert created.status_code == 201, created.text
            experiment_id = int(created.json()["id"])
            for slot, address in enumerate(addresses):
                wallet = dev_account(first_account + slot)
                assert wallet.address == address
                registered = register_wallet(api, experiment_id, wallet.key.hex(), "simulated")
                assert registered.status_code == 201, registered.text
                assert registered.json()["slot"] == slot, registered.json()
            started = api.post(f"/api/experiments/{experiment_id}/start")
            assert started.status_code == 200, started.text
            fleet: Fleet | RayFleet
            if engine == "ray":
                plan = FleetPlan(url, experiment_id, num_nodes, nodes_per_process, first_account)
                fleet = RayFleet.start(plan)
            else:
                fleet = Fleet.start(
                    url,
                    experiment_id,
                    num_nodes,
                    nodes_per_process=nodes_per_process,
                    first_account=first_account,
                    log_dir=tmp_path / "fleet",
                )
            with fleet:
                assert fleet.addresses == addresses
                yield ServedExperiment(api, service, experiment_id, fleet, addresses)
    finally:
        service.stop()
