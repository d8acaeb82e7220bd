"""Partitions: deterministic, disjoint, covering, never leaving a node empty; Dirichlet really skews labels."""

from __future__ import annotations

import numpy as np
import pytest

from workers.datasets import load_builtin
from workers.partition import PARTITION_SCHEMES, PartitionScheme, label_histogram, partition_indices

LABELS = load_builtin("digits").y


@pytest.mark.parametrize("scheme", PARTITION_SCHEMES)
@pytest.mark.parametrize("num_nodes", [1, 7, 20])
def test_partition_is_disjoint_covering_and_large_enough(scheme: PartitionScheme, num_nodes: int) -> None:
    parts = partition_indices(LABELS, num_nodes, scheme, seed=5, alpha=0.1)
    assert len(parts) == num_nodes
    joined = np.concatenate(parts)
    assert np.array_equal(np.sort(joined), np.arange(len(LABELS)))  # disjoint and covering
    assert min(len(p) for p in parts) >= 10  # the default floor, min(10, N // nodes)
    assert all(p.dtype == np.int64 and np.array_equal(p, np.sort(p)) for p in parts)


@pytest.mark.parametrize("scheme", PARTITION_SCHEMES)
def test_partition_is_deterministic_under_seed(scheme: PartitionScheme) -> None:
    first = partition_indices(LABELS, 10, scheme, seed=3)
    again = partition_indices(LABELS, 10, scheme, seed=3)
    other = partition_indices(LABELS, 10, scheme, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def skew(parts: list[np.ndarray]) -> float:
    """Mean total-variation distance between each node's label distribution and the global one."""
    hist = label_histogram(LABELS, parts, 10).astype(float)
    local = hist / hist.sum(axis=1, keepdims=True)
    overall = np.bincount(LABELS, minlength=10) / len(LABELS)
    return float(0.5 * np.abs(local - overall).sum(axis=1).mean())


def test_dirichlet_skews_labels_far_more_than_iid() -> None:
    iid = skew(partition_indices(LABELS, 10, "iid", seed=0))
    mild = skew(partition_indices(LABELS, 10, "dirichlet", alpha=10.0, seed=0))
    strong = skew(partition_indices(LABELS, 10, "dirichlet", alpha=0.1, seed=0))
    assert iid < 0.1 and strong > 0.5 and iid < mild < strong


def test_shards_give_each_node_few_classes() -> None:
    parts = partition_indices(LABELS, 20, "shards", shards_per_node=2, seed=0)
    classes = (label_histogram(LABELS, parts, 10) > 0).sum(axis=1)
    assert classes.max() <= 4  # two shards, each straddling at most one class boundary
    assert classes.mean() < 3


def test_small_sets_lower_the_default_floor_and_top_up_starved_nodes() -> None:
    y = np.repeat(np.arange(3), 20)  # 60 samples, 3 classes
    parts = partition_indices(y, 12, "dirichlet", alpha=0.05, seed=1)
    assert min(len(p) for p in parts) == 5  # min(10, 60 // 12)
    assert sum(len(p) for p in parts) == 60


def test_histogram_counts_every_sample_once() -> None:
    parts = partition_indices(LABELS, 8, "dirichlet", seed=2)
    hist = label_histogram(LABELS, parts, 10)
    assert hist.shape == (8, 10) and hist.sum() == len(LABELS)
    assert np.array_equal(hist.sum(axis=0), np.bincount(LABELS))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"num_nodes": 0}, "num_nodes must be at least 1"),
        ({"num_nodes": 200, "min_samples": 10}, "cannot give 200 nodes at least 10 samples each from 1797"),
        ({"num_nodes": 5, "scheme": "dirichlet", "alpha": 0.0}, "alpha must be positive"),
        ({"num_nodes": 5, "scheme": "shards", "shards_per_node": 0}, "non-empty shards"),
        ({"num_nodes": 5, "scheme": "random"}, "unknown partition scheme 'random'"),
    ],
)
def test_partition_rejects_impossible_requests(kwargs: dict[str, object], expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        partition_indices(LABELS, **kwargs)  # type: ignore[arg-type]
