"""Datasets a FedShield experiment trains on: sklearn's bundled sets, or a file (table, image zip, NPZ).

Files. Tables (.csv, .tsv, .parquet) are read by `workers.tables` and encoded with the experiment's
`TableSchema` (`workers.table_schema`): categories one-hot with an unknown bucket, missing cells imputed,
numbers standardized, all with statistics of the training split. Image zips (class_name/*.png) are read by
`workers.images`; NPZ archives here, their decompressed size bounded from the zip's central directory before
anything is inflated. `load_experiment_data` is the one entry point that turns a built-in name or a path
into an experiment's train / test splits; `load_for_spec` is a node's side: its own file in the experiment's
schema.

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

import math
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from workers.data_limits import DataLimits, checked_file_size
from workers.dataset_errors import ZIP_ERRORS, DatasetError, DatasetTooLarge
from workers.images import DEFAULT_IMAGE_SIZE, ImageFolder, load_image_zip
from workers.packaged_data import PACKAGED_TABLES, read_mnist, read_packaged_table
from workers.table_schema import TableSchema, apply_schema, numeric_values, text_codes
from workers.tables import (
    TABLE_SUFFIXES,
    TableFile,
    check_encoded_size,
    fit_schema,
    guess_label_column,
    plan_schema,
    read_table,
)

__all__ = ["DatasetError", "DatasetTooLarge"]  # re-exported: every caller imports them from here


SKLEARN_DATASETS = ("digits", "breast_cancer", "wine")
# Real sets that packages ship (workers.packaged_data): 28x28 MNIST digits and two public tables.
BUILTIN_DATASETS = (*SKLEARN_DATASETS, "mnist", *PACKAGED_TABLES)
FILE_SUFFIXES = (*TABLE_SUFFIXES, ".zip", ".npz")


@dataclass(frozen=True)
class DatasetSpec:
    """The schema every node of an experiment shares: sample shape, classes and their names."""

    name: str  # shown in the UI; a file's stem for CSV / NPZ data
    input_shape: tuple[int, ...]  # per-sample shape: (D,) tabular, (C, H, W) images
    num_classes: int  # labels are 0..num_classes-1
    is_image: bool  # True for (C, H, W) samples: picks the CNN
    feature_names: tuple[str, ...] = ()  # tabular column names in order; () for images or unnamed columns
    class_names: tuple[str, ...] = ()  # class_names[i] is the original label of class i
    table: TableSchema | None = None  # tables: how every node encodes its own rows into these features

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, the inverse of `from_dict`."""
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "is_image": self.is_image,
            "feature_names": list(self.feature_names),
            "class_names": list(self.class_names),
            "table": self.table.model_dump(mode="json") if self.table is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetSpec:
        table = data.get("table")
        return cls(
            name=str(data["name"]),
            input_shape=tuple(int(d) for d in data["input_shape"]),
            num_classes=int(data["num_classes"]),
            is_image=bool(data["is_image"]),
            feature_names=tuple(str(f) for f in data.get("feature_names", ())),
            class_names=tuple(str(c) for c in data.get("class_names", ())),
            table=TableSchema.model_validate(table) if table is not None else None,
        )

    @classmethod
    def of_table(cls, name: str, schema: TableSchema) -> DatasetSpec:
        return cls(
            name,
            (schema.width,),
            len(schema.class_names),
            False,
            schema.feature_names,
            schema.class_names,
            schema,
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
    standardizer: (
        Standardizer | None
    )  # None for images (scaled to [0, 1]) and tables (scaled by their schema)


def fit_standardizer(train: Dataset) -> Standardizer:
    """Learns per-feature mean and std from a training split (never from the test split)."""
    flat = train.x.reshape(len(train.x), -1).astype(np.float64)  # (N, D)
    mean = flat.mean(axis=0)
    std = flat.std(axis=0)
    std[std < 1e-8] = 1.0
    return Standardizer(tuple(mean.tolist()), tuple(std.tolist()))


# ----------------------------------------------------------------------------------------- built-in sets


def load_builtin(name: str) -> Dataset:
    """A built-in set, offline: digits (1, 8, 8) and mnist (1, 28, 28) as images in [0, 1], sklearn's tables
    unscaled, the packaged tables encoded with statistics of every row (what a catalogue entry needs).

    Tabular features are standardized later, with training-split statistics (see the module docstring).
    """
    if name in PACKAGED_TABLES:
        frame = read_packaged_table(name)
        schema = plan_schema(TableFile(frame, name, "csv"), PACKAGED_TABLES[name].label_column)
        encoded = apply_schema(frame, schema, file=name)
        return Dataset(encoded.x, encoded.y, DatasetSpec.of_table(name, schema))
    if name == "mnist":
        x, y = read_mnist()
        return Dataset(x, y, DatasetSpec(name, x.shape[1:], 10, True, (), tuple(str(c) for c in range(10))))
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
    """A built-in set split into train / test, tabular features standardized with train statistics (the
    packaged tables: their schema fit on the training rows, as an uploaded table's)."""
    if name in PACKAGED_TABLES:
        table = TableFile(read_packaged_table(name), name, "csv")
        planned = plan_schema(table, PACKAGED_TABLES[name].label_column)
        return _table_split(table, planned, test_fraction=test_fraction, seed=seed, name=name)
    train, test = split_train_test(load_builtin(name), test_fraction=test_fraction, seed=seed)
    if train.spec.is_image:
        return ExperimentData(train, test, None)
    scaler = fit_standardizer(train)
    return ExperimentData(scaler.apply(train), scaler.apply(test), scaler)


# ------------------------------------------------------------------------------------------------ files


def load_file(
    path: str | Path,
    label_column: str | None = None,
    *,
    min_classes: int = 2,
    exclude: Sequence[str] = (),
    image_size: int = DEFAULT_IMAGE_SIZE,
    limits: DataLimits = DataLimits(),
) -> Dataset:
    """A table (.csv .tsv .txt .parquet), image zip (.zip) or .npz file, chosen by suffix, whole.

    A table's label column defaults to one named like a label (else the last column); its features are
    encoded with statistics of every row: what a check of the file needs. Experiments use
    `load_experiment_data`, which fits them on the training split only.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        table = read_table(path, limits)
        schema = plan_schema(table, label_column, exclude, min_classes=min_classes, limits=limits)
        encoded = apply_schema(table.frame, schema, file=path.name)
        return Dataset(encoded.x, encoded.y, DatasetSpec.of_table(path.stem, schema))
    if suffix == ".zip":
        folder = load_image_zip(path, size=image_size, limits=limits)
        check_class_count(path.name, folder.class_names, min_classes)
        return dataset_of_folder(path.stem, folder)
    if suffix == ".npz":
        return load_npz(path, min_classes=min_classes, limits=limits)
    raise DatasetError(
        f"{path.name}: unsupported file type {suffix or '(none)'!r}, expected one of {', '.join(FILE_SUFFIXES)}"
    )


def dataset_of_folder(name: str, folder: ImageFolder) -> Dataset:
    """A decoded image zip as a Dataset: (N, C, S, S) images, labels by folder name."""
    spec = DatasetSpec(name, tuple(folder.x.shape[1:]), len(folder.class_names), True, (), folder.class_names)
    return Dataset(folder.x, folder.y, spec)


def load_experiment_data(
    source: str | Path,
    *,
    label_column: str | None = None,
    exclude: Sequence[str] = (),
    table_schema: TableSchema | None = None,
    image_size: int = DEFAULT_IMAGE_SIZE,
    test_fraction: float = 0.2,
    seed: int = 0,
    limits: DataLimits = DataLimits(),
    name: str | None = None,
) -> ExperimentData:
    """An experiment's train / test splits from a built-in name or a file path, and the scaling it publishes.

    Tables: the schema (given, or planned from the file with `label_column` and `exclude`) keeps its
    columns and vocabularies; imputation values and scaling statistics are re-fit on the training rows, and
    the fitted schema rides in `train.spec.table`, what every node must apply. Images come scaled to [0, 1];
    NPZ features are standardized with training statistics like the built-in tables. `name` names the
    dataset in its spec (default: the file's stem).
    """
    if isinstance(source, str) and source in BUILTIN_DATASETS:
        return load_builtin_split(source, test_fraction=test_fraction, seed=seed)
    path = Path(source)
    if not path.exists():
        raise DatasetError(
            f"{path.name}: file not found (or a built-in dataset: {', '.join(BUILTIN_DATASETS)})"
        )
    if path.suffix.lower() not in TABLE_SUFFIXES:
        full = load_file(path, label_column, image_size=image_size, limits=limits)
        if name:
            full = Dataset(full.x, full.y, replace(full.spec, name=name))
        train, test = split_train_test(full, test_fraction=test_fraction, seed=seed)
        if train.spec.is_image:
            return ExperimentData(train, test, None)
        scaler = fit_standardizer(train)
        return ExperimentData(scaler.apply(train), scaler.apply(test), scaler)
    table = read_table(path, limits)
    planned = table_schema or plan_schema(table, label_column, exclude, limits=limits)
    return _table_split(
        table, planned, test_fraction=test_fraction, seed=seed, name=name or path.stem, limits=limits
    )


def _table_split(
    table: TableFile,
    planned: TableSchema,
    *,
    test_fraction: float,
    seed: int,
    name: str,
    limits: DataLimits = DataLimits(),
) -> ExperimentData:
    """A table's train / test splits under its planned schema, re-fit on the training rows."""
    file = table.name
    codes, names = text_codes(table.frame[planned.label_column], label=True)
    frame = table.frame if (codes >= 0).all() else table.frame.loc[codes >= 0]
    del table
    check_encoded_size(file, len(frame), planned, limits)
    index = {name: i for i, name in enumerate(planned.class_names)}
    outside = [name for name in names if name not in index]
    if outside:
        raise DatasetError(
            f"{file}: labels {outside[:12]} are not among the classes {list(planned.class_names)}"
        )
    y = np.array([index[name] for name in names], dtype=np.int64)[codes[codes >= 0]]
    train_idx, test_idx = split_indices(y, len(planned.class_names), test_fraction, seed, Path(file).stem)
    schema = fit_schema(planned, frame, file=file, rows=train_idx)
    spec = DatasetSpec.of_table(name, schema)
    # Encoded split by split, a column at a time: no copy of the table, no whole-table feature matrix.
    encoded = apply_schema(frame, schema, file=file, rows=train_idx)
    train = Dataset(encoded.x, encoded.y, spec)
    del encoded
    encoded = apply_schema(frame, schema, file=file, rows=test_idx)
    return ExperimentData(train, Dataset(encoded.x, encoded.y, spec), None)


def load_for_spec(
    path: str | Path,
    spec: DatasetSpec,
    *,
    label_column: str | None = None,
    standardizer: Standardizer | None = None,
    limits: DataLimits = DataLimits(),
) -> tuple[Dataset, list[str]]:
    """A node's own file in the experiment's schema, and the warnings applying it raised.

    Tables go through the experiment's `TableSchema` (`label_column` renames the node's own label column
    to the schema's); image zips are resized to the experiment's shape; NPZ and other files are conformed
    by column names and class names, then scaled with the experiment's `standardizer`. A node may hold a
    single class (non-IID data is the point of federated learning), so one is enough.
    """
    path = Path(path)
    if spec.table is not None:
        if path.suffix.lower() not in TABLE_SUFFIXES:
            raise DatasetError(
                f"{path.name}: experiment {spec.name!r} trains on a table; give a {', '.join(TABLE_SUFFIXES)} file"
            )
        table = read_table(path, limits)
        frame = table.frame
        if label_column and label_column != spec.table.label_column:
            if label_column not in frame.columns:
                raise DatasetError(f"{path.name}: no label column {label_column!r}")
            frame = frame.rename(columns={label_column: spec.table.label_column})
        check_encoded_size(path.name, len(frame), spec.table, limits)
        encoded = apply_schema(frame, spec.table, file=path.name)
        if len(encoded.y) == 0:
            raise DatasetError(f"{path.name}: holds no labelled rows")
        imputes = {c.name: c.impute for c in spec.table.columns}
        notes = encoded.warnings + [
            f"{path.name}: {n} empty cells of {name!r} filled with {imputes[name]!r}"
            for name, n in encoded.imputed.items()
        ]
        return Dataset(encoded.x, encoded.y, spec), notes
    if path.suffix.lower() == ".zip" and spec.is_image:
        channels, height, width = spec.input_shape
        if height != width:
            raise DatasetError(f"experiment {spec.name!r} has {height}x{width} images; zips give square ones")
        folder = load_image_zip(path, size=height, channels=channels, limits=limits)
        return conform_to_spec(dataset_of_folder(path.stem, folder), spec), []
    if path.suffix.lower() in TABLE_SUFFIXES:
        local, notes = _numeric_columns(path, spec, label_column, limits)
        conformed = conform_to_spec(local, spec)
        return (standardizer.apply(conformed) if standardizer is not None else conformed), notes
    local = conform_to_spec(load_file(path, label_column, min_classes=1, limits=limits), spec)
    if standardizer is not None:
        local = standardizer.apply(local)
    return local, []


def check_file(
    path: str | Path, label_column: str | None = None, *, limits: DataLimits = DataLimits()
) -> None:
    """Reads a node's file once, so a malformed one fails at start-up (DatasetError), not at the first round.

    A table is only read (its schema comes with the experiment's task); other files are loaded whole.
    """
    path = Path(path)
    if path.suffix.lower() in TABLE_SUFFIXES:
        frame = read_table(path, limits).frame
        if label_column and label_column not in frame.columns:
            raise DatasetError(
                f"{path.name}: no label column {label_column!r} (columns: {_names(list(frame.columns))})"
            )
        return
    load_file(path, label_column, min_classes=1, limits=limits)


def _numeric_columns(
    path: Path, spec: DatasetSpec, label_column: str | None, limits: DataLimits
) -> tuple[Dataset, list[str]]:
    """A table's raw numeric columns named by a schema-less spec (the built-in tables), labels by name."""
    frame = read_table(path, limits).frame
    if not spec.feature_names:
        raise DatasetError(
            f"{path.name}: experiment {spec.name!r} names no columns, so a table cannot fit it"
        )
    label = label_column or guess_label_column(frame)
    missing = [f for f in (*spec.feature_names, label) if f not in frame.columns]
    if missing:
        raise DatasetError(
            f"{path.name}: columns differ from experiment {spec.name!r}: missing {_names(missing)}"
        )
    columns = []
    for name in spec.feature_names:
        values, empty = numeric_values(frame[name], path.name)
        if empty:
            raise DatasetError(
                f"{path.name}: {empty} empty cells in column {name!r}: experiment {spec.name!r} has no "
                "imputation values for its columns"
            )
        columns.append(values)
    codes, names = text_codes(frame[label], label=True)
    if (codes < 0).any():
        raise DatasetError(
            f"{path.name}: empty label in column {label!r} at data row {int(np.argmax(codes < 0)) + 1}"
        )
    x = np.column_stack(columns).astype(np.float32)  # (N, D)
    local = DatasetSpec(path.stem, (x.shape[1],), len(names), False, spec.feature_names, tuple(names))
    extra = [str(c) for c in frame.columns if c not in (*spec.feature_names, label)]
    notes = [f"{path.name}: ignoring columns {_names(extra)}: not in the experiment"] if extra else []
    return Dataset(x, codes, local), notes


def load_npz(path: str | Path, *, min_classes: int = 2, limits: DataLimits = DataLimits()) -> Dataset:
    """A NumPy .npz archive with keys `x` and `y` (loaded with allow_pickle=False).

    x of shape (N, D) is tabular, (N, H, W) grayscale images (a channel axis is added), (N, C, H, W) images.
    uint8 features are divided by 255; other numeric dtypes are cast to float32 unscaled. The archive's
    inflated size is bounded before anything is inflated (`check_npz_size`).
    """
    path = Path(path)
    check_npz_size(path, limits)
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetError(f"{path.name}: file not found") from None
    except ZIP_ERRORS as exc:
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
    check_class_count(path.name, class_names, min_classes)
    is_image = x.ndim == 4
    spec = DatasetSpec(path.stem, tuple(x.shape[1:]), len(class_names), is_image, (), class_names)
    return Dataset(np.ascontiguousarray(x), y, spec)


def check_npz_size(path: Path, limits: DataLimits) -> None:
    """Refuses a decompression bomb from the zip's central directory and each array's .npy header alone.

    The central directory states every member's uncompressed size, and Python's zipfile never inflates a
    member past it; the .npy header states the array's shape, and numpy allocates that much before
    reading, so a header claiming more than its member holds is refused too.
    """
    checked_file_size(path, limits)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return  # not a zip: np.load reports what it is
    except ZIP_ERRORS as exc:
        raise DatasetError(f"{path.name}: not a readable .npz archive ({_first_line(exc)})") from None
    with archive:
        infos = archive.infolist()
        inflated = sum(info.file_size for info in infos)
        if inflated > limits.max_inflated_bytes:
            raise DatasetTooLarge(
                f"{path.name}: its arrays inflate to {inflated} bytes, over the limit of "
                f"{limits.max_inflated_bytes} (a compressed archive that expands this much is refused)"
            )
        for info in infos:
            try:
                with archive.open(info) as member:
                    declared = _npy_nbytes(member)
            except ZIP_ERRORS as exc:
                raise DatasetError(
                    f"{path.name}: array {info.filename!r} cannot be read ({_first_line(exc)})"
                ) from None
            if declared is not None and declared > info.file_size:
                raise DatasetError(
                    f"{path.name}: array {info.filename!r} declares {declared} bytes but holds {info.file_size}"
                )


def _npy_nbytes(member: Any) -> int | None:
    """The byte size a .npy header declares, None for a member that is not a .npy array."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(member)
    except ValueError:
        return None
    reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, _, dtype = reader(member)
    return math.prod(shape) * dtype.itemsize


# ---------------------------------------------------------------------------------- splits and schemas


def split_train_test(ds: Dataset, test_fraction: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Stratified, deterministic split: each class sends round(n_c * test_fraction) samples to test.

    Every class keeps at least one training sample; samples keep their original order within each split.
    """
    train_idx, test_idx = split_indices(ds.y, ds.spec.num_classes, test_fraction, seed, ds.spec.name)
    return ds.subset(train_idx), ds.subset(test_idx)


def split_indices(
    y: np.ndarray, num_classes: int, test_fraction: float, seed: int, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """The train and test row indices of `split_train_test`, for labels y (N,) in 0..num_classes-1."""
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"test_fraction must lie in (0, 1), found {test_fraction}")
    rng = np.random.default_rng(seed)
    test_parts = []
    for c in range(num_classes):
        members = np.flatnonzero(y == c)
        n_test = min(round(len(members) * test_fraction), len(members) - 1)
        if n_test > 0:
            test_parts.append(rng.permutation(members)[:n_test])
    test_mask = np.zeros(len(y), dtype=bool)
    if test_parts:
        test_mask[np.concatenate(test_parts)] = True
    if not test_mask.any():
        raise DatasetError(f"{name}: {len(y)} samples are too few for a test split of {test_fraction}")
    return np.flatnonzero(~test_mask), np.flatnonzero(test_mask)


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
    except ZIP_ERRORS as exc:
        if isinstance(exc, ValueError) and "pickle" in str(exc):
            raise DatasetError(
                f"{file}: key {key!r} holds Python objects; only numeric or string arrays are accepted"
            ) from None
        raise DatasetError(f"{file}: key {key!r} cannot be read ({_first_line(exc)})") from None


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


def check_class_count(file: str, class_names: tuple[str, ...], min_classes: int) -> None:
    """A DatasetError when fewer than `min_classes` classes are present (2 to define an experiment)."""
    if len(class_names) < min_classes:
        raise DatasetError(
            f"{file}: fewer than {min_classes} classes: found {len(class_names)} ({_names(list(class_names))})"
        )


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in items[:12])
    return f"[{shown}{', ...' if len(items) > 12 else ''}]"


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
