"""Tables: CSV / Parquet reading within limits, column kinds, the schema and what applying it does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workers.data_limits import DataLimits
from workers.datasets import (
    DatasetError,
    DatasetSpec,
    DatasetTooLarge,
    load_experiment_data,
    load_file,
    load_for_spec,
)
from workers.table_schema import (
    BooleanColumn,
    CategoricalColumn,
    NumericColumn,
    TableSchema,
    apply_schema,
)
from workers.tables import plan_schema, profile_table, read_table

MIXED = "id,age,island,smoker,note,site,label\n" + "".join(
    f"{i},{30 + i % 40 if i % 9 else ''},{['Biscoe', 'Dream', 'Torgersen'][i % 3] if i % 11 else ''},"
    f'{"yes" if i % 2 else "no"},"{["a, b", "c"][i % 2]}",north,{"A" if (i % 3 == 0) else "B"}\n'
    for i in range(1, 61)
)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def error_of(call: object, *args: object, **kwargs: object) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value


# ------------------------------------------------------------------------------------------- reading


def test_mixed_types_get_their_kinds_and_drops_say_why(tmp_path: Path) -> None:
    profile = profile_table(read_table(write(tmp_path, "mixed.csv", MIXED)), "label")
    kinds = {c.name: (c.kind, c.reason) for c in profile.columns}
    assert kinds["age"] == ("numeric", None)
    assert kinds["island"] == ("categorical", None)
    assert kinds["smoker"] == ("boolean", None)
    assert kinds["note"] == ("categorical", None)  # quoted commas stay inside their cell
    assert kinds["id"] == ("dropped", "identifier: a row number (whole numbers counting up by 1)")
    assert kinds["site"] == ("dropped", "constant: every filled cell holds 'north'")
    assert kinds["label"][0] == "label"
    schema = profile.table_schema
    island = next(c for c in schema.columns if c.name == "island")
    assert isinstance(island, CategoricalColumn) and island.vocabulary == ("Biscoe", "Dream", "Torgersen")
    note = next(c for c in schema.columns if c.name == "note")
    assert isinstance(note, CategoricalColumn) and note.vocabulary == ("a, b", "c")
    assert schema.feature_names[:5] == (
        "age",
        "island=Biscoe",
        "island=Dream",
        "island=Torgersen",
        "island=<unknown>",
    )
    assert [c.value for c in profile.class_balance] == ["A", "B"]
    assert [c.count for c in profile.class_balance] == [20, 40]


def test_missing_cells_are_counted_and_imputed(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "mixed.csv", MIXED))
    profile = profile_table(table, "label")
    missing = {c.name: c.missing for c in profile.columns}
    assert missing["age"] == 6 and missing["island"] == 5 and missing["smoker"] == 0
    encoded = apply_schema(table.frame, profile.table_schema)
    assert encoded.imputed == {"age": 6, "island": 5}
    assert np.isfinite(encoded.x).all() and encoded.x.dtype == np.float32
    age = next(c for c in profile.table_schema.columns if isinstance(c, NumericColumn))
    row = 8  # id 9: age missing, so imputed with the median and standardized
    assert encoded.x[row, 0] == pytest.approx((age.impute - age.mean) / age.std, abs=1e-5)
    assert profile.sample_rows[0]["note"] == "c" and profile.sample_rows[0]["age"] == "31"
    assert profile_table(table, "label", sample_rows=9).sample_rows[8]["age"] is None


@pytest.mark.parametrize(
    ("encoding", "prefix"), [("utf-8-sig", ""), ("utf-16", ""), ("cp1252", ""), ("utf-8", "\n\n")]
)
def test_bom_and_other_encodings_decode(tmp_path: Path, encoding: str, prefix: str) -> None:
    text = (
        prefix
        + "ville,prix,label\n"
        + "".join(f"{['Orléans', 'Besançon'][i % 2]},{i},{i % 2}\n" for i in range(8))
    )
    table = read_table(write(tmp_path, "fr.csv", text, encoding))
    assert list(table.frame.columns) == ["ville", "prix", "label"]
    profile = profile_table(table, "label")
    city = next(c for c in profile.columns if c.name == "ville")
    assert {t.value for t in city.top} == {"Orléans", "Besançon"}


def test_semicolons_and_tabs_are_sniffed(tmp_path: Path) -> None:
    for name, sep in (("semi.csv", ";"), ("tabs.tsv", "\t")):
        text = (
            sep.join(["a", "b", "label"])
            + "\n"
            + "".join(sep.join([str(i), "x,y", str(i % 2)]) + "\n" for i in range(6))
        )
        assert list(read_table(write(tmp_path, name, text)).frame.columns) == ["a", "b", "label"]


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    assert "file is empty" in str(error_of(read_table, write(tmp_path, "empty.csv", content)))


def test_header_only(tmp_path: Path) -> None:
    assert "no data rows below the header" in str(
        error_of(read_table, write(tmp_path, "h.csv", "a,b,label\n"))
    )


def test_single_class_is_refused_for_an_experiment_but_fine_for_a_node(tmp_path: Path) -> None:
    path = write(tmp_path, "one.csv", "a,label\n1,cat\n2,cat\n3,cat\n")
    message = str(error_of(load_file, path, "label"))
    assert "fewer than 2 classes in label column 'label'" in message and "'cat'" in message
    assert load_file(path, "label", min_classes=1).spec.class_names == ("cat",)


def test_header_problems_name_the_column(tmp_path: Path) -> None:
    assert "duplicate header columns ['a']" in str(
        error_of(read_table, write(tmp_path, "d.csv", "a,a,y\n1,2,0\n"))
    )
    assert "header column 2 has no name" in str(
        error_of(read_table, write(tmp_path, "e.csv", "a,,y\n1,2,0\n"))
    )
    table = read_table(write(tmp_path, "f.csv", "a,b,y\n1,2,0\n3,4,1\n"))
    message = str(error_of(profile_table, table, "label"))
    assert "missing label column 'label'" in message and "'a', 'b', 'y'" in message
    only_label = read_table(write(tmp_path, "g.csv", "site,y\nx,0\nx,1\n"))
    assert "no usable feature columns besides label 'y'" in str(error_of(profile_table, only_label, "y"))
    assert "site: constant" in str(error_of(profile_table, only_label, "y"))


def test_malformed_rows_and_infinite_numbers_are_named(tmp_path: Path) -> None:
    ragged = write(tmp_path, "r.csv", "a,b,y\n1,2,0\n1,2,3,4\n")
    assert str(error_of(read_table, ragged)) == (
        "r.csv: malformed CSV: line 3 has 4 fields where the header has 3"
    )  # in words, not pandas' "Error tokenizing data. C error: ..."
    infinite = read_table(write(tmp_path, "i.csv", "a,y\n1,0\n-inf,1\n2,0\n"))
    assert "column 'a' holds an infinite value at data row 2" in str(error_of(profile_table, infinite, "y"))


def test_label_column_is_guessed_and_integer_labels_sort_numerically(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "g.csv", "a,Target,z\n1,10,0.5\n2,2.0,1.5\n3, 1,2.5\n4,2,3.5\n"))
    profile = profile_table(table)
    assert profile.label_column == "Target"
    assert profile.table_schema.class_names == ("1", "2", "10")


def test_label_guess_prefers_a_named_label_then_a_low_cardinality_text_column(tmp_path: Path) -> None:
    penguins = (
        "year,bill_mm,species,island_id\n2007,39.1,Adelie,1\n2008,46.5,Gentoo,2\n2009,49.6,Chinstrap,3\n"
    )
    assert profile_table(read_table(write(tmp_path, "p.csv", penguins))).label_column == "species"
    named = "species,label\nAdelie,0\nGentoo,1\nAdelie,1\n"
    assert profile_table(read_table(write(tmp_path, "n.csv", named))).label_column == "label"
    numeric = "a,b\n1,0\n2,1\n3,0\n"
    assert profile_table(read_table(write(tmp_path, "d.csv", numeric))).label_column == "b"


def test_a_binary_file_named_csv_is_refused_in_words(tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    message = str(error_of(read_table, path))
    assert message.startswith("photo.csv: not a text table: the file holds binary data")
    assert "C error" not in message and "tokenizing" not in message


def test_limits_of_bytes_rows_columns_and_features_are_too_large(tmp_path: Path) -> None:
    path = write(tmp_path, "mixed.csv", MIXED)
    assert isinstance(error_of(read_table, path, DataLimits(max_bytes=100)), DatasetTooLarge)
    assert "more than 10 rows" in str(error_of(read_table, path, DataLimits(max_rows=10)))
    assert "7 columns is over the limit of 3" in str(error_of(read_table, path, DataLimits(max_columns=3)))
    table = read_table(path)
    too_wide = error_of(profile_table, table, "label", limits=DataLimits(max_features=100))
    assert isinstance(too_wide, DatasetTooLarge) and "exclude wide category columns" in str(too_wide)


def test_excluded_columns_are_dropped_as_excluded(tmp_path: Path) -> None:
    profile = profile_table(read_table(write(tmp_path, "mixed.csv", MIXED)), "label", exclude=["note"])
    assert {d.name: d.reason for d in profile.table_schema.dropped}["note"] == "excluded by the user"
    assert "cannot be excluded" in str(
        error_of(profile_table, read_table(tmp_path / "mixed.csv"), "label", ["label"])
    )


def test_parquet_with_nulls(tmp_path: Path) -> None:
    table = pa.table(
        {
            "age": pa.array([31, None, 45, 52, 29, 61], type=pa.int64()),
            "island": pa.array(["Biscoe", "Dream", None, "Biscoe", "Dream", "Biscoe"]),
            "smoker": pa.array([True, False, None, True, False, True]),
            "label": pa.array(["A", "B", "A", "B", "A", "B"]),
        }
    )
    pq.write_table(table, tmp_path / "p.parquet")
    loaded = read_table(tmp_path / "p.parquet")
    profile = profile_table(loaded, "label")
    assert loaded.format == "parquet"
    assert {c.name: (c.kind, c.missing) for c in profile.columns} == {
        "age": ("numeric", 1),
        "island": ("categorical", 1),
        "smoker": ("boolean", 1),
        "label": ("label", 0),
    }
    encoded = apply_schema(loaded.frame, profile.table_schema)
    assert np.isfinite(encoded.x).all() and encoded.imputed == {"age": 1, "island": 1, "smoker": 1}
    too_many = error_of(read_table, tmp_path / "p.parquet", DataLimits(max_features=10))
    assert isinstance(too_many, DatasetTooLarge) and "6 rows x 4 columns" in str(too_many)
    spec = DatasetSpec.of_table("p", profile.table_schema)
    local, _ = load_for_spec(tmp_path / "p.parquet", spec)  # a node's own Parquet file
    assert local.x.shape == (6, profile.table_schema.width) and local.y.tolist() == [0, 1, 0, 1, 0, 1]
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    assert "not a readable Parquet file" in str(error_of(read_table, tmp_path / "bad.parquet"))


# ------------------------------------------------------------------------------------ applying a schema


def patients(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east"], rows)
    age = rng.normal(50, 12, rows)
    smoker = rng.random(rows) < 0.4
    score = (
        0.08 * (age - 50) + 1.2 * smoker + np.where(region == "north", 1.0, -0.5) + rng.normal(0, 0.5, rows)
    )
    return pd.DataFrame(
        {
            "age": np.where(rng.random(rows) < 0.1, np.nan, age.round()),
            "region": np.where(rng.random(rows) < 0.1, None, region),
            "smoker": np.where(smoker, "yes", "no"),
            "diagnosis": np.where(score > 0, "sick", "well"),
        }
    )


def test_a_node_file_is_encoded_with_the_experiments_schema(tmp_path: Path) -> None:
    patients(200, 1).to_csv(tmp_path / "exp.csv", index=False)
    data = load_experiment_data(tmp_path / "exp.csv", label_column="diagnosis", seed=3)
    schema = data.train.spec.table
    assert schema is not None and data.standardizer is None
    spec = DatasetSpec.from_dict(
        json.loads(json.dumps(data.train.spec.to_dict()))
    )  # as a node's task holds it
    assert spec == data.train.spec

    node = patients(40, 2)
    node.loc[0, "region"] = "islands"  # a category the experiment never saw
    node["ward"] = "B2"  # a column the experiment does not know
    node = node.rename(columns={"diagnosis": "dx"})
    node.to_csv(tmp_path / "node.csv", index=False)
    local, warnings = load_for_spec(tmp_path / "node.csv", spec, label_column="dx")
    assert local.x.shape == (40, schema.width) and local.spec == spec
    assert any("ignoring column ['ward']" in w for w in warnings)
    assert any("categories the experiment does not know (['islands'])" in w for w in warnings)
    unknown_at = schema.feature_names.index("region=<unknown>")
    assert local.x[0, unknown_at] == 1.0 and local.x[1:, unknown_at].sum() == 0


def test_node_files_that_do_not_fit_are_named(tmp_path: Path) -> None:
    patients(100, 1).to_csv(tmp_path / "exp.csv", index=False)
    spec = load_experiment_data(tmp_path / "exp.csv", label_column="diagnosis").train.spec
    patients(10, 2).drop(columns=["age"]).to_csv(tmp_path / "no_age.csv", index=False)
    message = str(error_of(load_for_spec, tmp_path / "no_age.csv", spec))
    assert "missing column ['age'] that the experiment's schema needs" in message
    odd = patients(10, 2)
    odd.loc[3, "diagnosis"] = "unsure"
    odd.to_csv(tmp_path / "odd.csv", index=False)
    message = str(error_of(load_for_spec, tmp_path / "odd.csv", spec))
    assert (
        "label ['unsure'] in column 'diagnosis' is not among the experiment's classes ['sick', 'well']"
        in message
    )
    odd = patients(10, 2)
    odd["smoker"] = odd["smoker"].astype(object)
    odd.loc[2, "smoker"] = "sometimes"
    odd.to_csv(tmp_path / "bool.csv", index=False)
    assert "column 'smoker' is boolean in the schema, but data row 3 holds 'sometimes'" in str(
        error_of(load_for_spec, tmp_path / "bool.csv", spec)
    )


def test_statistics_are_fit_on_the_training_rows_only(tmp_path: Path) -> None:
    frame = patients(300, 4)
    frame.to_csv(tmp_path / "exp.csv", index=False)
    data = load_experiment_data(tmp_path / "exp.csv", label_column="diagnosis", seed=0)
    schema = data.train.spec.table
    assert schema is not None
    age = next(c for c in schema.columns if isinstance(c, NumericColumn))
    whole = plan_schema(read_table(tmp_path / "exp.csv"), "diagnosis")
    whole_age = next(c for c in whole.columns if isinstance(c, NumericColumn))
    assert age.mean != whole_age.mean  # re-fit on 80 % of the rows
    standardized = data.train.x[:, schema.feature_names.index("age")]
    assert abs(float(standardized.mean())) < 1e-4 and abs(float(standardized.std()) - 1) < 1e-3
    smoker = next(c for c in schema.columns if isinstance(c, BooleanColumn))
    assert smoker.impute is False
    assert len(data.train) + len(data.test) == 300


def test_schema_is_plain_json_with_its_version() -> None:
    schema = TableSchema(
        label_column="y",
        class_names=("a", "b"),
        columns=(
            NumericColumn(name="n", impute=1.0, mean=0.5, std=2.0),
            CategoricalColumn(name="c", vocabulary=("p", "q"), impute="p"),
        ),
    )
    text = schema.model_dump_json()
    assert json.loads(text)["version"] == 1
    assert TableSchema.model_validate_json(text) == schema
    assert schema.feature_names == ("n", "c=p", "c=q", "c=<unknown>")


_MEMORY_SCRIPT = """
import sys
from pathlib import Path
from workers.datasets import load_experiment_data

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

path = Path(sys.argv[1])
base = status("VmRSS")
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # resets the peak (VmHWM) to the current RSS
data = load_experiment_data(path, label_column="label")
print(status("VmHWM") - base, len(data.train) + len(data.test), data.train.x.shape[1])
"""


def test_a_50_mb_table_loads_within_the_memory_bound(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    cities = np.array(["Oslo", "Lima", "Pune", "Graz", "Kobe", "", "Accra, GH"])
    a, b = rng.normal(50, 10, n), rng.normal(0, 1, n)
    c = cities[rng.integers(0, len(cities), n)]
    f = np.where(rng.random(n) < 0.5, "yes", "no")
    chunk = "".join(f'{a[i]:.3f},{b[i]:.5f},"{c[i]}",{f[i]},{int(a[i] > 50)}\n' for i in range(n)).encode()
    path = tmp_path / "big.csv"
    with path.open("wb") as fh:
        fh.write(b"age,score,city,flag,label\n")
        while fh.tell() < 50_000_000:
            fh.write(chunk)
    size = path.stat().st_size
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    grown, rows, width = (int(v) for v in out.stdout.split())
    assert rows > 1_400_000 and width == 1 + 1 + 7 + 1  # age, score, six cities + unknown, flag
    # The table as pandas holds it (~1.6x the file), the float32 features (~1.2x) and the encoding's
    # transient columns; the bound keeps a regression (a copy of the table, a float64 matrix) visible.
    assert grown < 10 * size, f"peak grew by {grown / size:.1f}x the file"


def test_tables_are_counted_as_they_are_read_and_refused_past_the_limit(tmp_path: Path) -> None:
    text = tmp_path / "short-text.csv"  # two-character cells: tiny on disk, a Python object each in memory
    text.write_text("a,b,label\n" + "xy,zw,0\n" * 20_000)
    limits = DataLimits(max_inflated_bytes=300_000)
    with pytest.raises(DatasetTooLarge, match="once read"):
        read_table(text, limits)
    assert len(read_table(text, DataLimits()).frame) == 20_000
    repeated = tmp_path / "repeated.parquet"
    column = pa.DictionaryArray.from_arrays(pa.array([0] * 400, pa.int32()), pa.array(["v" * 10_000]))
    pq.write_table(pa.table({"note": column, "label": [0, 1] * 200}), repeated, store_schema=False)
    with pytest.raises(DatasetTooLarge, match="once read"):
        read_table(repeated, limits)
    frame = read_table(repeated, DataLimits()).frame
    assert frame["note"].iloc[-1] == "v" * 10_000  # decoded back to text, as the file declared it
    assert not isinstance(frame["note"].dtype, pd.CategoricalDtype)
