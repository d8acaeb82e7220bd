"""The experiment's table schema, shipped as data, and the one function that applies it to a table.

Provisioning fixes a `TableSchema` from the uploaded table (`workers.tables.plan_schema`) and re-fits its
statistics on the experiment's training split: feature order, each column's kind, category vocabularies,
imputation values, scaling statistics and class names. It is a JSON document (never a pickled
transformer): the orchestrator records it and serves it in every node's task, and every node runs
`apply_schema` with it on its own file, so all nodes encode their data the same way.

Encoding, per kept column in schema order:
  numeric      one feature: (value - mean) / std, missing cells imputed with the training median first;
  boolean      one feature: 1.0 true, 0.0 false, missing cells imputed with the training mode;
  categorical  one-hot over the vocabulary plus a final "unknown" bucket that catches every category the
               vocabulary does not hold; missing cells are imputed with the training mode.
Labels are mapped to class ids by name; a label outside the classes is an error naming it, a missing
label drops the row with a warning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from workers.dataset_errors import DatasetError

SCHEMA_VERSION = 1
UNKNOWN_BUCKET = "<unknown>"  # the name of each categorical column's last one-hot feature
TRUE_TOKENS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_TOKENS = frozenset({"false", "f", "no", "n", "0"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NumericColumn(_Frozen):
    """A number per row, standardized with training statistics."""

    name: str
    kind: Literal["numeric"] = "numeric"
    impute: float  # the training median, put in missing cells
    mean: float  # of the training split, after imputation
    std: float  # same; 1.0 when the column is constant in training, so it passes unchanged


class BooleanColumn(_Frozen):
    """true / false (also yes / no, y / n, t / f, 1 / 0), as 1.0 / 0.0."""

    name: str
    kind: Literal["boolean"] = "boolean"
    impute: bool  # the training mode, put in missing cells


class CategoricalColumn(_Frozen):
    """Text categories, one-hot over `vocabulary` plus the unknown bucket."""

    name: str
    kind: Literal["categorical"] = "categorical"
    vocabulary: tuple[str, ...]  # sorted; anything else goes to the unknown bucket
    impute: str  # the training mode, put in missing cells


Column = Annotated[NumericColumn | BooleanColumn | CategoricalColumn, Field(discriminator="kind")]


class DroppedColumn(_Frozen):
    """A column the schema does not use, and why (an identifier, a constant, excluded by the user...)."""

    name: str
    reason: str


class TableSchema(_Frozen):
    """Everything a node needs to turn its own table into the experiment's feature matrix."""

    version: Literal[1] = 1  # SCHEMA_VERSION
    label_column: str
    class_names: tuple[str, ...]  # class_names[i] is the label text of class id i
    columns: tuple[Column, ...]  # the kept columns, in feature order
    dropped: tuple[DroppedColumn, ...] = ()

    @property
    def feature_names(self) -> tuple[str, ...]:
        """One name per encoded feature: a column's name, or 'column=category' for one-hot features."""
        names: list[str] = []
        for column in self.columns:
            if isinstance(column, CategoricalColumn):
                names.extend(f"{column.name}={v}" for v in (*column.vocabulary, UNKNOWN_BUCKET))
            else:
                names.append(column.name)
        return tuple(names)

    @property
    def width(self) -> int:
        return len(self.feature_names)


@dataclass
class EncodedTable:
    """A table encoded with a schema: features, labels, and what was done to get there."""

    x: np.ndarray  # (N, width) float32
    y: np.ndarray  # (N,) int64 class ids
    warnings: list[str] = field(default_factory=list)
    imputed: dict[str, int] = field(default_factory=dict)  # column -> missing cells filled
    unknown: dict[str, int] = field(default_factory=dict)  # categorical column -> cells sent to the bucket
    rows_without_label: int = 0


def apply_schema(
    frame: pd.DataFrame, schema: TableSchema, *, file: str = "table", rows: np.ndarray | None = None
) -> EncodedTable:
    """`frame` encoded exactly as the schema says, or a DatasetError naming the column, row or value.

    `rows` (positions) encodes only those rows, one column at a time, never copying the frame.
    """
    present = set(frame.columns)
    wanted = [c.name for c in schema.columns]
    missing = [name for name in [*wanted, schema.label_column] if name not in present]
    if missing:
        raise DatasetError(
            f"{file}: missing column{'s' if len(missing) > 1 else ''} {names_of(missing)} "
            f"that the experiment's schema needs (columns found: {names_of(list(frame.columns))})"
        )
    warnings: list[str] = []
    known = {*wanted, schema.label_column, *(d.name for d in schema.dropped)}
    extra = [str(c) for c in frame.columns if c not in known]
    if extra:
        warnings.append(
            f"{file}: ignoring column{'s' if len(extra) > 1 else ''} {names_of(extra)}: not in the schema"
        )

    label_codes, label_names = text_codes(frame[schema.label_column], label=True)
    keep = np.arange(len(frame)) if rows is None else np.asarray(rows)
    has_label = label_codes[keep] >= 0
    dropped_rows = int((~has_label).sum())
    if dropped_rows:
        warnings.append(f"{file}: {dropped_rows} rows have no {schema.label_column!r} label and are left out")
        keep = keep[has_label]
    label_codes = label_codes[keep]
    index = {name: i for i, name in enumerate(schema.class_names)}
    outside = sorted(name for name in label_names if name not in index)
    if outside:
        raise DatasetError(
            f"{file}: label{'s' if len(outside) > 1 else ''} {names_of(outside)} in column "
            f"{schema.label_column!r} {'are' if len(outside) > 1 else 'is'} not among the experiment's "
            f"classes {names_of(list(schema.class_names))}"
        )
    y = np.array([index[name] for name in label_names], dtype=np.int64)[label_codes]

    n = len(keep)
    whole = n == len(frame)
    x = np.zeros((n, schema.width), dtype=np.float32)
    out = EncodedTable(x, y, warnings, rows_without_label=dropped_rows)
    at = 0
    for column in schema.columns:
        series = frame[column.name] if whole else frame[column.name].iloc[keep]
        if isinstance(column, NumericColumn):
            values, filled = numeric_values(series, file)
            x[:, at] = (
                (np.where(np.isnan(values), column.impute, values) - column.mean) / column.std
            ).astype(np.float32)
            at += 1
        elif isinstance(column, BooleanColumn):
            truth, filled = boolean_values(series, file)
            x[:, at] = np.where(np.isnan(truth), float(column.impute), truth)
            at += 1
        else:
            codes, names = text_codes(series)
            filled = int((codes < 0).sum())
            vocabulary = {v: k for k, v in enumerate(column.vocabulary)}
            bucket = len(column.vocabulary)
            lookup = np.array(
                [vocabulary.get(name, bucket) for name in names] + [vocabulary.get(column.impute, bucket)],
                dtype=np.int64,
            )
            slots = lookup[codes]  # code -1 (missing) picks the last entry: the imputed category
            unknown = int((slots[codes >= 0] == bucket).sum())
            if unknown:
                out.unknown[column.name] = unknown
                warnings.append(
                    f"{file}: {unknown} cells of {column.name!r} hold categories the experiment does not know "
                    f"({names_of(sorted(n for n in names if n not in vocabulary))}): encoded as unknown"
                )
            x[np.arange(n), at + slots] = 1.0
            at += bucket + 1
        if filled:
            out.imputed[column.name] = filled
    return out


# ------------------------------------------------------------------- cell readers, shared with inference


def text_codes(series: pd.Series, *, label: bool = False) -> tuple[np.ndarray, list[str]]:
    """Each cell's index into a list of distinct trimmed texts, -1 for a missing or blank cell.

    Texts are canonical: booleans 'true' / 'false', whole floats without '.0'; with `label`, text that
    reads as a whole number too ('3.0' -> '3'). Only the distinct values are converted, so a million rows
    of a few categories cost one pass of pandas' factorize.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    convert = _label_text if label else _one_cell_text
    index: dict[str, int] = {}
    remap = np.full(len(uniques) + 1, -1, dtype=np.int64)  # the last entry maps code -1 to -1
    for i, value in enumerate(uniques):
        text = convert(value)
        if text:
            remap[i] = index.setdefault(text, len(index))
    return remap[codes], list(index)


def cell_text(series: pd.Series) -> list[str | None]:
    """A few cells as canonical text, None for a missing one (previews)."""
    codes, names = text_codes(series)
    return [names[c] if c >= 0 else None for c in codes]


def numeric_values(series: pd.Series, file: str) -> tuple[np.ndarray, int]:
    """A column as float64 with NaN for missing cells, and how many were missing; text or Inf is an error."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        parsed = pd.to_numeric(series, errors="coerce")
        values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
        codes, names = text_codes(series)
        bad = np.isnan(values) & (codes >= 0)
        if bad.any():
            row = int(np.argmax(bad))
            raise DatasetError(
                f"{file}: column {series.name!r} is numeric in the schema, but data row {row + 1} "
                f"holds {names[codes[row]]!r}"
            )
    infinite = np.isinf(values)
    if infinite.any():
        row = int(np.argmax(infinite))
        raise DatasetError(f"{file}: column {series.name!r} holds an infinite value at data row {row + 1}")
    return values, int(np.isnan(values).sum())


def boolean_values(series: pd.Series, file: str) -> tuple[np.ndarray, int]:
    """A column as 1.0 / 0.0 with NaN for missing cells; a cell that is neither true nor false is an error."""
    codes, names = text_codes(series)
    truth_of = [
        1.0 if n.lower() in TRUE_TOKENS else 0.0 if n.lower() in FALSE_TOKENS else -1.0 for n in names
    ]
    values = np.array([*truth_of, np.nan], dtype=np.float64)[codes]
    bad = values < 0
    if bad.any():
        row = int(np.argmax(bad))
        raise DatasetError(
            f"{file}: column {series.name!r} is boolean in the schema, but data row {row + 1} holds "
            f"{names[codes[row]]!r} (expected true/false, yes/no, y/n, t/f or 1/0)"
        )
    return values, int(np.isnan(values).sum())


def class_order(names: Sequence[str]) -> list[str]:
    """Class names in class-id order: numeric when every name is an integer, text order otherwise."""
    if all(n.lstrip("-").isdigit() for n in names):
        return sorted(names, key=int)
    return sorted(names)


def _one_cell_text(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating) and math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _label_text(value: object) -> str:
    text = _one_cell_text(value)
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if math.isfinite(number) and number.is_integer() else text


def names_of(items: Sequence[object]) -> str:
    """A short list of names for a message: at most 12, quoted."""
    shown = ", ".join(repr(str(i)) for i in items[:12])
    return f"[{shown}{', ...' if len(items) > 12 else ''}]"
