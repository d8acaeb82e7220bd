"""Splits a training set across simulated nodes: IID, Dirichlet label skew, or label shards.

- "iid": a seeded shuffle cut into near-equal parts.
- "dirichlet": for every class, the nodes' shares are drawn from Dir(alpha * 1); small alpha gives each node
  few classes, large alpha tends to IID [Hsu, Qi & Brown, 2019, "Measuring the Effects of Non-Identical Data
  Distribution for Federated Visual Classification"].
- "shards": samples sorted by label, cut into num_nodes * shards_per_node shards, each node dealt
  shards_per_node of them [McMahan et al., 2017, "Communication-Efficient Learning of Deep Networks from
  Decentralized Data"].

Every scheme then tops up any node below `min_samples` with random samples from the largest node, so the
result is always disjoint, covering and non-empty, and identical for the same inputs and seed.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

PartitionScheme = Literal["iid", "dirichlet", "shards"]
PARTITION_SCHEMES: tuple[PartitionScheme, ...] = get_args(PartitionScheme)


def partition_indices(
    y: np.ndarray,
    num_nodes: int,
    scheme: PartitionScheme = "iid",
    *,
    alpha: float = 0.5,
    shards_per_node: int = 2,
    seed: int = 0,
    min_samples: int | None = None,
) -> list[np.ndarray]:
    """Sample indices of each node (sorted int64 arrays), disjoint and covering range(len(y)).

    `min_samples` defaults to min(10, len(y) // num_nodes): enough that no node's update is mere noise
    (which a Byzantine defense would rightly flag), yet satisfiable on small sets such as wine.
    """
    y = np.asarray(y)
    n = len(y)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D, found shape {y.shape}")
    if num_nodes < 1:
        raise ValueError(f"num_nodes must be at least 1, found {num_nodes}")
    floor = min(10, n // num_nodes) if min_samples is None else min_samples
    if floor < 1 or n < num_nodes * floor:
        raise ValueError(
            f"cannot give {num_nodes} nodes at least {max(floor, 1)} samples each from {n} samples"
        )
    rng = np.random.default_rng(seed)
    if scheme == "iid":
        parts = np.array_split(rng.permutation(n), num_nodes)
    elif scheme == "dirichlet":
        if not alpha > 0:
            raise ValueError(f"alpha must be positive, found {alpha}")
        parts = _dirichlet_parts(y, num_nodes, alpha, rng)
    elif scheme == "shards":
        if shards_per_node < 1 or n < num_nodes * shards_per_node:
            raise ValueError(f"cannot cut {n} samples into {num_nodes} x {shards_per_node} non-empty shards")
        parts = _shard_parts(y, num_nodes, shards_per_node, rng)
    else:
        raise ValueError(f"unknown partition scheme {scheme!r} (schemes: {', '.join(PARTITION_SCHEMES)})")
    parts = _top_up(parts, floor, rng)
    return [np.sort(p).astype(np.int64) for p in parts]


def label_histogram(y: np.ndarray, parts: list[np.ndarray], num_classes: int) -> np.ndarray:
    """Samples of each class on each node: (num_nodes, num_classes) int64."""
    return np.stack([np.bincount(y[p], minlength=num_classes) for p in parts]).astype(np.int64)


def _dirichlet_parts(
    y: np.ndarray, num_nodes: int, alpha: float, rng: np.random.Generator
) -> list[np.ndarray]:
    chunks: list[list[np.ndarray]] = [[] for _ in range(num_nodes)]
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        shares = rng.dirichlet(np.full(num_nodes, alpha))  # (num_nodes,)
        cuts = (np.cumsum(shares)[:-1] * len(members)).astype(np.int64)
        for node, chunk in enumerate(np.split(members, cuts)):
            chunks[node].append(chunk)
    return [np.concatenate(c) for c in chunks]


def _shard_parts(
    y: np.ndarray, num_nodes: int, shards_per_node: int, rng: np.random.Generator
) -> list[np.ndarray]:
    shuffled = rng.permutation(len(y))
    by_label = shuffled[np.argsort(y[shuffled], kind="stable")]  # label-sorted, ties in random order
    shards = np.array_split(by_label, num_nodes * shards_per_node)
    deal = rng.permutation(len(shards)).reshape(num_nodes, shards_per_node)
    return [np.concatenate([shards[s] for s in row]) for row in deal]


def _top_up(parts: list[np.ndarray], floor: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Moves random samples from the largest node to each node below `floor`, smallest first."""
    parts = [np.asarray(p, dtype=np.int64) for p in parts]
    while True:
        sizes = np.array([len(p) for p in parts])
        needy = int(np.argmin(sizes))
        if sizes[needy] >= floor:
            return parts
        donor = int(np.argmax(sizes))
        take = min(floor - sizes[needy], sizes[donor] - floor)
        assert take > 0, "partition_indices checked len(y) >= num_nodes * floor"
        moved = rng.choice(len(parts[donor]), size=take, replace=False)
        keep = np.ones(len(parts[donor]), dtype=bool)
        keep[moved] = False
        parts[needy] = np.concatenate([parts[needy], parts[donor][moved]])
        parts[donor] = parts[donor][keep]
