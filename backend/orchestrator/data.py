"""Datasets the orchestrator knows: the bundled ones and uploads, and each experiment's splits.

The orchestrator keeps the held-out test split (to evaluate every aggregated model) and a small clean root
set carved from the training split before partitioning (``workers.task.carve_root``: no node trains on
it); simulated nodes recompute their own share of the remaining pool from the task's `simulation` block,
exactly as `experiment_splits` does.
"""

from __future__ import annotations

import functools
import re
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from backend.db.base import SessionFactory
from backend.db.models import DatasetRow
from backend.orchestrator.errors import InvalidInput, NotFound
from workers.datasets import (
    BUILTIN_DATASETS,
    Dataset,
    DatasetError,
    DatasetSpec,
    Standardizer,
    fit_standardizer,
    load_builtin,
    load_builtin_split,
    load_file,
    split_train_test,
)
from workers.task import carve_root

TEST_FRACTION = 0.2  # share of every dataset the orchestrator keeps for evaluation
UPLOAD_SUFFIXES = (".csv", ".npz")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_DATASET_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


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
class ExperimentSplits:
    """What the orchestrator holds for one experiment."""

    train: Dataset  # the nodes' pool, partitioned among them (never used by the orchestrator to train)
    test: Dataset  # held out: every aggregated model is evaluated on it
    root: Dataset  # the defense's small clean root set, carved before partitioning: no node trains on it
    standardizer: Standardizer | None


class DatasetCatalog:
    """Bundled datasets plus uploads (files in ``upload_dir``, indexed in the database)."""

    def __init__(self, sessions: SessionFactory, upload_dir: Path) -> None:
        self._sessions = sessions
        self._upload_dir = upload_dir
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

    def upload(self, filename: str, content: bytes, label_column: str | None) -> DatasetInfo:
        """Validates an uploaded CSV / NPZ with the dataset loader and stores it; InvalidInput says why not."""
        if label_column is not None and any(ord(c) < 32 for c in label_column):
            raise InvalidInput("label_column must not contain control characters")
        name = _SAFE_NAME.sub("_", Path(filename or "upload").name).strip("._") or "upload"
        suffix = Path(name).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise InvalidInput(f"{name}: unsupported file type {suffix or '(none)'!r}, expected .csv or .npz")
        with tempfile.TemporaryDirectory(dir=self._upload_dir) as tmp:
            path = Path(tmp) / name
            path.write_bytes(content)
            try:
                ds = load_file(path, label_column or None)
                split_train_test(ds, test_fraction=TEST_FRACTION)  # enough samples per class to hold some out
            except DatasetError as exc:
                raise InvalidInput(str(exc)) from None
            dataset_id = f"upload-{secrets.token_hex(4)}"
            stored = f"{dataset_id}{suffix}"
            shutil.move(str(path), self._upload_dir / stored)
        row = DatasetRow(
            id=dataset_id,
            name=ds.spec.name,
            file_name=stored,
            label_column=label_column or None,
            spec=ds.spec.to_dict(),
            num_samples=len(ds),
        )
        with self._sessions() as session:
            session.add(row)
            session.commit()
        return self._info(row)

    # -- experiment splits ------------------------------------------------------------------------------

    def splits(self, dataset_id: str, seed: int) -> ExperimentSplits:
        """Train / test / root splits for an experiment on ``dataset_id`` seeded with ``seed`` (cached)."""
        return experiment_splits(self.get(dataset_id), seed)


@functools.lru_cache(maxsize=16)
def experiment_splits(info: DatasetInfo, seed: int) -> ExperimentSplits:
    """The splits of one experiment: a pure function of the dataset and the seed (cached per process)."""
    if info.source == "builtin":
        data = load_builtin_split(info.id, test_fraction=TEST_FRACTION, seed=seed)
        train, test, scaler = data.train, data.test, data.standardizer
    else:
        assert info.path is not None
        try:
            full = load_file(info.path, info.label_column)
        except DatasetError as exc:
            raise InvalidInput(f"stored dataset {info.id} no longer loads: {exc}") from None
        train, test = split_train_test(full, test_fraction=TEST_FRACTION, seed=seed)
        scaler = None if train.spec.is_image else fit_standardizer(train)
        if scaler is not None:
            train, test = scaler.apply(train), scaler.apply(test)
    root_idx, pool = carve_root(train.y, seed)
    return ExperimentSplits(train.subset(pool), test, train.subset(root_idx), scaler)
