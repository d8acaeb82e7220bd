"""``fedshield bench scale``: one JSON document with the screening rows, their ratios and the targets."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import torch
import typer
from typer.testing import CliRunner

from backend.bench.scale import render_generic
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


def test_round_rows_render_whatever_keys_they_carry() -> None:
    rows = [{"nodes": 100, "engine": "ray", "seconds": 1.25, "cpus": 2}]
    table = render_generic(rows, "One round's wall time")
    assert [c.header for c in table.columns] == ["nodes", "engine", "seconds", "cpus"]
    assert table.row_count == 1
