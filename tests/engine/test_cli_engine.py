"""The engine's commands through a throwaway Typer app, the way the lead's CLI will mount them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from backend.bench.defense import (
    BenchRun,
    attack_grid,
    check_targets,
    execute,
    gauge_point,
    render_rows,
    summarize,
)
from backend.cli.engine import register
from workers.attacks import AttackConfig


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
    assert data["outcome"] in ("excluded", "slashed") and data["rule"] in ("norm", "direction")
    assert {c["rule"] for c in data["checks"]} >= {"norm", "direction", "quiet_energy"}


def test_every_attack_kind_runs_from_the_cli(app: typer.Typer) -> None:
    for kind in ("alie", "ipm", "min_max", "backdoor", "free_rider"):
        result = CliRunner().invoke(
            app, ["run", "--nodes", "5", "--rounds", "1", "--malicious", "1", "--attack", kind]
        )
        assert result.exit_code == 0, (kind, result.output)


def test_bench_cells_and_rows() -> None:
    runs = attack_grid(rounds=2, datasets=("digits",), attacks=("sign_flip",), fractions=(0.3,),
                       partitions=("iid",), peers=("median",))  # fmt: skip
    assert runs == [
        BenchRun("attacks", "digits", "iid", "default", "none", 0.0, "fedavg", 0, 2),
        BenchRun("attacks", "digits", "iid", "default", "sign_flip", 0.3, "fedshield", 0, 2),
        BenchRun("attacks", "digits", "iid", "default", "sign_flip", 0.3, "median", 0, 2),
    ]
    rows = summarize([execute(run) for run in runs])
    _, ours, median = (r.to_dict() for r in rows)
    assert {"final_accuracy", "honest_slashes", "honest_exclusion_rate", "attacker_slash_rate",
            "attacker_exclusion_rate", "backdoor_success"} <= set(ours)  # fmt: skip
    assert ours["honest_slashes"] == 0 and ours["attacker_caught_rate"] is not None
    assert median["attacker_caught_rate"] is None and median["defense"] == "median"
    assert render_rows(rows, "t").row_count == 3
    whats = {c.what for c in check_targets(rows)}
    assert {"accuracy vs clean FedAvg", "at or above every Flower aggregator", "honest slashes"} <= whats


def test_a_gauge_point_compares_the_probe_with_the_launch() -> None:
    point = gauge_point("gaussian", AttackConfig(kind="gaussian", sigma=1.0), warmup=1, attack_rounds=3)
    assert point.predicted == "slashed" and point.launched == "slashed" and point.agree
