"""The engine's commands through a throwaway Typer app, the way the lead's CLI will mount them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from backend.bench.defense import BenchRun, check_targets, execute, grid, render_table, summarize
from backend.cli_engine import register


@pytest.fixture
def app() -> typer.Typer:
    root, bench, attack = typer.Typer(), typer.Typer(), typer.Typer()
    root.add_typer(bench, name="bench")
    root.add_typer(attack, name="attack")
    register(root, bench, attack)
    return root


def test_run_writes_json_and_csv(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    args = [
        "run",
        "--nodes",
        "6",
        "--rounds",
        "2",
        "--malicious",
        "2",
        "--attack",
        "sign_flip",
        "--scale",
        "4",
    ]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert len(data["rounds"]) == 2 and data["config"]["num_nodes"] == 6
    assert data["rounds"][-1]["tp"] == 2 and data["rounds"][-1]["verdicts"][0]["features"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "r.csv")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [r["round"] for r in rows] == ["1", "2"] and rows[0]["tp"] == "2"


def test_run_refuses_other_output_formats(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", "--nodes", "5", "--rounds", "1", "--out", str(tmp_path / "r.txt")]
    )
    assert result.exit_code != 0


def test_attack_probe_json(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["attack", "probe", "--attack", "sign_flip", "--scale", "4", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["accepted"] is False and data["rule"] == "root_alignment"


def test_bench_cells_and_rows() -> None:
    runs = grid(seeds=1, rounds=2, attacks=("sign_flip_x4",), partitions=("iid",), fractions=(0.3,),
                defenses=("fedshield", "median"))  # fmt: skip
    assert runs == [
        BenchRun("sign_flip_x4", "iid", 0.3, "fedshield", 0, 2),
        BenchRun("sign_flip_x4", "iid", 0.3, "median", 0, 2),
    ]
    rows = summarize([execute(run) for run in runs])
    ours, median = (r.to_dict() for r in rows)
    assert set(ours) == {
        "attack",
        "partition",
        "malicious_fraction",
        "defense",
        "final_accuracy",
        "tpr",
        "fpr",
    }
    assert ours["tpr"] == 1.0 and ours["fpr"] == 0.0
    assert median["tpr"] is None and median["defense"] == "median"
    assert render_table(rows, "t").row_count == 1
    assert [c.what for c in check_targets(rows)] == ["TPR", "FPR", "at or above every Flower aggregator"]
