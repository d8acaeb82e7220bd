"""A node's data: its simulated slice, or its own file conformed and scaled like the experiment's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workers.datasets import DatasetError, load_builtin_split
from workers.partition import partition_indices
from workers.task import local_node_data, round_seed, simulated_node_data


def test_simulated_node_data_is_the_nodes_slice() -> None:
    train, _, _ = load_builtin_split("wine")
    parts = partition_indices(train.y, 4, "iid", seed=0)
    node = simulated_node_data(train, parts, 2)
    assert len(node) == len(parts[2]) and np.array_equal(node.y, train.y[parts[2]])
    with pytest.raises(IndexError, match=r"node_index 4 is outside 0\.\.3"):
        simulated_node_data(train, parts, 4)


def test_local_file_is_reordered_remapped_and_standardized(tmp_path: Path) -> None:
    train, _, scaler = load_builtin_split("wine")
    assert scaler is not None
    names = list(train.spec.feature_names)
    raw = np.asarray(scaler.mean, dtype=np.float32)  # a sample at the mean standardizes to zeros
    header = ["label", *reversed(names)]
    row = ["class_2", *[f"{v:.6f}" for v in reversed(raw.tolist())]]
    (tmp_path / "mine.csv").write_text(",".join(header) + "\n" + ",".join(row) + "\n")
    node = local_node_data(tmp_path / "mine.csv", train.spec, label_column="label", standardizer=scaler)
    assert node.y.tolist() == [2]  # one class is fine on a node
    assert np.allclose(node.x, 0.0, atol=1e-4)


def test_local_file_with_foreign_labels_is_refused(tmp_path: Path) -> None:
    train, _, _ = load_builtin_split("wine")
    header = [*train.spec.feature_names, "label"]
    (tmp_path / "mine.csv").write_text(",".join(header) + "\n" + ",".join(["1"] * 13 + ["class_9"]) + "\n")
    with pytest.raises(DatasetError, match=r"labels \['class_9'\] are not classes of experiment 'wine'"):
        local_node_data(tmp_path / "mine.csv", train.spec, label_column="label")


def test_round_seeds_are_reproducible_and_distinct() -> None:
    seeds = {round_seed(7, r, n) for r in range(20) for n in range(20)}
    assert len(seeds) == 400 and round_seed(7, 3, 4) == round_seed(7, 3, 4)
    assert all(0 <= s < 2**63 for s in seeds)
