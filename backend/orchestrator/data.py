"""Datasets the orchestrator knows: the bundled ones and uploads, and each experiment's splits.

The orchestrator keeps the held-out test split (to evaluate every aggregated model) and a small clean root
set carved from the training split before partitioning (``workers.task.carve_root``: no node trains on
it); simulated nodes recompute their own share of the remaining pool from the task's `simulation` block,
exactly as `experiment_splits` does.
"""

from __future__ import annotations

import contextlib
import functools
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select

from backend.db.base import SessionFactory
from backend.db.models import DatasetRow
from backend.orchestrator.errors import InvalidInput, NotFound, TooLarge
from workers.data_limits import DataLimits
from workers.datasets import (
    BUILTIN_DATASETS,
    FILE_SUFFIXES,
    Dataset,
    DatasetError,
    DatasetSpec,
    DatasetTooLarge,
    Standardizer,
    check_class_count,
    dataset_of_folder,
    load_builtin,
    load_experiment_data,
    load_file,
    split_indices,
    split_train_test,
)
from workers.images import DEFAULT_IMAGE_SIZE, ImageProfile, load_image_zip
from workers.tables import TABLE_SUFFIXES, TableProfile, profile_table, read_table
from workers.task import carve_root

TEST_FRACTION = 0.2  # share of every dataset the orchestrator keeps for evaluation
UPLOAD_SUFFIXES = FILE_SUFFIXES
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# Longest stem kept of an uploaded file's name: the file system takes 255 bytes, the dataset's name
# (derived from the stem) is a 200-character column.
MAX_UPLOAD_STEM = 100
_DATASET_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class DatasetUpload:
    """One uploaded file and the choices that come with it (the same for a preview and a store)."""

    filename: str
    content: bytes
    label_column: str | None = None
    exclude: tuple[str, ...] = ()
    image_size: int = DEFAULT_IMAGE_SIZE


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset an experiment can be created on."""

    id: str
    source: str  # "builtin" | "upload"
    spec: DatasetSpec
    num_samples: int
    path: Path | None = None  # uploads only
    label_column: str | None = None


@dataclass(frozen=True)
class Inspection:
    """What a file would become as a dataset: its spec, sample count and what the preview shows."""

    spec: DatasetSpec
    num_samples: int
    label_column: str | None
    table: TableProfile | None = None
    images: ImageProfile | None = None


def inspect_file(
    path: Path,
    label_column: str | None = None,
    exclude: tuple[str, ...] = (),
    *,
    image_size: int = DEFAULT_IMAGE_SIZE,
    limits: DataLimits = DataLimits(),
) -> Inspection:
    """Reads a dataset file as an experiment would, checks it can be split, and profiles it.

    DatasetTooLarge and DatasetError say what is wrong (413 and 422 at the API).
    """
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        profile = profile_table(read_table(path, limits), label_column, exclude, limits=limits)
        schema = profile.table_schema
        rows = profile.rows - profile.rows_without_label
        # Labels with the profile's class counts: enough samples per class to hold some out?
        per_class = [c.count for c in profile.class_balance]
        split_indices(
            np.repeat(np.arange(len(per_class)), per_class), len(per_class), TEST_FRACTION, 0, path.stem
        )
        return Inspection(DatasetSpec.of_table(path.stem, schema), rows, schema.label_column, table=profile)
    if exclude:
        raise DatasetError(f"{path.name}: only tables have columns to exclude")
    if suffix == ".zip":
        folder = load_image_zip(path, size=image_size, limits=limits)
        check_class_count(path.name, folder.class_names, 2)
        ds = dataset_of_folder(path.stem, folder)
        split_train_test(ds, test_fraction=TEST_FRACTION)
        return Inspection(ds.spec, len(ds), None, images=folder.profile)
    ds = load_file(path, label_column, limits=limits)
    split_train_test(ds, test_fraction=TEST_FRACTION)  # enough samples per class to hold some out
    return Inspection(ds.spec, len(ds), label_column)


@dataclass(frozen=True)
class ExperimentSplits:
    """What the orchestrator holds for one experiment."""

    train: Dataset  # the nodes' pool, partitioned among them (never used by the orchestrator to train)
    test: Dataset  # held out: every aggregated model is evaluated on it
    root: Dataset  # the defense's small clean root set, carved before partitioning: no node trains on it
    standardizer: Standardizer | None


class DatasetCatalog:
    """Bundled datasets plus uploads (files in ``upload_dir``, indexed in the database)."""

    def __init__(self, sessions: SessionFactory, upload_dir: Path, limits: DataLimits = DataLimits()) -> None:
        self._sessions = sessions
        self._upload_dir = upload_dir
        self._limits = limits
        upload_dir.mkdir(parents=True, exist_ok=True)
        self._builtins: dict[str, DatasetInfo] = {}
        self._lock = threading.Lock()

    # -- catalogue --------------------------------------------------------------------------------------

    def builtin(self, name: str) -> DatasetInfo:
        with self._lock:
            if name not in self._builtins:
                ds = load_builtin(name)
                self._builtins[name] = DatasetInfo(name, "builtin", ds.spec, len(ds))
            return self._builtins[name]

    def list(self) -> list[DatasetInfo]:
        found = [self.builtin(name) for name in BUILTIN_DATASETS]
        with self._sessions() as session:
            rows = session.scalars(select(DatasetRow).order_by(DatasetRow.created_at))
            found.extend(self._info(row) for row in rows)
        return found

    def get(self, dataset_id: str) -> DatasetInfo:
        if not _DATASET_ID.fullmatch(dataset_id):
            raise NotFound(f"no dataset {dataset_id[:64]!r}: ids are letters, digits, '.', '_' and '-'")
        if dataset_id in BUILTIN_DATASETS:
            return self.builtin(dataset_id)
        with self._sessions() as session:
            row = session.get(DatasetRow, dataset_id)
            if row is None:
                raise NotFound(
                    f"no dataset {dataset_id!r} (built-in: {', '.join(BUILTIN_DATASETS)}; or upload one)"
                )
            return self._info(row)

    def _info(self, row: DatasetRow) -> DatasetInfo:
        return DatasetInfo(
            row.id,
            "upload",
            DatasetSpec.from_dict(row.spec),
            row.num_samples,
            self._upload_dir / row.file_name,
            row.label_column,
        )

    def preview(self, upload: DatasetUpload) -> Inspection:
        """What an upload would become, without storing anything; InvalidInput / TooLarge say why not."""
        with self._inspected(upload) as (_, found):
            return found

    @contextlib.contextmanager
    def _inspected(self, upload: DatasetUpload) -> Iterator[tuple[Path, Inspection]]:
        """The upload written to a temporary file and inspected; the file is gone on exit unless moved."""
        name = self._checked_name(upload.filename, upload.label_column)
        with tempfile.TemporaryDirectory(dir=self._upload_dir) as tmp:
            path = Path(tmp) / name
            path.write_bytes(upload.content)
            yield path, self._inspect(path, upload.label_column, upload.exclude, upload.image_size)

    def upload(self, upload: DatasetUpload) -> DatasetInfo:
        """Validates an uploaded dataset with the dataset loader and stores it; InvalidInput says why not.

        A table's schema (label column, kinds, vocabularies, excluded columns) is fixed here, recorded in
        the row's spec, and applied by every experiment on it and by every node.
        """
        with self._inspected(upload) as (path, found):
            suffix = path.suffix.lower()
            dataset_id = f"upload-{secrets.token_hex(4)}"
            stored = f"{dataset_id}{suffix}"
            shutil.move(str(path), self._upload_dir / stored)
        row = DatasetRow(
            id=dataset_id,
            name=found.spec.name,
            file_name=stored,
            label_column=found.label_column or None,
            spec=found.spec.to_dict(),
            num_samples=found.num_samples,
        )
        with self._sessions() as session:
            session.add(row)
            session.commit()
        return self._info(row)

    def _checked_name(self, filename: str, label_column: str | None) -> str:
        if label_column is not None and any(ord(c) < 32 for c in label_column):
            raise InvalidInput("label_column must not contain control characters")
        name = safe_upload_name(filename)
        suffix = Path(name).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise InvalidInput(
                f"{name}: unsupported file type {suffix or '(none)'!r}, expected one of {', '.join(UPLOAD_SUFFIXES)}"
            )
        return name

    def _inspect(
        self, path: Path, label_column: str | None, exclude: tuple[str, ...], image_size: int
    ) -> Inspection:
        try:
            return inspect_file(
                path, label_column or None, exclude, image_size=image_size, limits=self._limits
            )
        except DatasetTooLarge as exc:
            raise TooLarge(str(exc)) from None
        except DatasetError as exc:
            raise InvalidInput(str(exc)) from None

    # -- experiment splits ------------------------------------------------------------------------------

    def splits(self, dataset_id: str, seed: int) -> ExperimentSplits:
        """Train / test / root splits for an experiment on ``dataset_id`` seeded with ``seed`` (cached)."""
        return experiment_splits(self.get(dataset_id), seed)


def safe_upload_name(filename: str | None) -> str:
    """An uploaded file's name made safe to store: its last path part, characters outside ``[A-Za-z0-9._-]``
    replaced, the stem cut to `MAX_UPLOAD_STEM` characters (the suffix, which picks the loader, kept)."""
    base = Path(filename or "upload").name
    suffix = _SAFE_NAME.sub("_", Path(base).suffix)[:16]
    stem = _SAFE_NAME.sub("_", base[: len(base) - len(Path(base).suffix)]).strip("._")
    return f"{stem[:MAX_UPLOAD_STEM].rstrip('._') or 'upload'}{suffix}"


@functools.lru_cache(maxsize=16)
def experiment_splits(info: DatasetInfo, seed: int) -> ExperimentSplits:
    """The splits of one experiment: a pure function of the dataset and the seed (cached per process)."""
    spec = info.spec
    try:
        data = load_experiment_data(
            info.id if info.source == "builtin" else str(info.path),
            label_column=info.label_column,
            table_schema=spec.table,
            image_size=spec.input_shape[-1] if spec.is_image else DEFAULT_IMAGE_SIZE,
            test_fraction=TEST_FRACTION,
            seed=seed,
            limits=DataLimits.unlimited(),  # checked at upload
            name=spec.name,
        )
    except DatasetError as exc:
        raise InvalidInput(f"stored dataset {info.id} no longer loads: {exc}") from None
    train, test, scaler = data.train, data.test, data.standardizer
    root_idx, pool = carve_root(train.y, seed)
    return ExperimentSplits(train.subset(pool), test, train.subset(root_idx), scaler)
