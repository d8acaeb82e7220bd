"""Scale bench: screening plus aggregation of 100 and 1,000 updates, against Flower and the bandwidth floor.

The orchestrator's figure is what ``backend.engine.rounds.close_round`` runs between decoding the cohort
and evaluating the new model (``screen_cohort``, then ``shield.aggregate_verdicts``), with the product's
defaults (``DefenseConfig()``, ``DEFAULT_TRAIN``, the 100-sample root set): root-set logits of every
``w + Δ_i``, every screening feature, the verdicts, the bounded-influence FedAvg of the accepted updates.
The trusted root update is one training on the root set per round whatever the cohort's size; it is
trained before timing (the engine caches it per round) and reported on its own.

Beside it, on the same ``(n, d)`` float32 matrix: Flower's own Multi-Krum and coordinate-wise median
(``flwr.server.strategy.aggregate``: Multi-Krum [Blanchard et al., 2017], median [Yin et al., 2018]), and one
numpy pass over the matrix (``matrix.sum(axis=0)``), the memory-bandwidth floor every figure is divided by.

Updates: a few real local trainings from the experiment's initial model (honest nodes, product defaults),
then cheap perturbations of them (a random honest row, rescaled by a log-normal factor and nudged towards
another) to fill the cohort; the output says how many rows are real.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
import torch
import typer
from rich.console import Console
from rich.table import Table

from backend.bench.defense import flower_results
from backend.bench.render import table_of
from backend.engine.rounds import EngineSetup, screen_cohort, trusted_update
from backend.engine.shield import aggregate_verdicts
from backend.engine.simulation import ExperimentConfig, prepare
from workers.models import ModelSpec, build_model, num_parameters
from workers.task import ROOT_SLOT, round_seed
from workers.tensors import Weights, flatten, layout_size, state_of, tensor_layout
from workers.training import train_local
from workers.wire import encode_tensors, model_hash

SIZES = (100, 1000)
ROUND_SIZES = (100, 1000, 5000)  # nodes of the round wall-time part
REAL_TRAININGS = 24  # real local trainings per model; the other rows perturb them
SCREEN_TARGET_S = 1.0  # issue #10: 1,000 digits-CNN updates screened and aggregated in at most 1 s
FLOOR_TARGET_RATIO = 20.0  # ... and within 20x of one numpy pass over the matrix
# At least 1M parameters: breast cancer's MLP widened to two 1,024-unit hidden layers (the product's own
# MLP spec, wider): 30 * 1024 + 1024 * 1024 + 1024 * 2 weights and biases, 1.08M parameters.
WIDE_MLP_HIDDEN = (1024, 1024)
MEDIAN_COLUMNS = 1 << 16  # coordinates per block of Flower's median
LARGE_MATRIX = 1 << 28  # values of a cohort matrix timed once rather than best of three
MEMORY_SHARE = 0.4  # a cohort matrix may take at most this share of the memory available now


@dataclass(frozen=True)
class BenchModel:
    """A model the bench screens updates of."""

    key: str  # its name on the command line
    name: str
    dataset: str
    hidden: tuple[int, ...] | None  # None: the product's default model for the dataset


MODELS = (
    BenchModel("digits", "digits CNN", "digits", None),
    BenchModel("wide", "1M-parameter MLP", "breast_cancer", WIDE_MLP_HIDDEN),
)
MODEL_KEYS = tuple(model.key for model in MODELS)


@dataclass(frozen=True)
class Cohort:
    """One round's updates for the bench, and what the engine needs to screen them."""

    setup: EngineSetup
    global_weights: Weights
    updates: np.ndarray  # (n, d) float32
    num_samples: list[int]
    real: int  # rows that are real trainings; the rest are perturbations of them


def model_setup(model: BenchModel, seed: int = 0) -> tuple[EngineSetup, Weights, list[tuple[Any, Any]]]:
    """The product's engine setup for ``model`` (its dataset, root set, defaults), its initial weights and
    the node shards the real trainings use."""
    state = prepare(ExperimentConfig(dataset=model.dataset, num_nodes=REAL_TRAININGS, rounds=1, seed=seed))
    setup, template = state.setup, state.template
    if model.hidden is not None:
        spec = ModelSpec(setup.spec.kind, setup.spec.input_shape, setup.spec.num_classes, model.hidden)
        setup = replace(setup, spec=spec)
        template = state_of(build_model(spec, seed=seed))
    return setup, template, state.node_data


def build_cohort(model: BenchModel, size: int, seed: int = 0) -> Cohort:
    """``size`` updates: real honest trainings, then perturbations of them (see the module docstring)."""
    setup, weights, shards = model_setup(model, seed)
    real = min(size, len(shards))
    trained = [
        train_local(setup.spec, weights, x, y, setup.train, seed=round_seed(seed, 1, node))
        for node, (x, y) in enumerate(shards[:real])
    ]
    d = layout_size(tensor_layout(weights))
    updates = np.empty((size, d), dtype=np.float32)
    counts = [0] * size
    for i, result in enumerate(trained):
        updates[i] = flatten(result.delta)
        counts[i] = result.num_samples
    rng = np.random.default_rng(seed)
    for i in range(real, size):
        a, b = rng.integers(0, real, size=2)
        scale = np.float32(np.exp(rng.normal(0.0, 0.1)))
        mix = np.float32(rng.uniform(0.0, 0.2))
        np.multiply(updates[a], scale * (1 - mix), out=updates[i])
        updates[i] += (scale * mix) * updates[b]
        counts[i] = counts[a]
    return Cohort(setup, weights, updates, counts, real)


def timed(run: Callable[[], object], repeats: int) -> float:
    """The best wall time of ``repeats`` calls, in seconds (the least disturbed by the other tenants)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def flower_multi_krum(updates: np.ndarray, counts: Sequence[int], num_malicious: int) -> np.ndarray:
    """Flower's Multi-Krum [Blanchard et al., 2017], keeping ``n - f`` updates."""
    from flwr.server.strategy.aggregate import aggregate_krum

    n = len(updates)
    result: np.ndarray = aggregate_krum(
        flower_results(updates, counts), num_malicious=num_malicious, to_keep=n - num_malicious
    )[0]
    return result


def flower_median(updates: np.ndarray, counts: Sequence[int]) -> np.ndarray:
    """Flower's coordinate-wise median [Yin et al., 2018], on blocks of ``MEDIAN_COLUMNS`` coordinates.

    The median is coordinate-wise, so the blocks give Flower's answer exactly; whole, Flower would stack
    and partition copies of the matrix (three times its size at once: 13 GB at 1,000 x 1M)."""
    from flwr.server.strategy.aggregate import aggregate_median

    d = updates.shape[1]
    parts = [
        aggregate_median(flower_results(updates[:, start : start + MEDIAN_COLUMNS], counts))[0]
        for start in range(0, d, MEDIAN_COLUMNS)
    ]
    return np.concatenate(parts)


@dataclass(frozen=True)
class ScreeningRow:
    """One model and cohort size: every figure in seconds, and each over the floor."""

    model: str
    parameters: int
    updates: int
    real_updates: int
    accepted: int
    floor_s: float  # one numpy pass over the (n, d) matrix
    fedshield_s: float  # screening plus aggregation, the product's code path
    flower_multi_krum_s: float
    flower_multi_krum_estimated: bool  # extrapolated (n^2) from a smaller cohort: too slow to run
    flower_median_s: float
    trusted_update_s: float  # the one root-set training per round, outside fedshield_s

    def ratio(self, seconds: float) -> float:
        return seconds / self.floor_s if self.floor_s > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row.update(
            fedshield_over_floor=self.ratio(self.fedshield_s),
            flower_multi_krum_over_floor=self.ratio(self.flower_multi_krum_s),
            flower_median_over_floor=self.ratio(self.flower_median_s),
        )
        return row


def screening_row(
    model: BenchModel, size: int, *, repeats: int = 3, krum_budget_s: float = 120.0, seed: int = 0
) -> ScreeningRow:
    """Times the product's screening plus aggregation and its peers on one cohort."""
    cohort = build_cohort(model, size, seed)
    setup, weights, updates, counts = cohort.setup, cohort.global_weights, cohort.updates, cohort.num_samples
    base_hash = model_hash(encode_tensors(weights))
    assert setup.root is not None
    root_x, root_y = setup.root
    seed_ = round_seed(setup.seed, 1, ROOT_SLOT)
    trusted_s = timed(lambda: train_local(setup.spec, weights, root_x, root_y, setup.train, seed=seed_), 1)
    trusted_update(setup, weights, 1, base_hash)  # the engine's per-round cache, as a round has it
    ids = list(range(size))

    def fedshield() -> Any:  # what close_round runs between decoding the cohort and evaluating the model
        verdicts = screen_cohort(setup, weights, 1, updates, counts, ids, None, base_hash=base_hash)
        return verdicts, aggregate_verdicts(updates, counts, verdicts, setup.defense)

    verdicts, _ = fedshield()
    num_malicious = int(setup.defense.aggregator_malicious_fraction * size)
    krum_s, estimated = _flower_krum_seconds(updates, counts, num_malicious, krum_budget_s)
    return ScreeningRow(
        model=model.name,
        parameters=num_parameters(build_model(setup.spec)),
        updates=size,
        real_updates=cohort.real,
        accepted=sum(v.accepted for v in verdicts),
        floor_s=timed(lambda: updates.sum(axis=0), repeats),
        fedshield_s=timed(fedshield, repeats),
        flower_multi_krum_s=krum_s,
        flower_multi_krum_estimated=estimated,
        flower_median_s=timed(lambda: flower_median(updates, counts), 1),
        trusted_update_s=trusted_s,
    )


def _flower_krum_seconds(
    updates: np.ndarray, counts: Sequence[int], num_malicious: int, budget_s: float
) -> tuple[float, bool]:
    """Flower's Multi-Krum time on the matrix, or, where a probe on fewer rows predicts more than
    ``budget_s``, that probe's time scaled by ``(n / rows)^2`` (its pairwise distances are a Python loop
    over all n^2 pairs)."""
    n = len(updates)
    probe = min(n, 50)
    probe_s = timed(lambda: flower_multi_krum(updates[:probe], counts[:probe], num_malicious * probe // n), 1)
    predicted = probe_s * (n / probe) ** 2
    if probe == n:
        return probe_s, False
    if predicted > budget_s:
        return predicted, True
    return timed(lambda: flower_multi_krum(updates, counts, num_malicious), 1), False


def digits_target(rows: Sequence[ScreeningRow]) -> list[dict[str, Any]]:
    """The issue's screening targets at 1,000 digits-CNN updates (or the largest cohort measured)."""
    digits = [r for r in rows if r.model == MODELS[0].name]
    if not digits:
        return []
    row = max(digits, key=lambda r: r.updates)
    return [
        _target(
            f"screening + aggregation of {row.updates} digits updates", row.fedshield_s, SCREEN_TARGET_S, "s"
        ),
        _target("... over the bandwidth floor", row.ratio(row.fedshield_s), FLOOR_TARGET_RATIO, "x"),
        _target("... against Flower's Multi-Krum", row.fedshield_s, row.flower_multi_krum_s, "s"),
    ]


def _target(name: str, value: float, limit: float, unit: str, *, note: str | None = None) -> dict[str, Any]:
    """One target of the JSON document and the targets table; ``note`` defaults to how far a miss is."""
    met = value <= limit
    if note is None:
        note = "" if met else f" by {value / limit:.1f}x"
    return {"target": name, "value": value, "limit": limit, "unit": unit, "met": met, "note": note}


def available_memory() -> int:
    """Bytes of memory available now (the machine is shared: what others hold is not ours)."""
    try:
        with open("/proc/meminfo") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def screening_part(
    sizes: Sequence[int] = SIZES, models: Sequence[BenchModel] = MODELS, *, repeats: int = 3
) -> tuple[list[ScreeningRow], list[str]]:
    """Every model at every size whose matrix fits in ``MEMORY_SHARE`` of the memory available; and a
    line for each one skipped."""
    rows, skipped = [], []
    for model in models:
        _, weights, _ = model_setup(model)
        d = layout_size(tensor_layout(weights))
        for size in sizes:
            need, free = size * d * 4, available_memory()
            if need > MEMORY_SHARE * free:
                skipped.append(f"{model.name} x {size}: its matrix needs {need / 2**30:.1f} GiB, "
                               f"{free / 2**30:.1f} GiB is free")  # fmt: skip
                continue
            big = size * d > LARGE_MATRIX  # one timing of a large cohort is long enough to be steady
            rows.append(screening_row(model, size, repeats=1 if big else repeats))
    return rows, skipped


def rounds_part(sizes: Sequence[int] = ROUND_SIZES) -> list[dict[str, Any]]:
    """One round's wall time, local engine against Ray (``backend.bench.rounds``, the Ray scale-out's)."""
    from backend.bench.rounds import round_wall_times  # imported when asked for: it needs the ray extra

    rows: list[dict[str, Any]] = round_wall_times(sizes=sizes)
    return rows


def rounds_targets(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue #10: a 1,000-node (or the largest measured) round on a local Ray no slower than the local engine."""
    seconds = {(r["nodes"], r["engine"]): float(r["seconds"]) for r in rows}
    sizes = sorted({n for n, _ in seconds if (n, "local") in seconds and (n, "ray") in seconds})
    if not sizes:
        return []
    n = 1000 if 1000 in sizes else sizes[-1]
    ratio = seconds[(n, "ray")] / seconds[(n, "local")]
    note = f" (Ray {ratio:.2f}x the local time)"
    return [_target(f"Ray round at {n:,} nodes / local engine's", ratio, 1.0, "x", note=note)]


def render_rounds(rows: Sequence[dict[str, Any]]) -> Table:
    local = {r["nodes"]: float(r["seconds"]) for r in rows if r["engine"] == "local"}
    table = Table(title="One simulated round (the steady second round): local engine against Ray")
    for column in ("nodes", "engine", "CPUs", "round", "node side", "close_round", "set-up", "vs local"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    for r in rows:
        base = local.get(r["nodes"])
        table.add_row(
            f"{r['nodes']:,}", r["engine"], str(r["cpus"]), _ms(r["seconds"]), _ms(r["node_seconds"]),
            _ms(r["close_seconds"]), _ms(r["setup_seconds"]),
            f"{r['seconds'] / base:.2f}x" if base else "-",
        )  # fmt: skip
    return table


def render_screening(rows: Sequence[ScreeningRow], threads: int) -> Table:
    table = Table(
        title=f"Screening + aggregation (best of 3, once for the largest; torch on {threads} thread(s); "
        "x: over the numpy floor)"
    )
    for column in ("model", "params", "updates (real)", "accepted", "floor", "FedShield", "Flower Multi-Krum",
                   "Flower median", "trusted update"):  # fmt: skip
        table.add_column(column, justify="left" if column == "model" else "right")
    for r in rows:
        krum = f"{_ms(r.flower_multi_krum_s)} ({r.ratio(r.flower_multi_krum_s):.0f}x)"
        table.add_row(
            r.model,
            f"{r.parameters:,}",
            f"{r.updates:,} ({r.real_updates})",
            f"{r.accepted:,}",
            _ms(r.floor_s),
            f"{_ms(r.fedshield_s)} ({r.ratio(r.fedshield_s):.0f}x)",
            krum + (" est." if r.flower_multi_krum_estimated else ""),
            f"{_ms(r.flower_median_s)} ({r.ratio(r.flower_median_s):.0f}x)",
            _ms(r.trusted_update_s),
        )
    return table


def render_targets(targets: Sequence[dict[str, Any]]) -> Table:
    def amount(value: float, unit: str) -> str:
        return f"{value:.2f} s" if unit == "s" else f"{value:.2f}x"

    rows = (
        (t["target"], amount(t["value"], t["unit"]), amount(t["limit"], t["unit"]),
         "[green]met[/]" if t["met"] else f"[red]missed[/]{t['note']}")
        for t in targets
    )  # fmt: skip
    return table_of("Targets (issue #10)", ("target", "measured", "limit", "met"), rows)


def _ms(seconds: float) -> str:
    """Three significant figures, in ms below a second."""
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:,.0f} s"


class ScalePart(StrEnum):
    screening = "screening"
    rounds = "rounds"
    all = "all"


UPDATES_NOTE = (
    f"Updates: {REAL_TRAININGS} real local trainings per model (honest nodes, product defaults); the other "
    "rows rescale one of them by a log-normal factor (sigma 0.1) and mix in up to 20% of another."
)


def scale_command(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document instead of tables."),
    part: ScalePart = typer.Option(
        ScalePart.all, help="screening, rounds (local engine against Ray), or all."
    ),
    sizes: str = typer.Option(
        ",".join(map(str, SIZES)), hidden=True, help="Cohort sizes of the screening part, comma-separated."
    ),
    models: str = typer.Option(
        ",".join(MODEL_KEYS),
        hidden=True,
        help="Models of the screening part, comma-separated keys.",
    ),
    node_counts: str = typer.Option(
        ",".join(map(str, ROUND_SIZES)), hidden=True, help="Node counts of the rounds part, comma-separated."
    ),
    threads: int = typer.Option(1, min=1, help="Torch threads (1: the steadiest on two shared cores)."),
) -> None:
    """Screening + aggregation at 100 and 1,000 updates against Flower and the memory-bandwidth floor;
    one round's wall time, local engine against Ray."""
    torch.set_num_threads(threads)
    console = Console(width=None if Console().is_terminal else 150)
    document: dict[str, Any] = {"note": UPDATES_NOTE, "torch_threads": threads}
    if part in (ScalePart.screening, ScalePart.all):
        counts = [int(n) for n in sizes.split(",") if n.strip()]
        with console.status("screening cohorts", spinner="dots") if not json_output else nullcontext():
            chosen = [m for m in MODELS if m.key in models.split(",")]
            rows, skipped = screening_part(counts, chosen)
        document["screening"] = [r.to_dict() for r in rows]
        document["skipped"] = skipped
        document["targets"] = digits_target(rows)
        if not json_output:
            console.print(render_screening(rows, threads))
            console.print(render_targets(document["targets"]))
            console.print(UPDATES_NOTE)
            for line in skipped:
                console.print(f"skipped: {line}")
    if part in (ScalePart.rounds, ScalePart.all):
        counts = [int(n) for n in node_counts.split(",") if n.strip()]
        try:
            with console.status("simulated rounds", spinner="dots") if not json_output else nullcontext():
                document["rounds"] = rounds_part(counts)
        except ModuleNotFoundError as exc:  # the ray extra is not installed: say so, keep the screening part
            document["rounds"] = []
            document["rounds_unavailable"] = f"{exc}: pip install '.[ray]'"
        document["rounds_targets"] = rounds_targets(document["rounds"])
        if not json_output:
            if document["rounds"]:
                console.print(render_rounds(document["rounds"]))
                console.print(render_targets(document["rounds_targets"]))
            else:
                console.print(f"rounds part unavailable: {document['rounds_unavailable']}")
    if json_output:
        typer.echo(json.dumps(document, indent=2))
