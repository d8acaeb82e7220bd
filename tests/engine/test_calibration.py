"""Per-task calibration: honest rounds rehearsed on the root set set the task's thresholds, never below the
configured ones, the same every time, and what every round of the experiment is then screened with."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from backend.engine.shield import DefenseConfig, cusum
from backend.engine.shield.calibration import (
    calibrate,
    calibrated,
    calibrated_setup,
    honest_allowance,
    pseudo_nodes,
    typical_node_samples,
)
from backend.engine.simulation import ExperimentConfig, SimulationState, prepare
from tests.support.torch_threads import one_torch_thread


def test_the_allowance_is_the_least_at_which_no_honest_sum_passes_the_bar() -> None:
    sequences = [[2.0, 2.5, 2.0], [0.5, 0.2], [3.0, 0.0, 3.0]]
    k = honest_allowance(sequences, 2.0, 0.5, 10.0)
    assert all(cusum(seq, k) <= 2.0 + 1e-6 for seq in sequences)
    assert any(cusum(seq, k - 0.01) > 2.0 for seq in sequences)
    assert honest_allowance([[0.1, 0.1]], 2.0, 1.5, 4.5) == 1.5  # never below the configured allowance
    assert honest_allowance([[50.0, 50.0]], 2.0, 1.5, 4.5) == 4.5  # nor above its ceiling


def test_pseudo_nodes_are_as_large_as_a_node_and_skewed_like_the_partition() -> None:
    y = np.repeat(np.arange(10), 10)
    iid = pseudo_nodes(y, 12, 150, "iid", 0.5, seed=0)
    skewed = pseudo_nodes(y, 12, 150, "dirichlet", 0.1, seed=0)
    assert [len(p) for p in iid] == [150] * 12 and [len(p) for p in skewed] == [150] * 12
    top_share = lambda parts: np.mean([np.bincount(y[p]).max() / len(p) for p in parts])  # noqa: E731
    assert top_share(skewed) > 2 * top_share(iid)
    assert all(
        np.array_equal(a, b) for a, b in zip(iid, pseudo_nodes(y, 12, 150, "iid", 0.5, seed=0), strict=True)
    )


@pytest.fixture(scope="module")
def digits_and_census() -> dict[str, SimulationState]:
    """Both tasks prepared once (the census rehearsal trains twelve pseudo-nodes for eight rounds)."""
    with one_torch_thread():
        return {
            d: prepare(ExperimentConfig(dataset=d, num_nodes=20, partition="dirichlet", alpha=0.5, rounds=1))
            for d in ("digits", "adult")
        }


@pytest.mark.parametrize("dataset", ["digits", "adult"])
def test_each_task_gets_thresholds_from_its_own_honest_rehearsal(
    dataset: str, digits_and_census: dict[str, SimulationState]
) -> None:
    state = digits_and_census[dataset]
    found = state.calibration
    assert found.rounds > 0 and found.pseudo_nodes > 0
    default = DefenseConfig()
    # never below what is configured, and what every round of the experiment screens with
    assert found.exclude_z >= default.exclude_z and found.cusum_allowance >= default.cusum_allowance
    assert state.setup.defense.exclude_z == found.exclude_z
    assert state.setup.defense.cusum_allowance == found.cusum_allowance
    # the largest honest one-round suspicion on a cohort signal, with its margin, sets the exclusion line
    largest = max(v for k, v in found.max_suspicion.items() if k not in ("free_riding", "copy"))
    assert found.exclude_z == pytest.approx(
        min(max(1.25 * largest, default.exclude_z), 3 * default.exclude_z)
    )
    # deterministic: the service's worker process and the probe compute the same
    samples = typical_node_samples(sum(len(y) for _, y in state.node_data), 20)
    uncalibrated = replace(state.setup, defense=default)
    with one_torch_thread():
        assert calibrate(uncalibrated, "dirichlet", 0.5, samples) == found


def test_the_census_table_and_digits_get_different_lines(
    digits_and_census: dict[str, SimulationState],
) -> None:
    """The real census table's honest nodes spread further than the digits' do: one constant cannot fit both."""
    census, digits = digits_and_census["adult"].calibration, digits_and_census["digits"].calibration
    assert (census.exclude_z, census.cusum_allowance) > (digits.exclude_z, digits.cusum_allowance)


def test_a_defense_that_opts_out_keeps_its_own_thresholds() -> None:
    mine = DefenseConfig(calibrate=False, exclude_z=7.0)
    state = prepare(ExperimentConfig(dataset="digits", num_nodes=6, rounds=1, defense=mine))
    assert state.setup.defense == mine
    assert calibrated(mine, state.calibration) == mine
    setup, _ = calibrated_setup(state.setup, "iid", 0.5, 50)
    assert setup.defense.exclude_z == 7.0
