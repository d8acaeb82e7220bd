"""Defense bench: the shield's three outcomes against Flower's aggregators, through the one round engine.

Every run is ``backend.engine.simulation.run_simulation``, whose orchestrator side is
``backend.engine.rounds.close_round``, the function the service's round runner calls, with the product's
defaults (``DefenseConfig()``, ``DEFAULT_TRAIN``) unless a cell names another local training. Three parts:

- **honest**: no attacker at all, over the local-training grid ``TRAIN_GRID`` (epochs 1-5, batches 16-128,
  learning rates 0.01-0.1, SGD with and without momentum, Adam) x IID, Dirichlet 0.5 and 0.1 x digits
  and breast cancer: honest slashes (the target is none), honest exclusion rate, accuracy against FedAvg
  on the same rounds;
- **attacks**: every attack at 30% and 45% of the nodes, IID and Dirichlet 0.5, FedShield against
  Flower's own aggregation functions over every update (``flwr.server.strategy.aggregate``: FedAvg
  [McMahan et al., 2017], Krum and Multi-Krum [Blanchard et al., 2017], coordinate-wise median and trimmed
  mean [Yin et al., 2018], Bulyan [El Mhamdi et al., 2018] where n >= 4f + 3), told the true attacker count;
- **gauge**: each attack's intensity swept; the Attack Lab's prediction (``backend.engine.probe.probe_attack``)
  against the outcome of launching that attack, and how often they agree.

Outcome rates count an attacker's attacking node-rounds (label flipping attacks from round 5, once the
model has learned something to invert); ``slashed_by_3`` is the share of attackers slashed by their third
attacking round, ``slash_after_3`` the share of their later attacking rounds that slashed them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from backend.engine.probe import SUSTAINED_ROUNDS, build_reference, launched_outcome, probe_attack
from backend.engine.shield import DefenseConfig, Outcome
from backend.engine.simulation import (
    ExperimentConfig,
    RoundResult,
    SimulationResult,
    collect_submissions,
    prepare,
    run_round,
    run_simulation,
)
from workers.attacks import AttackConfig, backdoor_success
from workers.tensors import unflatten
from workers.training import DEFAULT_TRAIN, TrainConfig
from workers.wire import WireError

NUM_NODES = 20
# The suite the shield is judged on: sklearn's three small sets, and real data no one here wrote (5,000
# MNIST digits, the Palmer penguins, the UCI census table), shipped by registry packages.
DATASETS = ("digits", "breast_cancer", "wine", "mnist", "penguins", "adult")
QUICK_DATASETS = ("digits", "mnist", "penguins")  # an image set of each size and a real table
LABEL_FLIP_FROM_ROUND = 5  # 1-based: the attack starts once the model has learned something to invert
ATTACKS: dict[str, AttackConfig] = {
    "sign_flip": AttackConfig(kind="sign_flip"),
    "gaussian_s1": AttackConfig(kind="gaussian", sigma=1.0),
    "gaussian_norm": AttackConfig(kind="gaussian", norm_matched=True),
    "label_flip": AttackConfig(kind="label_flip", start_round=LABEL_FLIP_FROM_ROUND - 1),
    "alie": AttackConfig(kind="alie"),
    "ipm_0.5": AttackConfig(kind="ipm", epsilon=0.5),
    "ipm_100": AttackConfig(kind="ipm", epsilon=100.0),
    "min_max": AttackConfig(kind="min_max"),
    "min_sum": AttackConfig(kind="min_sum"),
    "fang_trim": AttackConfig(kind="fang_trim"),
    "backdoor": AttackConfig(kind="backdoor"),
    # the adaptive backdoor: its update scaled to 1.5x the round's median honest norm
    "backdoor_capped": AttackConfig(kind="backdoor", norm_cap=1.5),
    "free_rider": AttackConfig(kind="free_rider"),
}
GROSS_ATTACKS = ("sign_flip", "gaussian_s1", "label_flip", "ipm_100", "backdoor")
QUICK_ATTACKS = ("sign_flip", "label_flip", "alie", "backdoor_capped")
PEERS = ("fedavg", "krum", "multi_krum", "median", "trimmed_mean", "bulyan")
TRAIN_GRID: dict[str, TrainConfig] = {
    "default": DEFAULT_TRAIN,
    "e1-b16-sgd": TrainConfig(epochs=1, batch_size=16, lr=0.1, momentum=0.0),
    "e5-b16-momentum": TrainConfig(epochs=5, batch_size=16, lr=0.05, momentum=0.9),
    "e5-b128-sgd": TrainConfig(epochs=5, batch_size=128, lr=0.1, momentum=0.0),
    "e3-b64-lr0.01": TrainConfig(epochs=3, batch_size=64, lr=0.01, momentum=0.9),
    "e2-b32-adam": TrainConfig(epochs=2, batch_size=32, lr=0.01, optimizer="adam", momentum=0.0),
}
PARTITIONS: dict[str, tuple[str, float]] = {
    "iid": ("iid", 0.5),
    "dirichlet_0.5": ("dirichlet", 0.5),
    "dirichlet_0.1": ("dirichlet", 0.1),
}
GAUGE_SWEEP: dict[str, tuple[AttackConfig, ...]] = {
    "sign_flip": tuple(AttackConfig(kind="sign_flip", scale=s) for s in (0.25, 1.0, 4.0)),
    "gaussian": tuple(AttackConfig(kind="gaussian", sigma=s) for s in (0.001, 0.01, 0.1, 1.0)),
    "label_flip": tuple(AttackConfig(kind="label_flip", flip_fraction=f) for f in (0.3, 0.6, 1.0)),
    "alie": tuple(AttackConfig(kind="alie", z=z) for z in (0.5, 1.5)),
    "ipm": tuple(AttackConfig(kind="ipm", epsilon=e) for e in (0.5, 100.0)),
    "min_max": (AttackConfig(kind="min_max"),),
    "backdoor": tuple(AttackConfig(kind="backdoor", boost=b) for b in (1.0, float(NUM_NODES))),
    "free_rider": (AttackConfig(kind="free_rider"),),
}


@dataclass(frozen=True)
class BenchRun:
    """One simulation of the grid."""

    part: str  # "honest" | "attacks"
    dataset: str
    partition: str  # a key of PARTITIONS
    train: str  # a key of TRAIN_GRID
    attack: str  # "none" or a key of ATTACKS
    malicious_fraction: float
    defense: str  # "fedshield" or a peer
    seed: int
    rounds: int


@dataclass(frozen=True)
class RunMetrics:
    """What one run measured; rates are None where they do not apply."""

    run: BenchRun
    final_accuracy: float
    honest_node_rounds: int
    honest_slashed: int
    honest_excluded: int
    attacker_node_rounds: int  # attacking node-rounds
    attackers_excluded: int
    attackers_slashed: int
    attackers_accepted: int
    slashed_by_3: float | None  # share of attackers slashed by their third attacking round
    slash_after_3: float | None  # share of attacking rounds after the third that slashed
    backdoor_success: float | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("run"))
        return data


# ------------------------------------------------------------------------------------ Flower's aggregators


def flower_results(
    updates: np.ndarray, counts: Sequence[int] | np.ndarray
) -> list[tuple[list[np.ndarray], int]]:
    """Flattened updates as Flower's aggregation functions take them: one (one-layer weights, count) each."""
    return [([row], int(n)) for row, n in zip(updates, counts, strict=True)]


def flower_peer(name: str, num_malicious: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Flower's aggregation function ``name`` over flattened updates, told the true attacker count."""
    from flwr.server.strategy.aggregate import (
        aggregate,
        aggregate_bulyan,
        aggregate_krum,
        aggregate_median,
        aggregate_trimmed_avg,
    )

    def peer(updates: np.ndarray, counts: np.ndarray) -> np.ndarray:
        results = flower_results(updates, counts)
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
        if name == "bulyan":
            return aggregate_bulyan(results, num_malicious=num_malicious, aggregation_rule=aggregate_krum,
                                    num_malicious_for_rule=num_malicious, to_keep=0)[0]  # fmt: skip
        raise ValueError(f"unknown peer aggregator {name!r}")

    return peer


def peer_applies(name: str, num_nodes: int, num_malicious: int) -> bool:
    """Bulyan needs n >= 4f + 3 [El Mhamdi et al., 2018]; the others run on any cohort."""
    return name != "bulyan" or num_nodes >= 4 * num_malicious + 3


# ----------------------------------------------------------------------------------------------- running


def experiment_for(run: BenchRun) -> ExperimentConfig:
    scheme, alpha = PARTITIONS[run.partition]
    return ExperimentConfig(
        dataset=run.dataset,
        num_nodes=NUM_NODES,
        partition=scheme,  # type: ignore[arg-type]
        alpha=alpha,
        rounds=run.rounds,
        train=TRAIN_GRID[run.train],
        malicious=round(run.malicious_fraction * NUM_NODES),
        attack=ATTACKS[run.attack] if run.attack != "none" else AttackConfig(),
        # A peer's run screens nothing: no shield, so nothing to calibrate either.
        defense=DefenseConfig() if run.defense == "fedshield" else DefenseConfig(enabled=False),
        seed=run.seed,
    )


def measure(run: BenchRun, result: SimulationResult, seconds: float) -> RunMetrics:
    """Outcome counts of one run, from its verdicts and ground truth."""
    honest = [0, 0, 0]  # node-rounds, slashed, excluded
    attackers = [0, 0, 0, 0]  # attacking node-rounds, excluded, slashed, accepted
    per_attacker: dict[int, list[Outcome]] = {}
    for r in result.rounds:
        for verdict, attacking in zip(r.verdicts, r.attacking, strict=True):
            if attacking:
                per_attacker.setdefault(verdict.index, []).append(verdict.outcome)
                attackers[0] += 1
                attackers[1] += verdict.outcome is Outcome.EXCLUDED
                attackers[2] += verdict.outcome is Outcome.SLASHED
                attackers[3] += verdict.outcome is Outcome.ACCEPTED
            elif verdict.index not in result.config.malicious_nodes():
                honest[0] += 1
                honest[1] += verdict.outcome is Outcome.SLASHED
                honest[2] += verdict.outcome is Outcome.EXCLUDED
    ours = run.defense == "fedshield" and per_attacker
    by_3 = [Outcome.SLASHED in seq[:3] for seq in per_attacker.values()] if ours else []
    after = [o is Outcome.SLASHED for seq in per_attacker.values() for o in seq[3:]] if ours else []
    success = None
    if run.attack.startswith("backdoor") and result.final_weights.size:
        state = prepare(result.config)
        weights = unflatten(np.asarray(result.final_weights), state.template)
        assert state.setup.test is not None
        success = backdoor_success(state.spec, weights, *state.setup.test, ATTACKS[run.attack])
    return RunMetrics(
        run, result.final_accuracy, honest[0], honest[1], honest[2], attackers[0], attackers[1], attackers[2],
        attackers[3], float(np.mean(by_3)) if by_3 else None, float(np.mean(after)) if after else None, success,
        seconds,
    )  # fmt: skip


def execute(run: BenchRun) -> RunMetrics:
    """One simulation of the grid (a top-level function, so worker processes can run it).

    An undefended aggregate can blow the model up (IPM with epsilon 100 under FedAvg): the nodes' next
    updates are then NaN, which the orchestrator's intake refuses. The run ends there and counts with the
    accuracy of its last, diverged round.
    """
    config = experiment_for(run)
    peer = None if run.defense == "fedshield" else flower_peer(run.defense, len(config.malicious_nodes()))
    started = time.perf_counter()
    done: list[RoundResult] = []
    try:
        result = run_simulation(config, peer_aggregate=peer, on_round=done.append)
    except WireError:
        result = SimulationResult(config, done)
    return measure(run, result, time.perf_counter() - started)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def honest_grid(
    *, rounds: int, seeds: int = 1, datasets: Sequence[str] = DATASETS, trains: Sequence[str] = tuple(TRAIN_GRID),
    partitions: Sequence[str] = tuple(PARTITIONS),
) -> list[BenchRun]:  # fmt: skip
    """No attacker: FedShield and FedAvg on the same rounds, every local training and partition."""
    return [
        BenchRun("honest", d, p, t, "none", 0.0, defense, s, rounds)
        for d in datasets for t in trains for p in partitions for defense in ("fedshield", "fedavg")
        for s in range(seeds)
    ]  # fmt: skip


def attack_grid(
    *, rounds: int, seeds: int = 1, datasets: Sequence[str] = DATASETS, attacks: Sequence[str] = tuple(ATTACKS),
    fractions: Sequence[float] = (0.3, 0.45), partitions: Sequence[str] = ("iid", "dirichlet_0.5"),
    peers: Sequence[str] = PEERS,
) -> list[BenchRun]:  # fmt: skip
    """Every attack against FedShield and each Flower peer; the clean FedAvg reference per partition."""
    runs = []
    for d in datasets:
        for p in partitions:
            runs += [
                BenchRun("attacks", d, p, "default", "none", 0.0, "fedavg", s, rounds) for s in range(seeds)
            ]
            for a in attacks:
                for f in fractions:
                    f_nodes = round(f * NUM_NODES)
                    for defense in ("fedshield", *[q for q in peers if peer_applies(q, NUM_NODES, f_nodes)]):
                        runs += [
                            BenchRun("attacks", d, p, "default", a, f, defense, s, rounds)
                            for s in range(seeds)
                        ]
    return runs


def full_grid(datasets: Sequence[str] = DATASETS) -> list[BenchRun]:
    """The issue's suite: every task, partition and local training honest; every attack at 30% and 45%."""
    return honest_grid(rounds=20, datasets=datasets) + attack_grid(rounds=15, datasets=datasets)


def quick_grid(datasets: Sequence[str] = QUICK_DATASETS) -> list[BenchRun]:
    """A few minutes on two cores: digits, mnist and a real table, fewer rounds, 30% attackers on Dirichlet
    0.5, the attacks that were measured passing, two peers."""
    return honest_grid(rounds=10, datasets=datasets, trains=("default",), partitions=("iid", "dirichlet_0.5")) + (
        attack_grid(rounds=10, datasets=datasets, attacks=QUICK_ATTACKS, fractions=(0.3,),
                    partitions=("dirichlet_0.5",), peers=("fedavg", "median"))
    )  # fmt: skip


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


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


# ------------------------------------------------------------------------------------------------- gauge


@dataclass(frozen=True)
class GaugePoint:
    """One swept setting: what the probe predicted, what launching it did."""

    attack: str
    setting: dict[str, Any]
    predicted: str
    launched: str
    agree: bool


def gauge_point(
    attack_name: str, attack: AttackConfig, *, warmup: int = 3, attack_rounds: int = SUSTAINED_ROUNDS
) -> GaugePoint:
    """Probes ``attack`` at the round it would start, then launches it from there in simulation."""
    f = round(0.25 * NUM_NODES)
    config = ExperimentConfig(
        dataset="digits", num_nodes=NUM_NODES, partition="dirichlet", alpha=0.5, rounds=warmup + attack_rounds,
        malicious_indices=tuple(range(NUM_NODES - f, NUM_NODES)), attack=replace(attack, start_round=warmup),
    )  # fmt: skip
    state = prepare(config)
    for _ in range(warmup):
        run_round(state, collect_submissions(state))
    reference = build_reference(
        state.setup,
        unflatten(state.global_weights, state.template),
        state.node_data,
        round_=state.round_number,
    )
    predicted = probe_attack(reference, attack, num_attackers=f, omniscient=True).outcome
    first = NUM_NODES - f
    outcomes = []
    for _ in range(attack_rounds):
        result = run_round(state, collect_submissions(state))
        outcomes.append(result.verdicts[first].outcome)
    launched = launched_outcome(outcomes, config.defense.slash_window)
    setting = {k: v for k, v in attack.to_dict().items() if v != AttackConfig().to_dict().get(k)}
    return GaugePoint(attack_name, setting, predicted.value, launched.value, predicted is launched)


def gauge_sweep(sweep: dict[str, tuple[AttackConfig, ...]] = GAUGE_SWEEP) -> list[GaugePoint]:
    _init_worker()
    return [gauge_point(name, attack) for name, attacks in sweep.items() for attack in attacks]


# ----------------------------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class BenchRow:
    """A cell of the grid, pooled over seeds."""

    part: str
    dataset: str
    partition: str
    train: str
    attack: str
    malicious_fraction: float
    defense: str
    final_accuracy: float
    honest_node_rounds: int
    honest_slashes: int
    honest_exclusion_rate: float | None
    attacker_exclusion_rate: float | None  # excluded, not slashed
    attacker_slash_rate: float | None
    attacker_caught_rate: float | None  # excluded or slashed
    slashed_by_3: float | None
    slash_after_3: float | None
    backdoor_success: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(metrics: Sequence[RunMetrics]) -> list[BenchRow]:
    """Cells pooled over seeds, in grid order."""
    cells: dict[tuple[str, str, str, str, str, float, str], list[RunMetrics]] = {}
    for m in metrics:
        r = m.run
        cells.setdefault(
            (r.part, r.dataset, r.partition, r.train, r.attack, r.malicious_fraction, r.defense), []
        ).append(m)
    rows = []
    for key, ms in cells.items():
        honest = sum(m.honest_node_rounds for m in ms)
        attacking = sum(m.attacker_node_rounds for m in ms)
        ours = key[-1] == "fedshield"

        def rate(total: int, count: int, *, when: bool = True) -> float | None:
            return count / total if total and when else None

        def mean(values: list[float | None]) -> float | None:
            present = [v for v in values if v is not None]
            return float(np.mean(present)) if present else None

        part, dataset, partition, train, attack, fraction, defense = key
        rows.append(
            BenchRow(
                part, dataset, partition, train, attack, fraction, defense,
                final_accuracy=float(np.mean([m.final_accuracy for m in ms])),
                honest_node_rounds=honest,
                honest_slashes=sum(m.honest_slashed for m in ms),
                honest_exclusion_rate=rate(honest, sum(m.honest_excluded for m in ms), when=ours),
                attacker_exclusion_rate=rate(attacking, sum(m.attackers_excluded for m in ms), when=ours),
                attacker_slash_rate=rate(attacking, sum(m.attackers_slashed for m in ms), when=ours),
                attacker_caught_rate=rate(
                    attacking, sum(m.attackers_excluded + m.attackers_slashed for m in ms), when=ours
                ),
                slashed_by_3=mean([m.slashed_by_3 for m in ms]),
                slash_after_3=mean([m.slash_after_3 for m in ms]),
                backdoor_success=mean([m.backdoor_success for m in ms]),
            )
        )  # fmt: skip
    return rows


@dataclass(frozen=True)
class TargetCheck:
    what: str
    cell: str
    value: str
    target: str
    met: bool


def check_targets(rows: Sequence[BenchRow], gauge: Sequence[GaugePoint] = ()) -> list[TargetCheck]:
    """The issue's targets, for the cells present."""
    checks: list[TargetCheck] = []
    ours = [r for r in rows if r.defense == "fedshield"]
    honest = [r for r in ours if r.part == "honest"]
    if honest:
        node_rounds = sum(r.honest_node_rounds for r in honest)
        slashes = sum(r.honest_slashes for r in honest)
        checks.append(TargetCheck("honest slashes (honest grid)", f"{node_rounds} honest node-rounds",
                                  str(slashes), "0", slashes == 0))  # fmt: skip
        excluded = sum((r.honest_exclusion_rate or 0) * r.honest_node_rounds for r in honest) / max(
            node_rounds, 1
        )
        checks.append(TargetCheck("honest exclusion rate (honest grid)", "pooled", f"{excluded:.3%}", "<= 2%",
                                  excluded <= 0.02))  # fmt: skip
        fedavg = {
            (r.dataset, r.partition, r.train): r for r in rows if r.part == "honest" and r.defense == "fedavg"
        }
        gaps = [100 * (fedavg[k].final_accuracy - r.final_accuracy) for r in honest
                if (k := (r.dataset, r.partition, r.train)) in fedavg]  # fmt: skip
        if gaps:
            worst = max(gaps)
            checks.append(TargetCheck("accuracy vs FedAvg (honest grid)", "worst cell", f"-{worst:.1f} pts",
                                      "within 1 pt", worst <= 1.0))  # fmt: skip
    by = {
        (r.dataset, r.partition, r.attack, r.malicious_fraction, r.defense): r
        for r in rows
        if r.part == "attacks"
    }
    for r in ours:
        if r.part != "attacks" or abs(r.malicious_fraction - 0.3) > 1e-9:
            continue
        cell = f"{r.dataset} {r.partition} {r.attack}"
        clean = by.get((r.dataset, r.partition, "none", 0.0, "fedavg"))
        if clean is not None:
            drop = 100 * (clean.final_accuracy - r.final_accuracy)
            checks.append(
                TargetCheck("accuracy vs clean FedAvg", cell, f"-{drop:.1f} pts", "within 2 pts", drop <= 2.0)
            )
        peers = [
            p
            for k, p in by.items()
            if k[:4] == (r.dataset, r.partition, r.attack, 0.3) and k[4] != "fedshield"
        ]
        best = max(peers, key=lambda p: p.final_accuracy, default=None)
        if best is not None:
            checks.append(TargetCheck("at or above every Flower aggregator", cell,
                                      f"{r.final_accuracy:.3f} vs {best.defense} {best.final_accuracy:.3f}", ">=",
                                      r.final_accuracy >= best.final_accuracy - 1e-9))  # fmt: skip
        checks.append(TargetCheck("honest slashes", cell, str(r.honest_slashes), "0", r.honest_slashes == 0))
        if r.attack.startswith("backdoor") and r.backdoor_success is not None:
            checks.append(TargetCheck("backdoor success", cell, f"{r.backdoor_success:.1%}", "<= 5%",
                                      r.backdoor_success <= 0.05))  # fmt: skip
        if r.attack == "free_rider" and r.attacker_caught_rate is not None:
            rewarded = 1 - r.attacker_caught_rate
            checks.append(TargetCheck("free riders rewarded", cell, f"{rewarded:.1%}", "0%", rewarded == 0))
        if r.attack in GROSS_ATTACKS:
            caught, by_3, after = r.attacker_caught_rate or 0, r.slashed_by_3 or 0, r.slash_after_3 or 0
            checks.append(TargetCheck("excluded or slashed", cell, f"{caught:.1%}", ">= 90%", caught >= 0.9))
            checks.append(
                TargetCheck("slashed by 3rd attacking round", cell, f"{by_3:.0%}", "100%", by_3 >= 1.0)
            )
            checks.append(TargetCheck("slashed after the 3rd", cell, f"{after:.1%}", ">= 95%", after >= 0.95))
    if gauge:
        agree = float(np.mean([g.agree for g in gauge]))
        checks.append(TargetCheck("gauge agrees with launch", f"{len(gauge)} settings", f"{agree:.0%}", ">= 95%",
                                  agree >= 0.95))  # fmt: skip
    return checks


# ------------------------------------------------------------------------------------------------ output


def render_rows(rows: Sequence[BenchRow], title: str) -> Any:
    """A rich table of the grid's cells."""
    from backend.bench.render import table_of

    columns = ("part", "dataset", "partition", "train", "attack", "mal", "defense", "acc", "honest slashed",
               "honest excl", "atk excl", "atk slash", "slashed by 3", "slash after 3", "backdoor")  # fmt: skip
    cells = (
        (r.part, r.dataset, r.partition, r.train, r.attack, f"{r.malicious_fraction:.0%}", r.defense,
         f"{r.final_accuracy:.3f}", str(r.honest_slashes), _rate(r.honest_exclusion_rate),
         _rate(r.attacker_exclusion_rate), _rate(r.attacker_slash_rate), _rate(r.slashed_by_3),
         _rate(r.slash_after_3), _rate(r.backdoor_success))
        for r in rows
    )  # fmt: skip
    return table_of(title, columns, cells)


def render_targets(checks: Sequence[TargetCheck]) -> Any:
    from backend.bench.render import table_of, yes_no

    rows = ((c.what, c.cell, c.value, c.target, yes_no(c.met)) for c in checks)
    return table_of("Targets", ("target", "cell", "measured", "wanted", "met"), rows)


def render_gauge(points: Sequence[GaugePoint]) -> Any:
    from backend.bench.render import table_of

    rows = (
        (g.attack, str(g.setting), g.predicted, g.launched, "yes" if g.agree else "[red]no[/]")
        for g in points
    )
    return table_of(
        "Attack Lab gauge against the launched attack",
        ("attack", "setting", "predicted", "launched", "agree"),
        rows,
    )


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
