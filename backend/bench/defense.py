"""Defense bench: FedShield's screening against Flower's aggregators, attack by attack, on digits.

Every cell runs the same simulation (20 nodes, same partition, same seeds, same attackers) and changes
only what happens between decoding the updates and applying their aggregate: FedShield screens and then
averages what it accepts; the peers are Flower's own aggregation functions over every update
(``flwr.server.strategy.aggregate``: FedAvg [McMahan et al., 2017], Krum and Multi-Krum [Blanchard et al.,
2017], coordinate-wise median and trimmed mean [Yin et al., 2018]), given the true number of attackers.
Trajectories differ per defense, so nothing is shared between cells; runs spread over ``workers``
processes instead.

Cost. The full grid is 396 simulations of 20 rounds x 20 nodes (2 partitions x (clean + 5 attacks x 2
attacker shares) x 6 defenses x 3 seeds): about 14 minutes on two idle cores with two workers (28 measured on
a shared, loaded machine); ``--quick`` (48 simulations of 8 rounds) about 45 seconds.

Detection TPR / FPR are per round, pooled over rounds (a constant cohort makes that the mean of the
per-round rates), from the attack's first round, and from round 5 for label flipping (which needs a model
that has learned something to invert). They are only meaningful for FedShield: the peers reject nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.detection import DefenseConfig
from backend.simulation import ExperimentConfig, SimulationResult, run_simulation
from workers.attacks import AttackConfig

ATTACKS: dict[str, AttackConfig] = {
    "none": AttackConfig(),
    "sign_flip_x1": AttackConfig(kind="sign_flip", scale=1.0),
    "sign_flip_x4": AttackConfig(kind="sign_flip", scale=4.0),
    "gaussian_s1": AttackConfig(kind="gaussian", sigma=1.0),
    "gaussian_norm": AttackConfig(kind="gaussian", norm_matched=True),
    "label_flip": AttackConfig(kind="label_flip", flip_fraction=1.0),
}
DEFENSES = ("fedshield", "fedavg", "krum", "multi_krum", "median", "trimmed_mean")
PARTITIONS = ("iid", "dirichlet")
FRACTIONS = (0.3, 0.45)
NUM_NODES = 20
LABEL_FLIP_FROM_ROUND = 5
# Targets at 30% malicious: (accuracy points below clean FedAvg, min TPR, max FPR)
TARGETS: dict[str, tuple[float, float, float]] = {
    "sign_flip_x1": (2.0, 0.99, 0.01),
    "sign_flip_x4": (2.0, 0.99, 0.01),
    "gaussian_s1": (2.0, 0.99, 0.01),
    "gaussian_norm": (2.0, 0.99, 0.01),
    "label_flip": (3.0, 0.90, 0.05),
}


@dataclass(frozen=True)
class BenchRun:
    """One simulation of the grid."""

    attack: str
    partition: str
    malicious_fraction: float
    defense: str
    seed: int
    rounds: int


@dataclass(frozen=True)
class RunMetrics:
    run: BenchRun
    final_accuracy: float
    tp: int
    fn: int
    fp: int
    tn: int
    seconds: float


@dataclass(frozen=True)
class BenchRow:
    """A cell of the grid, averaged over seeds; tpr / fpr are None where not meaningful."""

    attack: str
    partition: str
    malicious_fraction: float
    defense: str
    final_accuracy: float
    tpr: float | None
    fpr: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "attack": self.attack,
            "partition": self.partition,
            "malicious_fraction": self.malicious_fraction,
            "defense": self.defense,
            "final_accuracy": self.final_accuracy,
            "tpr": self.tpr,
            "fpr": self.fpr,
        }


# ------------------------------------------------------------------------------------ Flower's aggregators


def _flower_results(updates: np.ndarray, counts: np.ndarray) -> list[tuple[list[np.ndarray], int]]:
    return [([row], int(n)) for row, n in zip(updates, counts, strict=True)]


def flower_peer(name: str, num_malicious: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Flower's aggregation function ``name`` over flattened updates, told the true attacker count."""
    from flwr.server.strategy.aggregate import (
        aggregate,
        aggregate_krum,
        aggregate_median,
        aggregate_trimmed_avg,
    )

    def peer(updates: np.ndarray, counts: np.ndarray) -> np.ndarray:
        results = _flower_results(updates, counts)
        n = len(results)
        if name == "fedavg":
            return aggregate(results)[0]
        if name == "krum":
            return aggregate_krum(results, num_malicious=num_malicious, to_keep=0)[0]
        if name == "multi_krum":
            return aggregate_krum(results, num_malicious=num_malicious, to_keep=n - num_malicious)[0]
        if name == "median":
            return aggregate_median(results)[0]
        if name == "trimmed_mean":
            cut = min(max(num_malicious / n, 0.1), 0.45)  # cut at least the attackers from each end
            return aggregate_trimmed_avg(results, proportiontocut=cut)[0]
        raise ValueError(f"unknown peer aggregator {name!r}")

    return peer


# ----------------------------------------------------------------------------------------------- running


def experiment_for(run: BenchRun) -> ExperimentConfig:
    malicious = round(run.malicious_fraction * NUM_NODES)
    return ExperimentConfig(
        dataset="digits",
        num_nodes=NUM_NODES,
        partition="iid" if run.partition == "iid" else "dirichlet",
        alpha=0.5,
        rounds=run.rounds,
        malicious=malicious,
        attack=ATTACKS[run.attack],
        defense=DefenseConfig(enabled=run.defense == "fedshield"),
        seed=run.seed,
    )


def detection_counts(result: SimulationResult, attack: str) -> tuple[int, int, int, int]:
    """(tp, fn, fp, tn) pooled over the rounds that count for this attack."""
    first = LABEL_FLIP_FROM_ROUND if attack == "label_flip" else 1
    rounds = [r for r in result.rounds if r.round >= first]
    return (
        sum(r.tp for r in rounds),
        sum(r.fn for r in rounds),
        sum(r.fp for r in rounds),
        sum(r.tn for r in rounds),
    )


def execute(run: BenchRun) -> RunMetrics:
    """One simulation of the grid (a top-level function, so worker processes can run it)."""
    config = experiment_for(run)
    peer = None if run.defense == "fedshield" else flower_peer(run.defense, len(config.malicious_nodes()))
    started = time.perf_counter()
    result = run_simulation(config, peer_aggregate=peer)
    tp, fn, fp, tn = detection_counts(result, run.attack)
    return RunMetrics(run, result.final_accuracy, tp, fn, fp, tn, time.perf_counter() - started)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def grid(
    *,
    seeds: int,
    rounds: int,
    attacks: Sequence[str] = tuple(ATTACKS),
    partitions: Sequence[str] = PARTITIONS,
    fractions: Sequence[float] = FRACTIONS,
    defenses: Sequence[str] = DEFENSES,
) -> list[BenchRun]:
    """Every run of the grid; the clean reference ("none") once per partition, at fraction 0."""
    runs = []
    for attack in attacks:
        for partition in partitions:
            for fraction in (0.0,) if attack == "none" else fractions:
                for defense in defenses:
                    runs += [BenchRun(attack, partition, fraction, defense, s, rounds) for s in range(seeds)]
    return runs


def quick_grid() -> list[BenchRun]:
    """About a minute on two cores: one seed, 8 rounds, 30% attackers, four attacks."""
    return grid(
        seeds=1, rounds=8, attacks=("none", "sign_flip_x4", "gaussian_norm", "label_flip"), fractions=(0.3,)
    )


def run_grid(
    runs: Sequence[BenchRun], *, workers: int = 1, on_done: Callable[[RunMetrics], None] | None = None
) -> list[RunMetrics]:
    """Runs every simulation, across ``workers`` processes; results in the order of ``runs``."""
    if workers <= 1:
        _init_worker()
        done = []
        for run in runs:
            done.append(execute(run))
            if on_done is not None:
                on_done(done[-1])
        return done
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
        futures = [pool.submit(execute, run) for run in runs]
        done = []
        for future in futures:
            done.append(future.result())
            if on_done is not None:
                on_done(done[-1])
        return done


def summarize(metrics: Iterable[RunMetrics]) -> list[BenchRow]:
    """Cells averaged over seeds, in grid order."""
    cells: dict[tuple[str, str, float, str], list[RunMetrics]] = {}
    for m in metrics:
        cells.setdefault((m.run.attack, m.run.partition, m.run.malicious_fraction, m.run.defense), []).append(
            m
        )
    rows = []
    for (attack, partition, fraction, defense), ms in cells.items():
        ours = defense == "fedshield"
        tprs = [m.tp / (m.tp + m.fn) for m in ms if m.tp + m.fn]
        fprs = [m.fp / (m.fp + m.tn) for m in ms if m.fp + m.tn]
        rows.append(
            BenchRow(
                attack,
                partition,
                fraction,
                defense,
                float(np.mean([m.final_accuracy for m in ms])),
                float(np.mean(tprs)) if ours and tprs else None,
                float(np.mean(fprs)) if ours and fprs else None,
            )
        )
    return rows


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


# ----------------------------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class TargetCheck:
    attack: str
    partition: str
    what: str  # "accuracy vs clean FedAvg", "TPR", "FPR", "at or above every Flower aggregator"
    value: str
    target: str
    met: bool


def check_targets(rows: Sequence[BenchRow]) -> list[TargetCheck]:
    """The brief's targets at 30% malicious, cell by cell, for the rows present."""
    by_key = {(r.attack, r.partition, r.malicious_fraction, r.defense): r for r in rows}
    checks: list[TargetCheck] = []
    for r in rows:
        if r.defense != "fedshield" or r.attack not in TARGETS or abs(r.malicious_fraction - 0.3) > 1e-9:
            continue
        gap, min_tpr, max_fpr = TARGETS[r.attack]
        clean = by_key.get(("none", r.partition, 0.0, "fedavg"))
        if clean is not None:
            drop = 100 * (clean.final_accuracy - r.final_accuracy)
            checks.append(
                TargetCheck(r.attack, r.partition, "accuracy vs clean FedAvg", f"-{drop:.1f} pts",
                            f"within {gap:.0f} pts", drop <= gap)
            )  # fmt: skip
        if r.tpr is not None:
            checks.append(
                TargetCheck(r.attack, r.partition, "TPR", f"{r.tpr:.3f}", f">= {min_tpr}", r.tpr >= min_tpr)
            )
        if r.fpr is not None:
            checks.append(
                TargetCheck(r.attack, r.partition, "FPR", f"{r.fpr:.3f}", f"<= {max_fpr}", r.fpr <= max_fpr)
            )
        peers = [
            p for p in rows if (p.attack, p.partition, p.malicious_fraction) == (r.attack, r.partition, 0.3)
        ]
        best = max(
            (p for p in peers if p.defense != "fedshield"), key=lambda p: p.final_accuracy, default=None
        )
        if best is not None:
            checks.append(
                TargetCheck(r.attack, r.partition, "at or above every Flower aggregator",
                            f"{r.final_accuracy:.3f} vs {best.defense} {best.final_accuracy:.3f}", ">=",
                            r.final_accuracy >= best.final_accuracy - 1e-9)
            )  # fmt: skip
    return checks


# ------------------------------------------------------------------------------------------------ output


def render_table(rows: Sequence[BenchRow], title: str) -> Any:
    """A rich table: one line per (attack, partition, fraction); accuracy per defense, our TPR / FPR."""
    from rich.table import Table

    table = Table(title=title)
    for name in ("attack", "partition", "malicious", "FedShield acc", "TPR", "FPR"):
        table.add_column(name, justify="right" if name not in ("attack", "partition") else "left")
    peers = [d for d in DEFENSES if d != "fedshield" and any(r.defense == d for r in rows)]
    for name in peers:
        table.add_column(name, justify="right")
    cells: dict[tuple[str, str, float], dict[str, BenchRow]] = {}
    for r in rows:
        cells.setdefault((r.attack, r.partition, r.malicious_fraction), {})[r.defense] = r
    for (attack, partition, fraction), by_defense in cells.items():
        ours = by_defense.get("fedshield")
        line = [attack, partition, f"{fraction:.0%}"]
        line += [f"{ours.final_accuracy:.3f}" if ours else "-", _rate(ours.tpr if ours else None)]
        line += [_rate(ours.fpr if ours else None)]
        line += [f"{by_defense[p].final_accuracy:.3f}" if p in by_defense else "-" for p in peers]
        table.add_row(*line)
    return table


def render_targets(checks: Sequence[TargetCheck]) -> Any:
    from rich.table import Table

    table = Table(title="Targets at 30% malicious")
    for name in ("attack", "partition", "target", "measured", "wanted", "met"):
        table.add_column(name)
    for c in checks:
        table.add_row(
            c.attack, c.partition, c.what, c.value, c.target, "[green]yes[/]" if c.met else "[red]no[/]"
        )
    return table


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
