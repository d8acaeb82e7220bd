"""Aggregation rules over a round's stacked, flattened updates.

FedAvg [McMahan et al., 2017, "Communication-Efficient Learning of Deep Networks from Decentralized
Data"], Multi-Krum [Blanchard et al., 2017, "Machine Learning with Adversaries: Byzantine Tolerant Gradient
Descent"], coordinate-wise median and trimmed mean [Yin et al., 2018, "Byzantine-Robust Distributed
Learning: Towards Optimal Statistical Rates"].

Every rule is a pure function of an ``(n, d)`` matrix of updates (one flattened ``Δ`` per row) and the
nodes' sample counts, returning the aggregated ``(d,)`` update. The registry lets the orchestrator pick one
by name from its configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from backend.engine.cohort_stats import COLUMN_BLOCK, blocks

FloatArray = NDArray[np.floating]
SampleCounts = Sequence[float] | NDArray[np.integer] | NDArray[np.floating]  # FedAvg weights per update


class AggregatorError(ValueError):
    """Raised for an unknown aggregator name or a cohort the rule cannot aggregate."""


def _check_cohort(updates: FloatArray, num_samples: SampleCounts) -> None:
    if updates.ndim != 2 or updates.shape[0] == 0:
        raise AggregatorError(f"expected a non-empty (n, d) matrix of updates, got shape {updates.shape}")
    if len(num_samples) != updates.shape[0]:
        raise AggregatorError(f"{len(num_samples)} sample counts for {updates.shape[0]} updates")


def fedavg(updates: FloatArray, num_samples: SampleCounts) -> FloatArray:
    """Sample-weighted mean of the updates [McMahan et al., 2017]."""
    _check_cohort(updates, num_samples)
    weights = np.asarray(num_samples, dtype=np.float64)
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    shares = weights / weights.sum()
    n, d = updates.shape
    mean = np.empty(d, dtype=np.float64)
    for cols in blocks(d, n, COLUMN_BLOCK):  # float64 a block of columns at a time: no whole float64 copy
        mean[cols] = shares @ updates[:, cols].astype(np.float64)
    return mean.astype(updates.dtype)


def pairwise_sq_distances(updates: FloatArray) -> NDArray[np.float64]:
    """Squared Euclidean distances between every pair of rows, ``(n, n)``, computed in float64."""
    x = updates.astype(np.float64)
    sq = np.einsum("ij,ij->i", x, x)  # (n,)
    dist = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    np.fill_diagonal(dist, 0.0)
    return np.maximum(dist, 0.0)


def krum_scores(updates: FloatArray, num_malicious: int) -> NDArray[np.float64]:
    """Krum score of each update: sum of squared distances to its ``n - f - 2`` nearest neighbours.

    [Blanchard et al., 2017]. Lower is more central. Like Flower's ``aggregate_krum``, at least one
    neighbour is always counted, so the score is defined for any cohort of two or more.
    """
    n = updates.shape[0]
    dist = pairwise_sq_distances(updates)
    num_closest = max(1, n - num_malicious - 2)
    num_closest = min(num_closest, n - 1)
    if num_closest <= 0:
        return np.zeros(n)
    nearest = np.sort(dist, axis=1)[:, 1 : num_closest + 1]  # column 0 is the distance to itself
    scores: NDArray[np.float64] = nearest.sum(axis=1)
    return scores


def multi_krum(
    updates: FloatArray,
    num_samples: SampleCounts,
    num_malicious: int,
    to_keep: int | None = None,
) -> FloatArray:
    """Sample-weighted mean of the ``to_keep`` updates with the lowest Krum scores [Blanchard et al., 2017].

    ``to_keep=1`` is Krum itself; ``None`` keeps ``n - f`` (the usual Multi-Krum choice).
    """
    _check_cohort(updates, num_samples)
    n = updates.shape[0]
    keep = n - num_malicious if to_keep is None else to_keep
    keep = int(np.clip(keep, 1, n))
    chosen = np.argsort(krum_scores(updates, num_malicious), kind="stable")[:keep]
    return fedavg(updates[chosen], np.asarray(num_samples)[chosen])


def coordinate_median(updates: FloatArray, num_samples: SampleCounts | None = None) -> FloatArray:
    """Coordinate-wise median of the updates [Yin et al., 2018]; sample counts are ignored."""
    if num_samples is not None:
        _check_cohort(updates, num_samples)
    median: FloatArray = np.median(updates, axis=0).astype(updates.dtype)
    return median


def trimmed_mean(
    updates: FloatArray,
    num_samples: SampleCounts | None = None,
    trim_fraction: float = 0.2,
) -> FloatArray:
    """Coordinate-wise mean after dropping the ``trim_fraction`` largest and smallest values [Yin et al., 2018].

    Matches ``scipy.stats.trim_mean`` (and Flower's ``aggregate_trimmed_avg``): ``int(trim_fraction * n)``
    values are cut from each end of every coordinate.
    """
    if num_samples is not None:
        _check_cohort(updates, num_samples)
    n = updates.shape[0]
    cut = int(trim_fraction * n)
    if not 0.0 <= trim_fraction < 0.5 or cut >= n - cut:
        raise AggregatorError(f"trim_fraction {trim_fraction} leaves nothing of {n} updates")
    ordered = np.sort(updates, axis=0)
    trimmed: FloatArray = ordered[cut : n - cut].mean(axis=0).astype(updates.dtype)
    return trimmed


class Aggregator(Protocol):
    """What the orchestrator calls: stacked updates and sample counts in, one aggregated update out.

    ``num_malicious`` is the rule's assumed number of Byzantine updates (used by Multi-Krum and the
    trimmed mean; FedAvg and the median ignore it).
    """

    def __call__(
        self, updates: FloatArray, num_samples: SampleCounts, *, num_malicious: int
    ) -> FloatArray: ...


def _fedavg_rule(updates: FloatArray, num_samples: SampleCounts, *, num_malicious: int) -> FloatArray:
    return fedavg(updates, num_samples)


def _multi_krum_rule(updates: FloatArray, num_samples: SampleCounts, *, num_malicious: int) -> FloatArray:
    return multi_krum(updates, num_samples, num_malicious)


def _median_rule(updates: FloatArray, num_samples: SampleCounts, *, num_malicious: int) -> FloatArray:
    return coordinate_median(updates, num_samples)


def _trimmed_mean_rule(updates: FloatArray, num_samples: SampleCounts, *, num_malicious: int) -> FloatArray:
    n = updates.shape[0]
    # Cut at least the assumed Byzantine share from each end, but never the whole cohort.
    fraction = max(0.1, num_malicious / n) if n else 0.1
    fraction = min(fraction, (n - 1) / (2 * n) if n > 1 else 0.0)
    return trimmed_mean(updates, num_samples, fraction)


AGGREGATORS: dict[str, Aggregator] = {
    "fedavg": _fedavg_rule,
    "multi_krum": _multi_krum_rule,
    "median": _median_rule,
    "trimmed_mean": _trimmed_mean_rule,
}


def get_aggregator(name: str) -> Aggregator:
    """The registered aggregation rule called ``name``."""
    try:
        return AGGREGATORS[name]
    except KeyError:
        raise AggregatorError(f"unknown aggregator {name!r}; choose one of {sorted(AGGREGATORS)}") from None
