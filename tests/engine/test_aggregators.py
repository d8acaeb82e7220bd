"""Aggregation maths on hand-made arrays, checked against Flower's reference functions where it has one."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.server.strategy.aggregate import aggregate, aggregate_krum, aggregate_median, aggregate_trimmed_avg

from backend.engine.aggregators import (
    AggregatorError,
    coordinate_median,
    fedavg,
    get_aggregator,
    krum_scores,
    multi_krum,
    trimmed_mean,
)


def _flower(updates: np.ndarray, counts: list[int]) -> list[tuple[list[np.ndarray], int]]:
    return [([row], count) for row, count in zip(updates, counts, strict=True)]


@pytest.fixture
def cohort() -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(7)
    updates = rng.normal(size=(9, 13)).astype(np.float32)
    updates[0] += 25.0  # one far outlier
    return updates, [5, 10, 3, 8, 8, 1, 20, 7, 4]


def test_fedavg_is_sample_weighted() -> None:
    updates = np.array([[1.0, 0.0], [3.0, 4.0]], dtype=np.float32)
    np.testing.assert_allclose(fedavg(updates, [1, 3]), [2.5, 3.0])


def test_fedavg_matches_flower(cohort: tuple[np.ndarray, list[int]]) -> None:
    updates, counts = cohort
    np.testing.assert_allclose(fedavg(updates, counts), aggregate(_flower(updates, counts))[0], rtol=1e-5)


def test_median_and_trimmed_mean_match_flower(cohort: tuple[np.ndarray, list[int]]) -> None:
    updates, counts = cohort
    np.testing.assert_allclose(coordinate_median(updates), aggregate_median(_flower(updates, counts))[0])
    flower_trimmed = aggregate_trimmed_avg(_flower(updates, counts), 0.2)[0]
    np.testing.assert_allclose(trimmed_mean(updates, trim_fraction=0.2), flower_trimmed, rtol=1e-5)


def test_trimmed_mean_drops_the_extremes() -> None:
    column = np.array([[-100.0], [1.0], [2.0], [3.0], [100.0]], dtype=np.float32)
    assert trimmed_mean(column, trim_fraction=0.2)[0] == pytest.approx(2.0)


def test_krum_scores_sum_nearest_squared_distances() -> None:
    updates = np.array([[0.0], [1.0], [3.0], [10.0]], dtype=np.float32)
    # n - f - 2 = 1 nearest neighbour with f = 1
    np.testing.assert_allclose(krum_scores(updates, num_malicious=1), [1.0, 1.0, 4.0, 49.0])


@pytest.mark.parametrize("to_keep", [1, 3, 6])
def test_multi_krum_matches_flower(cohort: tuple[np.ndarray, list[int]], to_keep: int) -> None:
    updates, counts = cohort
    ours = multi_krum(updates, counts, num_malicious=2, to_keep=to_keep)
    flower = aggregate_krum(_flower(updates, counts), num_malicious=2, to_keep=to_keep if to_keep > 1 else 0)
    np.testing.assert_allclose(ours, flower[0], rtol=1e-5)


def test_multi_krum_never_keeps_the_outlier(cohort: tuple[np.ndarray, list[int]]) -> None:
    updates, counts = cohort
    kept = multi_krum(updates, counts, num_malicious=2)
    assert np.abs(kept).max() < 5.0


def test_registry_selects_by_name(cohort: tuple[np.ndarray, list[int]]) -> None:
    updates, counts = cohort
    np.testing.assert_allclose(
        get_aggregator("fedavg")(updates, counts, num_malicious=0), fedavg(updates, counts)
    )
    np.testing.assert_allclose(
        get_aggregator("median")(updates, counts, num_malicious=2), np.median(updates, 0)
    )
    assert get_aggregator("trimmed_mean")(updates, counts, num_malicious=2).shape == (13,)
    assert get_aggregator("multi_krum")(updates, counts, num_malicious=2).shape == (13,)
    with pytest.raises(AggregatorError, match="unknown aggregator"):
        get_aggregator("mean")


def test_bad_cohorts_are_refused() -> None:
    with pytest.raises(AggregatorError):
        fedavg(np.zeros((0, 3), dtype=np.float32), [])
    with pytest.raises(AggregatorError):
        fedavg(np.zeros((2, 3), dtype=np.float32), [1])
    with pytest.raises(AggregatorError):
        trimmed_mean(np.zeros((2, 3), dtype=np.float32), trim_fraction=0.5)
