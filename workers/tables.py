"""Tables (CSV, TSV, Parquet) read with pandas / pyarrow within limits, profiled, and turned into a schema.

`read_table` bounds what it reads before reading it: the file's bytes, the Parquet metadata's uncompressed
size, the header's column count and (by reading at most `max_rows + 1` rows) the row count. `profile_table`
infers each column's kind (numeric, boolean, categorical with its vocabulary, or dropped with the reason:
empty, constant, identifier, free text, unsupported type, excluded), counts missing cells and the class
balance: what the dashboard's preview shows. `plan_schema` turns a profile into the experiment's
`TableSchema`, and `fit_schema` re-learns its statistics (imputation values, scaling) from a training split.
"""

from __future__ import annotations

import codecs
import csv
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel

from workers.data_limits import DataLimits, checked_file_size
from workers.dataset_errors import DatasetError, DatasetTooLarge
from workers.table_schema import (
    FALSE_TOKENS,
    TRUE_TOKENS,
    BooleanColumn,
    CategoricalColumn,
    Column,
    DroppedColumn,
    NumericColumn,
    TableSchema,
    boolean_values,
    cell_text,
    class_order,
    names_of,
    numeric_values,
    text_codes,
)

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")
MAX_CATEGORIES = 50  # a text column with more distinct values is free text, not a category
MAX_CLASSES = 100  # a label column with more distinct values is not a classification target
MIN_ROWS_FOR_IDENTIFIER = 20  # below this, all-distinct values are as likely categories as identifiers
LABEL_NAMES = ("label", "target", "class", "y", "outcome", "diagnosis")  # guessed label columns, in order
NA_VALUES = ["?"]  # on top of pandas' defaults ("", "NA", "N/A", "NaN", "null", "None", ...)
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class TableFile:
    """A table as read, and how it was read."""

    frame: pd.DataFrame
    name: str  # the file's name, for messages
    format: Literal["csv", "parquet"]
    encoding: str | None = None  # CSV only
    delimiter: str | None = None  # CSV only


class CategoryCount(BaseModel):
    value: str
    count: int


class ColumnProfile(BaseModel):
    """One column of a previewed table."""

    name: str
    kind: Literal["numeric", "boolean", "categorical", "label", "dropped"]
    reason: str | None = None  # dropped columns: why
    missing: int  # empty cells
    distinct: int  # distinct filled values
    top: list[CategoryCount] = []  # categorical, boolean and label columns: the most frequent values
    vocabulary_size: int | None = None  # categorical: categories kept (the rest go to the unknown bucket)
    minimum: float | None = None  # numeric only
    maximum: float | None = None
    mean: float | None = None


class TableProfile(BaseModel):
    """What a table holds and what the experiment would make of it: the dashboard's preview."""

    file_name: str
    format: Literal["csv", "parquet"]
    encoding: str | None
    delimiter: str | None
    rows: int
    label_column: str
    columns: list[ColumnProfile]
    class_balance: list[CategoryCount]  # per class, in class order
    rows_without_label: int
    sample_rows: list[dict[str, str | None]]  # the first few rows as text, None for an empty cell
    table_schema: TableSchema  # the schema an experiment on this table starts from
    num_features: int  # encoded width the model sees
    warnings: list[str]


# ------------------------------------------------------------------------------------------------ read


def read_table(path: str | Path, limits: DataLimits = DataLimits()) -> TableFile:
    """A .csv / .tsv / .txt / .parquet file as a DataFrame, its column names trimmed, within `limits`."""
    path = Path(path)
    checked_file_size(path, limits)
    if path.suffix.lower() in (".parquet", ".pq"):
        table = _read_parquet(path, limits)
    else:
        table = _read_csv(path, limits)
    frame = table.frame
    if len(frame) > limits.max_rows:
        raise DatasetTooLarge(f"{path.name}: more than {limits.max_rows} rows, the limit")
    if len(frame) == 0:
        raise DatasetError(f"{path.name}: no data rows below the header")
    return table


def _read_csv(path: Path, limits: DataLimits) -> TableFile:
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head.strip():
        raise DatasetError(f"{path.name}: file is empty")
    if _binary(head):
        raise DatasetError(
            f"{path.name}: not a text table: the file holds binary data, not comma-separated rows of text "
            "(export it as CSV, or upload a Parquet file as .parquet)"
        )
    encoding = _encoding(path, head)
    first = _first_line(head.decode(encoding, errors="replace"))
    if not first:
        raise DatasetError(f"{path.name}: file is empty")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else max(_DELIMITERS, key=first.count)
    header = next(csv.reader([first], delimiter=delimiter))
    header = [h.strip() for h in header]
    if len(header) > limits.max_columns:
        raise DatasetTooLarge(f"{path.name}: {len(header)} columns is over the limit of {limits.max_columns}")
    _check_header(path.name, header)
    try:
        with warnings.catch_warnings():
            # A column mixing numbers and text across pandas' read chunks comes back as objects: the kind
            # inference reads those as text, so pandas' warning about it says nothing the user can act on.
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            reader = pd.read_csv(
                path,
                sep=delimiter,
                encoding=encoding,
                nrows=limits.max_rows + 1,
                na_values=NA_VALUES,
                skipinitialspace=True,
                skip_blank_lines=True,
                header=0,
                names=header,
                chunksize=max(1, _CELLS_PER_BATCH // len(header)),
            )
            with reader:
                chunks = []
                counted = MaterializedBytes(path.name, limits.max_inflated_bytes)
                for chunk in reader:
                    counted.add(int(chunk.memory_usage(deep=True, index=False).sum()))
                    chunks.append(chunk)
            frame = pd.concat(chunks, ignore_index=True) if len(chunks) != 1 else chunks[0]
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{path.name}: file is empty") from None
    except DatasetTooLarge:
        raise
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path.name}: malformed CSV: {_csv_problem(exc)}") from None
    return TableFile(frame, path.name, "csv", encoding, delimiter)


def _read_parquet(path: Path, limits: DataLimits) -> TableFile:
    import pyarrow.parquet as pq

    # A damaged Parquet file fails in many ways (Arrow errors, OSError, bad pandas metadata JSON, invalid
    # UTF-8 in a string column, an unknown dtype name): any of them means the file cannot be used.
    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as exc:
        raise DatasetError(f"{path.name}: not a readable Parquet file ({_one_line(exc)})") from None
    if meta.num_columns > limits.max_columns:
        raise DatasetTooLarge(
            f"{path.name}: {meta.num_columns} columns is over the limit of {limits.max_columns}"
        )
    if meta.num_rows > limits.max_rows:
        raise DatasetTooLarge(f"{path.name}: {meta.num_rows} rows is over the limit of {limits.max_rows}")
    if meta.num_rows * meta.num_columns > limits.max_features:
        # Dictionary-encoded pages are tiny on disk, but every cell becomes a value in memory.
        raise DatasetTooLarge(
            f"{path.name}: {meta.num_rows} rows x {meta.num_columns} columns is over the limit of "
            f"{limits.max_features} cells"
        )
    # Parquet pages are compressed: bound what they inflate to before reading any of them.
    inflated = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if inflated > limits.max_inflated_bytes:
        raise DatasetTooLarge(
            f"{path.name}: its data inflates to {inflated} bytes, over the limit of {limits.max_inflated_bytes}"
        )
    try:
        arrow = _read_parquet_counted(path, limits)
        arrow.validate(full=True)  # checks, among the rest, that every string is valid UTF-8
        frame = arrow.to_pandas()
    except DatasetTooLarge:
        raise
    except Exception as exc:
        raise DatasetError(f"{path.name}: not a readable Parquet file ({_one_line(exc)})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    _check_header(path.name, list(frame.columns))
    return TableFile(frame, path.name, "parquet")


# Cells decoded at a time: one batch stays small in memory before it is counted against the limit.
_CELLS_PER_BATCH = 1 << 20
# What pandas holds per text cell beside its characters (its Arrow-backed `str` dtype: an offset and a bit).
_TEXT_CELL_OVERHEAD = 16


@dataclass
class MaterializedBytes:
    """A running count of a table's decoded bytes: DatasetTooLarge (413) as soon as it passes `limit`."""

    file: str
    limit: int
    total: int = 0

    def add(self, nbytes: int) -> None:
        self.total += nbytes
        if self.total > self.limit:
            raise DatasetTooLarge(
                f"{self.file}: its cells take more than {self.limit} bytes once read, the limit "
                "(a compressed or dictionary-encoded file can expand far beyond its size)"
            )


def _read_parquet_counted(path: Path, limits: DataLimits) -> Any:
    """The file as an Arrow table, read batch by batch while counting what its cells will take in pandas.

    Text columns are read dictionary-encoded, so a value repeated a million times is held once while it is
    counted (its length times its repeats); they are decoded only once the total is within the limit.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    declared = pq.ParquetFile(path).schema_arrow
    plain_text = [f.name for f in declared if _is_text(pa, f.type)]
    text = {
        *plain_text,
        *(f.name for f in declared if pa.types.is_dictionary(f.type) and _is_text(pa, f.type.value_type)),
    }
    reader = pq.ParquetFile(path, read_dictionary=plain_text)
    counted = MaterializedBytes(path.name, limits.max_inflated_bytes)
    batches = []
    for batch in reader.iter_batches(batch_size=max(1, _CELLS_PER_BATCH // max(1, len(declared)))):
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if name in text:
                lengths = pc.binary_length(column.dictionary.cast(pa.large_binary()))
                counted.add(int(pc.sum(pc.take(lengths, column.indices)).as_py() or 0))
                counted.add(_TEXT_CELL_OVERHEAD * len(column))
            else:
                counted.add(column.nbytes)
        batches.append(batch)
    table = pa.Table.from_batches(batches) if batches else declared.empty_table()
    for name in plain_text if batches else ():  # back to the declared text type: decoding it fits
        index = table.schema.get_field_index(name)
        table = table.set_column(
            index, declared.field(name), table.column(index).cast(declared.field(name).type)
        )
    return table


def _is_text(pa: Any, kind: Any) -> bool:
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )


def _encoding(path: Path, head: bytes) -> str:
    """UTF-16 by its byte-order mark, else UTF-8 (BOM or not) if every byte decodes, else Windows-1252."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    return "latin-1"  # decodes any byte


def _first_line(text: str) -> str:
    for line in text.lstrip("\ufeff").splitlines():
        if line.strip():
            return line
    return ""


def _check_header(file: str, header: Sequence[str]) -> None:
    for j, name in enumerate(header):
        if not name:
            raise DatasetError(f"{file}: header column {j + 1} has no name")
    duplicates = sorted({h for h in header if list(header).count(h) > 1})
    if duplicates:
        raise DatasetError(f"{file}: duplicate header columns {names_of(duplicates)}")


# --------------------------------------------------------------------------------------------- profile


def guess_label_column(frame: pd.DataFrame) -> str:
    """A column named like a label (label, target, class, y, outcome, diagnosis), else the text column with
    the fewest distinct values (2 to MAX_CATEGORIES: "species", not a numeric "year"), else the last one."""
    columns = [str(c) for c in frame.columns]
    lowered = {c.lower(): c for c in columns}
    for name in LABEL_NAMES:
        if name in lowered:
            return lowered[name]
    categories = {}
    for column, values in zip(columns, (frame[c] for c in frame.columns), strict=True):
        if not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            distinct = values.nunique(dropna=True)
            if 2 <= distinct <= MAX_CATEGORIES:
                categories[column] = distinct
    if categories:
        return min(categories, key=lambda c: (categories[c], -columns.index(c)))  # ties: the later column
    return columns[-1]


def profile_table(
    table: TableFile,
    label_column: str | None = None,
    exclude: Sequence[str] = (),
    *,
    min_classes: int = 2,
    sample_rows: int = 5,
    limits: DataLimits = DataLimits(),
) -> TableProfile:
    """Each column's kind and counts, the classes, and the schema an experiment on this table would use."""
    frame, file = table.frame, table.name
    columns = [str(c) for c in frame.columns]
    label = label_column or guess_label_column(frame)
    if label not in columns:
        raise DatasetError(f"{file}: missing label column {label!r} (columns: {names_of(columns)})")
    unknown_excluded = [c for c in exclude if c not in columns]
    if unknown_excluded:
        raise DatasetError(f"{file}: cannot exclude {names_of(unknown_excluded)}: no such column")
    if label in exclude:
        raise DatasetError(f"{file}: the label column {label!r} cannot be excluded")
    label_codes, label_names = text_codes(frame[label], label=True)
    if len(label_names) > MAX_CLASSES:
        raise DatasetError(
            f"{file}: label column {label!r} has {len(label_names)} distinct values, more than the "
            f"{MAX_CLASSES} classes a classifier may have: is it the right column?"
        )
    class_names = class_order(label_names)
    if len(class_names) < min_classes:
        raise DatasetError(
            f"{file}: fewer than {min_classes} classes in label column {label!r}: found "
            f"{len(class_names)} ({names_of(class_names)})"
        )
    label_counts = _counts(label_codes, label_names)

    kept: list[Column] = []
    dropped: list[DroppedColumn] = []
    profiles: list[ColumnProfile] = []
    for name in columns:
        series = frame[name]
        missing = int(series.isna().sum())
        if name == label:
            top = sorted(label_counts.items(), key=lambda kv: -kv[1])[:10]
            profiles.append(
                ColumnProfile(
                    name=name,
                    kind="label",
                    missing=int((label_codes < 0).sum()),
                    distinct=len(class_names),
                    top=[CategoryCount(value=v, count=c) for v, c in top],
                )
            )
            continue
        if name in exclude:
            column: Column | DroppedColumn = DroppedColumn(name=name, reason="excluded by the user")
        else:
            column = infer_column(series, len(frame), file)
        profiles.append(_column_profile(series, column, missing))
        if isinstance(column, DroppedColumn):
            dropped.append(column)
        else:
            kept.append(column)
    if not kept:
        raise DatasetError(
            f"{file}: no usable feature columns besides label {label!r} "
            f"(dropped: {'; '.join(f'{d.name}: {d.reason}' for d in dropped) or 'none'})"
        )
    schema = TableSchema(
        label_column=label, class_names=tuple(class_names), columns=tuple(kept), dropped=tuple(dropped)
    )
    check_encoded_size(file, len(frame), schema, limits)
    warnings = []
    without_label = int((label_codes < 0).sum())
    if without_label:
        warnings.append(f"{without_label} rows have no {label!r} label and are left out")
    head = {name: cell_text(frame[name].head(sample_rows)) for name in columns}
    rows = [{name: head[name][i] for name in columns} for i in range(min(sample_rows, len(frame)))]
    return TableProfile(
        file_name=file,
        format=table.format,
        encoding=table.encoding,
        delimiter=table.delimiter,
        rows=len(frame),
        label_column=label,
        columns=profiles,
        class_balance=[CategoryCount(value=c, count=label_counts[c]) for c in class_names],
        rows_without_label=without_label,
        sample_rows=rows,
        table_schema=schema,
        num_features=schema.width,
        warnings=warnings,
    )


def infer_column(series: pd.Series, rows: int, file: str) -> Column | DroppedColumn:
    """One feature column's kind, with statistics from all of its rows (re-fit later on a training split)."""
    name = str(series.name)
    if pd.api.types.is_datetime64_any_dtype(series) or isinstance(series.dtype, pd.PeriodDtype):
        return DroppedColumn(name=name, reason="date or time: not used as a feature")
    filled = int(series.notna().sum())
    if filled == 0:
        return DroppedColumn(name=name, reason="empty: every cell is missing")
    if series.dtype == object and not all(
        isinstance(v, str | bool | int | float) for v in series.dropna().head(100)
    ):
        return DroppedColumn(
            name=name, reason=f"unsupported values of type {type(series.dropna().iloc[0]).__name__}"
        )
    numeric_dtype = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric_dtype and (series.head(1000).nunique() > 2 or series.nunique() > 2):
        return _numeric_or_row_number(series, rows, file)  # (a head look first spares a full hash table)
    raw_distinct = int(series.nunique(dropna=True))
    if not numeric_dtype and raw_distinct > 20 * MAX_CATEGORIES:
        # Too many distinct raw values to be a category: only a number column is still worth a look.
        parsed = pd.to_numeric(series, errors="coerce")
        if int(parsed.notna().sum()) == filled:
            return _numeric_or_row_number(series, rows, file)
        if raw_distinct == filled and rows >= MIN_ROWS_FOR_IDENTIFIER:
            return DroppedColumn(name=name, reason="identifier: a distinct value on every row")
        return DroppedColumn(
            name=name,
            reason=f"free text: {raw_distinct} distinct values, more than the {MAX_CATEGORIES} a category may have",
        )
    codes, names = text_codes(series)
    if not names:
        return DroppedColumn(name=name, reason="empty: every cell is blank")
    if len(names) == 1:
        return DroppedColumn(name=name, reason=f"constant: every filled cell holds {names[0]!r}")
    lowered = {n.lower() for n in names}
    if len(names) == 2 and lowered & TRUE_TOKENS and lowered & FALSE_TOKENS:
        truth, _ = boolean_values(series, file)
        return BooleanColumn(name=name, impute=bool(np.nanmean(truth) >= 0.5))
    if not pd.isna(pd.to_numeric(pd.Series(names), errors="coerce")).any():
        return _numeric_or_row_number(series, rows, file)
    if len(names) == int((codes >= 0).sum()) and rows >= MIN_ROWS_FOR_IDENTIFIER:
        return DroppedColumn(name=name, reason="identifier: a distinct value on every row")
    if len(names) > MAX_CATEGORIES:
        return DroppedColumn(
            name=name,
            reason=f"free text: {len(names)} distinct values, more than the {MAX_CATEGORIES} a category may have",
        )
    return CategoricalColumn(name=name, vocabulary=tuple(sorted(names)), impute=_mode(codes, names))


def _numeric_or_row_number(series: pd.Series, rows: int, file: str) -> NumericColumn | DroppedColumn:
    values, _ = numeric_values(series, file)
    if _is_row_number(values, rows):
        return DroppedColumn(
            name=str(series.name), reason="identifier: a row number (whole numbers counting up by 1)"
        )
    median = float(np.nanmedian(values))
    mean, std = _mean_std(np.where(np.isnan(values), median, values))
    return NumericColumn(name=str(series.name), impute=median, mean=mean, std=std)


def plan_schema(
    table: TableFile,
    label_column: str | None = None,
    exclude: Sequence[str] = (),
    *,
    min_classes: int = 2,
    limits: DataLimits = DataLimits(),
) -> TableSchema:
    """The schema of an experiment on this table (statistics from every row until `fit_schema`)."""
    profile = profile_table(
        table, label_column, exclude, min_classes=min_classes, sample_rows=0, limits=limits
    )
    return profile.table_schema


def fit_schema(
    schema: TableSchema, frame: pd.DataFrame, *, file: str = "table", rows: np.ndarray | None = None
) -> TableSchema:
    """The same columns and vocabularies, imputation and scaling re-learned from the training rows only.

    Vocabularies stay those of the whole table, so the feature layout (and the model) does not depend on
    the split; a category seen only in the test rows still has its own feature, trained as all zeros.
    `rows` (positions) are the training rows of `frame`; None means all of them.
    """
    columns: list[Column] = []
    for column in schema.columns:
        series = frame[column.name] if rows is None else frame[column.name].iloc[rows]
        if isinstance(column, NumericColumn):
            values, missing = numeric_values(series, file)
            median = float(np.nanmedian(values)) if missing < len(values) else column.impute
            mean, std = _mean_std(np.where(np.isnan(values), median, values))
            columns.append(column.model_copy(update={"impute": median, "mean": mean, "std": std}))
        elif isinstance(column, BooleanColumn):
            truth, missing = boolean_values(series, file)
            impute = bool(np.nanmean(truth) >= 0.5) if missing < len(truth) else column.impute
            columns.append(column.model_copy(update={"impute": impute}))
        else:
            codes, names = text_codes(series)
            mode = _mode(codes, names) if names else column.impute
            columns.append(column.model_copy(update={"impute": mode}))
    return schema.model_copy(update={"columns": tuple(columns)})


def check_encoded_size(file: str, rows: int, schema: TableSchema, limits: DataLimits) -> None:
    """Refuses, before allocating it, a feature matrix over `limits.max_features` cells."""
    cells = rows * schema.width
    if cells > limits.max_features:
        widest = max(
            (c for c in schema.columns if isinstance(c, CategoricalColumn)),
            key=lambda c: len(c.vocabulary),
            default=None,
        )
        hint = f"; exclude wide category columns such as {widest.name!r}" if widest is not None else ""
        raise DatasetTooLarge(
            f"{file}: {rows} rows x {schema.width} features is {cells} values, over the limit of "
            f"{limits.max_features}{hint}"
        )


# ------------------------------------------------------------------------------------------------ helpers


def _column_profile(series: pd.Series, column: Column | DroppedColumn, missing: int) -> ColumnProfile:
    name = str(series.name)
    if isinstance(column, NumericColumn):
        values, _ = numeric_values(series, "")
        filled = values[~np.isnan(values)]
        return ColumnProfile(
            name=name,
            kind="numeric",
            missing=missing,
            distinct=len(np.unique(filled)),
            minimum=float(filled.min()),
            maximum=float(filled.max()),
            mean=column.mean,
        )
    distinct = int(series.nunique(dropna=True))
    if isinstance(column, DroppedColumn):
        return ColumnProfile(
            name=name, kind="dropped", reason=column.reason, missing=missing, distinct=distinct
        )
    codes, names = text_codes(series)
    if isinstance(column, BooleanColumn):
        names = [n.lower() for n in names]
    counts = _counts(codes, names)
    top = [CategoryCount(value=v, count=c) for v, c in sorted(counts.items(), key=lambda kv: -kv[1])[:10]]
    return ColumnProfile(
        name=name,
        kind="boolean" if isinstance(column, BooleanColumn) else "categorical",
        missing=int((codes < 0).sum()),
        distinct=len(counts),
        top=top,
        vocabulary_size=len(column.vocabulary) if isinstance(column, CategoricalColumn) else None,
    )


def _counts(codes: np.ndarray, names: list[str]) -> dict[str, int]:
    """Rows per distinct text (names that differ only in case, for booleans, are added up)."""
    per_code = np.bincount(codes[codes >= 0], minlength=len(names))
    counts: dict[str, int] = {}
    for name, count in zip(names, per_code.tolist(), strict=True):
        counts[name] = counts.get(name, 0) + int(count)
    return counts


def _is_row_number(values: np.ndarray, rows: int) -> bool:
    if rows < MIN_ROWS_FOR_IDENTIFIER or np.isnan(values).any():
        return False
    return bool(np.all(values == np.round(values)) and np.all(np.diff(values) == 1))


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    mean = float(values.mean())
    std = float(values.std())
    return mean, (std if std > 1e-8 else 1.0)


def _mode(codes: np.ndarray, names: list[str]) -> str:
    """The most frequent text; ties broken by name, so the result is deterministic."""
    counts = _counts(codes, names)
    best = max(counts.values())
    return sorted(n for n, c in counts.items() if c == best)[0]


def _binary(head: bytes) -> bool:
    """Whether a file's first bytes are binary: a NUL outside UTF-16 text, or many control characters."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\0" in head:
        return True
    controls = sum(b < 32 and b not in (9, 10, 13) for b in head)
    return controls > len(head) // 20


_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _csv_problem(exc: BaseException) -> str:
    """What is wrong with the CSV in words, not the parser's ("Error tokenizing data. C error: ...")."""
    found = _FIELDS.search(str(exc))
    if found:
        expected, line, saw = found.groups()
        return f"line {line} has {saw} fields where the header has {expected}"
    if isinstance(exc, UnicodeDecodeError):
        return "some bytes are not text in any encoding tried (UTF-8, UTF-16, Windows-1252)"
    text = _one_line(exc)
    return "the rows could not be split into the header's columns" if "C error" in text else text


def _one_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
