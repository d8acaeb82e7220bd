"""One node's share of the ML task: its data (simulated slice or own file) and its per-round seeds.

The Flower-style split: this module says *what* a node trains on; the client loop that moves weights over
HTTP only glues it to `training.train_local` / `attacks.malicious_local_update`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workers.datasets import Dataset, DatasetError, DatasetSpec, Standardizer, load_for_spec

log = logging.getLogger("fedshield.node")


@dataclass
class NodeData:
    """The samples one node trains on; they never leave the node."""

    x: np.ndarray  # (n, *input_shape) float32
    y: np.ndarray  # (n,) int64, in the experiment's class ids

    def __len__(self) -> int:
        return len(self.y)


def simulated_node_data(train: Dataset, parts: list[np.ndarray], node_index: int) -> NodeData:
    """Node `node_index`'s slice of a shared training set, as cut by `partition.partition_indices`."""
    if not 0 <= node_index < len(parts):
        raise IndexError(f"node_index {node_index} is outside 0..{len(parts) - 1}")
    indices = parts[node_index]
    return NodeData(x=train.x[indices], y=train.y[indices])


def local_node_data(
    path: str | Path,
    spec: DatasetSpec,
    *,
    label_column: str | None = None,
    standardizer: Standardizer | None = None,
) -> NodeData:
    """A node's own file, checked against the experiment's schema and scaled like the experiment's data.

    A node may hold a single class (non-IID data is the point of federated learning), so one is enough.
    """
    local, notes = load_for_spec(path, spec, label_column=label_column, standardizer=standardizer)
    for note in notes:
        log.warning("%s", note)
    if len(local) == 0:
        raise DatasetError(f"{Path(path).name}: holds no samples")
    return NodeData(x=local.x, y=local.y)


def round_seed(base_seed: int, round_idx: int, node_index: int) -> int:
    """A distinct, reproducible 63-bit seed for each (run, round, node)."""
    state = np.random.SeedSequence([base_seed, round_idx, node_index]).generate_state(2, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))


ROOT_SLOT = 2**31 - 1  # seed slot of the orchestrator's own root training (nodes use 0..n-1)
ROOT_SET_SIZE = 100  # samples of the orchestrator's clean root set (FLTrust's "root data")


def carve_root(y: np.ndarray, seed: int, size: int = ROOT_SET_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the orchestrator's root set and of the pool the nodes are partitioned from.

    The one root-set policy of simulation and service alike: a class-balanced sample of the training split
    taken *before* partitioning, so no node ever trains on it (FLTrust's assumption [Cao et al., NDSS
    2021]). At most a fifth of the split goes to the root set, so small sets keep data for their nodes.
    """
    y = np.asarray(y)
    classes = np.unique(y)
    size = min(size, len(y) // 5)
    per_class = max(1, size // max(len(classes), 1))
    rng = np.random.default_rng([seed, 104729])
    picked = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in classes]
    root = np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)
    pool = np.setdiff1d(np.arange(len(y)), root)
    return root.astype(np.int64), pool.astype(np.int64)
