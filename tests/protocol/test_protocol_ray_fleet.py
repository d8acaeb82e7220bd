"""A fleet on Ray actors against the real served orchestrator and a real anvil: two actors of two nodes
each post signed updates over HTTP, the round closes and settles, and the actors end with the experiment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from backend.cli.fleet import RayFleet
from backend.db import repository as repo
from backend.engine.ray_executor import connect
from backend.engine.shield import Outcome
from tests.support.chain import LocalChain
from tests.support.served import served_experiment

pytestmark = pytest.mark.chain

BODY = {"name": "ray fleet", "dataset_id": "digits", "num_nodes": 4, "rounds": 1}


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    assert connect(num_cpus=2), "a Ray was already running in the test process"
    try:
        yield
    finally:
        ray.shutdown()


def test_a_ray_fleet_of_four_nodes_on_two_actors_completes_a_served_round(
    chain: LocalChain, tmp_path: Path
) -> None:
    with served_experiment(chain, tmp_path, BODY, nodes_per_process=2, engine="ray") as served:
        fleet = served.fleet
        assert isinstance(fleet, RayFleet) and len(fleet.actors) == 2
        assert [list(a) for a in fleet.accounts] == [[1, 2], [3, 4]]
        (settled,) = served.wait_until_settled(180)
        assert fleet.wait(timeout_s=60), "the actors did not stop after the experiment completed"
        reports = fleet.reports()
        with served.service.sessions() as session:
            verdicts = repo.verdicts(session, served.experiment_id)
    assert settled["round"] == 1
    assert [r["address"] for r in reports] == served.addresses
    assert all(r["submitted_rounds"] == [1] and not r["failed"] for r in reports), reports
    assert sorted(v.node_address for v in verdicts) == sorted(served.addresses)
    assert all(v.outcome == Outcome.ACCEPTED.value for v in verdicts)
