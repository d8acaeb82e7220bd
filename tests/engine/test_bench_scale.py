"""``fedshield bench scale``: one JSON document with the screening rows, their ratios and the targets."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import torch
import typer
from typer.testing import CliRunner

from backend.bench.scale import rounds_targets
from backend.cli.engine import register


@pytest.fixture
def app() -> Iterator[typer.Typer]:
    root, bench, attack = typer.Typer(), typer.Typer(), typer.Typer()
    root.add_typer(bench, name="bench")
    root.add_typer(attack, name="attack")
    register(root, bench, attack)
    threads = torch.get_num_threads()
    try:
        yield root
    finally:
        torch.set_num_threads(threads)  # the command sets torch's threads for the process


def test_scale_screening_prints_one_json_document(app: typer.Typer) -> None:
    args = ["bench", "scale", "--part", "screening", "--sizes", "12", "--models", "digits", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {"note", "torch_threads", "screening", "targets", "skipped"} <= set(document)
    (row,) = document["screening"]
    assert row["model"] == "digits CNN" and row["updates"] == 12 and row["parameters"] == 5450
    for key in ("floor_s", "fedshield_s", "flower_multi_krum_s", "flower_median_s", "trusted_update_s"):
        assert row[key] > 0, key
    assert row["fedshield_over_floor"] == pytest.approx(row["fedshield_s"] / row["floor_s"])
    assert row["accepted"] == 12  # honest trainings and their perturbations: none left out
    assert [t["unit"] for t in document["targets"]] == ["s", "x", "s"]
    assert all(isinstance(t["met"], bool) for t in document["targets"])


def test_scale_rounds_times_the_local_engine_against_ray(app: typer.Typer) -> None:
    args = ["bench", "scale", "--part", "rounds", "--node-counts", "8", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [(r["nodes"], r["engine"]) for r in document["rounds"]] == [(8, "local"), (8, "ray")]
    assert all(r["seconds"] > 0 and r["node_seconds"] > 0 for r in document["rounds"])
    (target,) = document["rounds_targets"]
    local, ray = (r["seconds"] for r in document["rounds"])
    assert target["value"] == pytest.approx(ray / local) and target["met"] == (ray <= local)


def test_rounds_target_reads_the_thousand_node_round() -> None:
    rows = [
        {"nodes": 100, "engine": "local", "seconds": 1.0},
        {"nodes": 100, "engine": "ray", "seconds": 2.0},
        {"nodes": 1000, "engine": "local", "seconds": 10.0},
        {"nodes": 1000, "engine": "ray", "seconds": 8.0},
    ]
    (target,) = rounds_targets(rows)
    assert target["value"] == pytest.approx(0.8) and target["met"]
    assert rounds_targets([]) == []
