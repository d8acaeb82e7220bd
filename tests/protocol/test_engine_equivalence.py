"""One engine: the same experiment in-process (`backend.engine.simulation`, what `fedshield run` runs) and through
the served stack (the real orchestrator over HTTP, real node processes, a real anvil) gives the same
verdicts and the same global models, bit for bit, round by round.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.engine.simulation import ExperimentConfig, SimulationResult, run_simulation
from backend.orchestrator.specs import AttackPlan, ExperimentCreate
from tests.support import torch_threads
from tests.support.chain import LocalChain
from tests.support.served import served_experiment
from workers.training import DEFAULT_TRAIN

pytestmark = pytest.mark.chain

NODES, ROUNDS, SEED = 6, 3, 0
PLAN = AttackPlan(kind="sign_flip", num_attackers=1)  # the service's attacker: the last data slot
BODY: dict[str, Any] = {
    "name": "equivalence",
    "dataset_id": "digits",
    "num_nodes": NODES,
    "rounds": ROUNDS,
    "partition": "iid",
    "seed": SEED,
    "attack": PLAN.model_dump(mode="json"),
}  # local training and defense left to their defaults, as `fedshield run` leaves them


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """`fedshield run`'s default (--threads 1), as the fleet's nodes and the compute worker run."""
    with torch_threads.one_torch_thread():
        yield


def in_process() -> SimulationResult:
    config = ExperimentConfig(
        dataset="digits",
        num_nodes=NODES,
        partition="iid",
        rounds=ROUNDS,
        malicious_indices=(NODES - 1,),
        attack=PLAN.attack_config(start_round=0),  # what the task hands each attacker
        seed=SEED,
    )
    return run_simulation(config)


def stored(features: dict[str, float]) -> dict[str, float | None]:
    """Features as the database keeps them: JSON has no NaN or infinity, so those become null."""
    return {k: (float(v) if math.isfinite(v) else None) for k, v in features.items()}


def test_the_served_stack_and_the_simulation_reach_the_same_verdicts_and_models(
    chain: LocalChain, tmp_path: Path, one_torch_thread: None
) -> None:
    assert ExperimentCreate.model_validate(BODY).train_config() == DEFAULT_TRAIN
    simulated = in_process()
    # Per round, per node index: outcome, rule and every feature the verdict rests on.
    expected = [[(v.outcome.value, v.rule, stored(v.features)) for v in r.verdicts] for r in simulated.rounds]
    assert any(o != "accepted" for r in expected for o, _, _ in r), "the attacker should not pass unnoticed"

    with served_experiment(chain, tmp_path, BODY, nodes_per_process=3) as served:
        rounds = served.wait_until_settled(180)
        slot_of = {address: slot for slot, address in enumerate(served.addresses)}
        found = []
        for r in rounds:
            verdicts = sorted(
                served.get(f"/rounds/{r['round']}/verdicts"), key=lambda v: slot_of[v["node_address"]]
            )
            assert [slot_of[v["node_address"]] for v in verdicts] == list(range(NODES))
            found.append([(v["outcome"], v["rule"], v["features"]) for v in verdicts])

    assert [r["round"] for r in rounds] == list(range(1, ROUNDS + 1))
    for round_, (served_round, simulated_round) in enumerate(zip(found, expected, strict=True), start=1):
        assert served_round == simulated_round, f"round {round_}"
    assert [r["model_hash"] for r in rounds] == [r.model_hash for r in simulated.rounds]
    assert [r["accuracy"] for r in rounds] == [r.accuracy for r in simulated.rounds]
