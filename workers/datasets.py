"""Datasets a FedShield experiment trains on: sklearn's bundled sets, or a node's own CSV / NPZ file.

Every loader returns a `Dataset` (float32 features, int64 labels in 0..C-1) and reports a malformed file
with a `DatasetError` whose message names the file, the row, column or key at fault, what was expected and
what was found, so a CLI or an HTTP route can show it as is.

Labels. Whatever a file holds (integers, "3.0", "cat"), labels are mapped to 0..C-1 in sorted order
(numeric order when every label is an integer, text order otherwise) and the original names are kept in
`DatasetSpec.class_names`. `conform_to_spec` re-maps a node's local labels to the experiment's classes *by
name*, so a node whose file holds only classes {"0", "7"} still trains on labels 0 and 7.

Scaling. Digits pixels are divided by 16 and uint8 NPZ arrays by 255: fixed maps that need no statistics,
so they are applied at load time. Standardizing tabular features needs a mean and a std, and those must
come from the training split alone (otherwise test statistics leak into training). So the loaders return
tabular features unscaled, `fit_standardizer(train)` learns the statistics and `Standardizer.apply` maps
any split (or a node's own file) with them; `load_builtin_split` runs that sequence for the built-in sets.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

BUILTIN_DATASETS = ("digits", "breast_cancer", "wine")
_DELIMITERS = (",", ";", "\t")


class DatasetError(ValueError):
    """A dataset file or array that cannot be used, with a message fit to show the person who gave it."""


@dataclass(frozen=True)
class DatasetSpec:
    """The schema every node of an experiment shares: sample shape, classes and their names."""

    name: str  # shown in the UI; a file's stem for CSV / NPZ data
    input_shape: tuple[int, ...]  # per-sample shape: (D,) tabular, (C, H, W) images
    num_classes: int  # labels are 0..num_classes-1
    is_image: bool  # True for (C, H, W) samples: picks the CNN
    feature_names: tuple[str, ...] = ()  # tabular column names in order; () for images or unnamed columns
    class_names: tuple[str, ...] = ()  # class_names[i] is the original label of class i

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, the inverse of `from_dict`."""
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "is_image": self.is_image,
            "feature_names": list(self.feature_names),
            "class_names": list(self.class_names),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetSpec:
        return cls(
            name=str(data["name"]),
            input_shape=tuple(int(d) for d in data["input_shape"]),
            num_classes=int(data["num_classes"]),
            is_image=bool(data["is_image"]),
            feature_names=tuple(str(f) for f in data.get("feature_names", ())),
            class_names=tuple(str(c) for c in data.get("class_names", ())),
        )


@dataclass
class Dataset:
    """Samples and labels under a spec; the constructor checks they agree."""

    x: np.ndarray  # (N, *input_shape) float32
    y: np.ndarray  # (N,) int64 in 0..num_classes-1
    spec: DatasetSpec

    def __post_init__(self) -> None:
        if self.x.dtype != np.float32 or self.y.dtype != np.int64:
            raise DatasetError(f"x must be float32 and y int64, found {self.x.dtype} and {self.y.dtype}")
        if self.x.shape[1:] != self.spec.input_shape:
            raise DatasetError(f"samples have shape {self.x.shape[1:]}, spec expects {self.spec.input_shape}")
        if self.y.ndim != 1 or len(self.y) != len(self.x):
            raise DatasetError(f"x has {len(self.x)} samples but y has shape {self.y.shape}")
        if len(self.y) and (self.y.min() < 0 or self.y.max() >= self.spec.num_classes):
            raise DatasetError(f"labels must lie in 0..{self.spec.num_classes - 1}")

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, indices: np.ndarray) -> Dataset:
        return Dataset(self.x[indices], self.y[indices], self.spec)


@dataclass(frozen=True)
class Standardizer:
    """Per-feature mean and std learned from a training split (`fit_standardizer`)."""

    mean: tuple[float, ...]  # one per feature, flattened over input_shape
    std: tuple[float, ...]  # same; features constant in training get std 1 so they pass unchanged

    def apply(self, ds: Dataset) -> Dataset:
        if len(self.mean) != math.prod(ds.spec.input_shape):
            raise DatasetError(f"standardizer has {len(self.mean)} features, data has {ds.spec.input_shape}")
        mean = np.asarray(self.mean, dtype=np.float32).reshape(ds.spec.input_shape)
        std = np.asarray(self.std, dtype=np.float32).reshape(ds.spec.input_shape)
        return replace(ds, x=((ds.x - mean) / std).astype(np.float32))

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardizer:
        return cls(tuple(float(m) for m in data["mean"]), tuple(float(s) for s in data["std"]))


class ExperimentData(NamedTuple):
    """What an orchestrator needs from a built-in set: the splits and the scaling it published."""

    train: Dataset
    test: Dataset
    standardizer: Standardizer | None  # None for images, already scaled to [0, 1]


def fit_standardizer(train: Dataset) -> Standardizer:
    """Learns per-feature mean and std from a training split (never from the test split)."""
    flat = train.x.reshape(len(train.x), -1).astype(np.float64)  # (N, D)
    mean = flat.mean(axis=0)
    std = flat.std(axis=0)
    std[std < 1e-8] = 1.0
    return Standardizer(tuple(mean.tolist()), tuple(std.tolist()))


# ----------------------------------------------------------------------------------------- built-in sets


def load_builtin(name: str) -> Dataset:
    """One of sklearn's bundled sets, offline: digits as (1, 8, 8) images in [0, 1], tabular ones unscaled.

    Tabular features are standardized later, with training-split statistics (see the module docstring).
    """
    from sklearn import datasets as sk

    loaders: dict[str, Callable[[], Any]] = {
        "digits": sk.load_digits,
        "breast_cancer": sk.load_breast_cancer,
        "wine": sk.load_wine,
    }
    if name not in loaders:
        raise DatasetError(f"unknown built-in dataset {name!r} (built-in: {', '.join(BUILTIN_DATASETS)})")
    bunch = loaders[name]()
    class_names = tuple(str(c) for c in bunch.target_names)
    y = np.asarray(bunch.target, dtype=np.int64)
    if name == "digits":
        x = (np.asarray(bunch.data, dtype=np.float32) / 16.0).reshape(-1, 1, 8, 8)  # (N, 1, 8, 8)
        spec = DatasetSpec(name, (1, 8, 8), len(class_names), True, (), class_names)
    else:
        x = np.asarray(bunch.data, dtype=np.float32)  # (N, D)
        features = tuple(str(f) for f in bunch.feature_names)
        spec = DatasetSpec(name, (x.shape[1],), len(class_names), False, features, class_names)
    return Dataset(x, y, spec)


def load_builtin_split(name: str, *, test_fraction: float = 0.2, seed: int = 0) -> ExperimentData:
    """A built-in set split into train / test, tabular features standardized with train statistics."""
    train, test = split_train_test(load_builtin(name), test_fraction=test_fraction, seed=seed)
    if train.spec.is_image:
        return ExperimentData(train, test, None)
    scaler = fit_standardizer(train)
    return ExperimentData(scaler.apply(train), scaler.apply(test), scaler)


# ------------------------------------------------------------------------------------------------ files


def load_file(path: str | Path, label_column: str | None = None, *, min_classes: int = 2) -> Dataset:
    """Loads a .csv (needs `label_column`) or a .npz (keys x, y) file, chosen by suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if label_column is None:
            raise DatasetError(f"{path.name}: a CSV file needs label_column, the column that holds labels")
        return load_csv(path, label_column, min_classes=min_classes)
    if suffix == ".npz":
        return load_npz(path, min_classes=min_classes)
    raise DatasetError(f"{path.name}: unsupported file type {suffix or '(none)'!r}, expected .csv or .npz")


def load_csv(path: str | Path, label_column: str, *, min_classes: int = 2) -> Dataset:
    """A CSV with a header row: every column but `label_column` must be numeric; labels may be text.

    Rows are numbered from 1 for the first data row; messages also give the file line (header = line 1).
    `min_classes` is 2 for data that defines an experiment; a node's own non-IID file may pass 1.
    """
    path = Path(path)
    text = _read_text(path)
    if not text.strip():
        raise DatasetError(f"{path.name}: file is empty")
    first_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = max(_DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []  # file line of each data row, for messages
    try:
        for cells in reader:
            if not cells or all(not c.strip() for c in cells):
                continue  # blank lines carry no sample
            if header is None:
                header = [c.strip() for c in cells]
                continue
            rows.append(cells)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DatasetError(f"{path.name}: malformed CSV at line {reader.line_num}: {exc}") from None
    assert header is not None  # the file holds a non-blank line
    _check_header(path.name, header, label_column)
    if not rows:
        raise DatasetError(f"{path.name}: no data rows below the header")

    def where(row: int) -> str:
        return f"row {row + 1} (line {lines[row]})"

    for i, cells in enumerate(rows):
        if len(cells) != len(header):
            raise DatasetError(
                f"{path.name}: {where(i)} has {len(cells)} cells, expected {len(header)} (one per header column)"
            )
    label_at = header.index(label_column)
    feature_cols = [j for j in range(len(header)) if j != label_at]
    x = _parse_numeric(path.name, rows, feature_cols, header, where)  # (N, D)
    labels = [
        _canonical_label(path.name, row[label_at], label_column, where(i)) for i, row in enumerate(rows)
    ]
    y, class_names = _index_classes(labels)
    _check_class_count(path.name, class_names, min_classes)
    features = tuple(header[j] for j in feature_cols)
    spec = DatasetSpec(path.stem, (len(features),), len(class_names), False, features, class_names)
    return Dataset(x, y, spec)


def load_npz(path: str | Path, *, min_classes: int = 2) -> Dataset:
    """A NumPy .npz archive with keys `x` and `y` (loaded with allow_pickle=False).

    x of shape (N, D) is tabular, (N, H, W) grayscale images (a channel axis is added), (N, C, H, W) images.
    uint8 features are divided by 255; other numeric dtypes are cast to float32 unscaled.
    """
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetError(f"{path.name}: file not found") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        reason = "pickled data is never loaded" if "pickle" in str(exc) else _first_line(exc)
        raise DatasetError(f"{path.name}: not a readable .npz archive ({reason})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DatasetError(f"{path.name}: expected an .npz archive with arrays 'x' and 'y', found one array")
    with archive:
        keys = list(archive.files)
        raw = {key: _npz_array(path.name, archive, key, keys) for key in ("x", "y")}
    x_raw, y_raw = raw["x"], raw["y"]
    if x_raw.dtype.kind not in "biuf":
        raise DatasetError(f"{path.name}: key 'x' must hold numbers, found dtype {x_raw.dtype}")
    if x_raw.ndim not in (2, 3, 4):
        raise DatasetError(
            f"{path.name}: key 'x' must have 2 dims (N, D), 3 (N, H, W) or 4 (N, C, H, W); "
            f"found {x_raw.ndim} dims, shape {x_raw.shape}"
        )
    if y_raw.ndim != 1:
        raise DatasetError(f"{path.name}: key 'y' must be 1-D (N,), found shape {y_raw.shape}")
    if len(x_raw) != len(y_raw):
        raise DatasetError(f"{path.name}: mismatched lengths: x has {len(x_raw)} samples, y has {len(y_raw)}")
    if len(x_raw) == 0:
        raise DatasetError(f"{path.name}: x and y hold no samples")
    x = x_raw.astype(np.float32) / 255.0 if x_raw.dtype == np.uint8 else x_raw.astype(np.float32)
    if x.ndim == 3:
        x = x[:, None]  # (N, 1, H, W)
    bad = ~np.isfinite(x.reshape(len(x), -1))  # (N, D)
    if bad.any():
        first = int(np.argmax(bad.any(axis=1)))
        raise DatasetError(
            f"{path.name}: key 'x' holds {int(bad.sum())} NaN or Inf values (first in x[{first}])"
        )
    y, class_names = _npz_labels(path.name, y_raw)
    _check_class_count(path.name, class_names, min_classes)
    is_image = x.ndim == 4
    spec = DatasetSpec(path.stem, tuple(x.shape[1:]), len(class_names), is_image, (), class_names)
    return Dataset(np.ascontiguousarray(x), y, spec)


# ---------------------------------------------------------------------------------- splits and schemas


def split_train_test(ds: Dataset, test_fraction: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Stratified, deterministic split: each class sends round(n_c * test_fraction) samples to test.

    Every class keeps at least one training sample; samples keep their original order within each split.
    """
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"test_fraction must lie in (0, 1), found {test_fraction}")
    rng = np.random.default_rng(seed)
    test_parts = []
    for c in range(ds.spec.num_classes):
        members = np.flatnonzero(ds.y == c)
        n_test = min(round(len(members) * test_fraction), len(members) - 1)
        if n_test > 0:
            test_parts.append(rng.permutation(members)[:n_test])
    test_mask = np.zeros(len(ds), dtype=bool)
    if test_parts:
        test_mask[np.concatenate(test_parts)] = True
    if not test_mask.any():
        raise DatasetError(
            f"{ds.spec.name}: {len(ds)} samples are too few for a test split of {test_fraction}"
        )
    return ds.subset(np.flatnonzero(~test_mask)), ds.subset(np.flatnonzero(test_mask))


def conform_to_spec(ds: Dataset, spec: DatasetSpec) -> Dataset:
    """A node's local data expressed in the experiment's schema, or a DatasetError saying what differs.

    Named tabular columns are reordered to the experiment's order; flat rows are reshaped to the
    experiment's image shape when the sizes agree; labels are re-mapped to the experiment's classes by name.
    """
    local = ds.spec
    x = ds.x
    if local.feature_names and spec.feature_names and local.feature_names != spec.feature_names:
        missing = [f for f in spec.feature_names if f not in local.feature_names]
        extra = [f for f in local.feature_names if f not in spec.feature_names]
        if missing or extra:
            raise DatasetError(
                f"{local.name}: columns differ from experiment {spec.name!r}: "
                f"missing {_names(missing)}, unexpected {_names(extra)}"
            )
        x = x[:, [local.feature_names.index(f) for f in spec.feature_names]]
    if x.shape[1:] != spec.input_shape:
        if not spec.is_image or local.is_image or math.prod(local.input_shape) != math.prod(spec.input_shape):
            raise DatasetError(
                f"{local.name}: samples have shape {local.input_shape}, "
                f"experiment {spec.name!r} expects {spec.input_shape}"
            )
        x = x.reshape(len(x), *spec.input_shape)
    y = _remap_labels(ds, spec)
    return Dataset(np.ascontiguousarray(x), y, spec)


# ----------------------------------------------------------------------------------------------- helpers


def _remap_labels(ds: Dataset, spec: DatasetSpec) -> np.ndarray:
    local = ds.spec
    if not spec.class_names or not local.class_names:
        if len(ds.y) and ds.y.max() >= spec.num_classes:
            raise DatasetError(
                f"{local.name}: label {int(ds.y.max())} is outside experiment {spec.name!r}'s "
                f"classes 0..{spec.num_classes - 1}"
            )
        return ds.y
    unknown = [c for c in local.class_names if c not in spec.class_names]
    if unknown:
        raise DatasetError(
            f"{local.name}: labels {_names(unknown)} are not classes of experiment {spec.name!r} "
            f"(classes: {_names(list(spec.class_names))})"
        )
    to_spec = np.array([spec.class_names.index(c) for c in local.class_names], dtype=np.int64)
    return to_spec[ds.y]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"{path.name}: file not found") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path.name}: not UTF-8 text (bad byte at offset {exc.start})") from None
    except OSError as exc:
        raise DatasetError(f"{path.name}: cannot read file ({exc.strerror})") from None


def _check_header(file: str, header: list[str], label_column: str) -> None:
    for j, name in enumerate(header):
        if not name:
            raise DatasetError(f"{file}: header column {j + 1} has no name")
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise DatasetError(f"{file}: duplicate header columns {_names(duplicates)}")
    if label_column not in header:
        raise DatasetError(f"{file}: missing label column {label_column!r} (columns: {_names(header)})")
    if len(header) < 2:
        raise DatasetError(f"{file}: no feature columns besides label column {label_column!r}")


def _parse_numeric(
    file: str, rows: list[list[str]], cols: list[int], header: list[str], where: Callable[[int], str]
) -> np.ndarray:
    """Feature cells as float32 (N, D); on failure, finds the first bad cell to name it."""
    cells = [[row[j] for j in cols] for row in rows]
    try:
        x = np.array(cells, dtype=np.float64)
    except ValueError:
        x = None
    if x is not None and np.isfinite(x).all():
        return x.astype(np.float32)
    for i, row in enumerate(cells):
        for k, cell in enumerate(row):
            column = header[cols[k]]
            text = cell.strip()
            if not text:
                raise DatasetError(f"{file}: empty cell in column {column!r} at {where(i)}")
            try:
                value = float(text)
            except ValueError:
                raise DatasetError(
                    f"{file}: non-numeric cell {text!r} in column {column!r} at {where(i)}"
                ) from None
            if not math.isfinite(value):
                raise DatasetError(f"{file}: non-finite value {text!r} in column {column!r} at {where(i)}")
    raise AssertionError("unreachable: numpy rejected cells that each parse as finite floats")


def _canonical_label(file: str, cell: str, column: str, where: str) -> str:
    """A label's class name: integers in canonical form ("3.0" -> "3"), text as written (trimmed)."""
    text = cell.strip()
    if not text:
        raise DatasetError(f"{file}: empty label in column {column!r} at {where}")
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value) or not value.is_integer():
        raise DatasetError(
            f"{file}: label {text!r} in column {column!r} at {where} is not a class: "
            "labels must be integers or names"
        )
    return str(int(value))


def _index_classes(labels: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Maps class names to 0..C-1 in sorted order: numeric if every name is an integer, else text."""
    unique = set(labels)
    numeric = all(_is_integer_name(u) for u in unique)
    order = sorted(unique, key=int) if numeric else sorted(unique)
    index = {name: i for i, name in enumerate(order)}
    y = np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))
    return y, tuple(order)


def _is_integer_name(name: str) -> bool:
    return name.lstrip("-").isdigit()


def _npz_array(file: str, archive: Any, key: str, keys: list[str]) -> np.ndarray:
    if key not in keys:
        raise DatasetError(f"{file}: missing key {key!r} (keys: {_names(keys)})")
    try:
        return np.asarray(archive[key])
    except ValueError:
        raise DatasetError(
            f"{file}: key {key!r} holds Python objects; only numeric or string arrays are accepted"
        ) from None


def _npz_labels(file: str, y_raw: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    if y_raw.dtype.kind in "US":
        return _index_classes([str(v).strip() for v in y_raw.tolist()])
    if y_raw.dtype.kind not in "biuf":
        raise DatasetError(f"{file}: key 'y' must hold integers or class names, found dtype {y_raw.dtype}")
    values = y_raw.astype(np.float64)
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        first = int(np.argmax(bad))
        raise DatasetError(
            f"{file}: key 'y' holds {int(bad.sum())} non-integer labels (first: y[{first}] = {y_raw[first]})"
        )
    unique, y = np.unique(values.astype(np.int64), return_inverse=True)
    return y.astype(np.int64), tuple(str(int(u)) for u in unique)


def _check_class_count(file: str, class_names: tuple[str, ...], min_classes: int) -> None:
    if len(class_names) < min_classes:
        raise DatasetError(
            f"{file}: fewer than {min_classes} classes: found {len(class_names)} ({_names(list(class_names))})"
        )


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in items[:12])
    return f"[{shown}{', ...' if len(items) > 12 else ''}]"


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
