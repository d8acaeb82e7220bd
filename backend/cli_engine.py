"""The defense engine's commands: ``fedshield run``, ``fedshield attack probe``, ``fedshield bench defense``.

``register`` adds them to the CLI's Typer apps; the heavy imports (torch, the simulation) happen inside
the commands, so ``fedshield --help`` stays fast.
"""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from backend.detection import DefenseConfig
    from backend.simulation import RoundResult, SimulationResult
    from workers.attacks import AttackConfig

console = Console()


class Partition(StrEnum):
    iid = "iid"
    dirichlet = "dirichlet"
    shards = "shards"


class Attack(StrEnum):
    none = "none"
    sign_flip = "sign_flip"
    gaussian = "gaussian"
    label_flip = "label_flip"


class Defense(StrEnum):
    fedshield = "fedshield"
    none = "none"
    multi_krum = "multi_krum"
    median = "median"
    trimmed_mean = "trimmed_mean"


def set_torch_threads(threads: int) -> None:
    """Tiny models train fastest on one thread; set here, in the entry point, never at import."""
    import torch

    torch.set_num_threads(max(1, threads))


def attack_config(
    kind: Attack, *, sigma: float, norm_matched: bool, scale: float, flip_fraction: float, start: int
) -> AttackConfig:
    from workers.attacks import AttackConfig

    return AttackConfig(
        kind=kind.value,
        sigma=sigma,
        norm_matched=norm_matched,
        scale=scale,
        flip_fraction=flip_fraction,
        start_round=max(start - 1, 0),  # the CLI counts rounds from 1, like its table
    )


def defense_config(defense: Defense, malicious_fraction: float) -> DefenseConfig:
    """FedShield's screening, or a baseline: no screening and the named aggregation rule."""
    from backend.detection import DefenseConfig

    if defense is Defense.fedshield:
        return DefenseConfig()
    aggregator = "fedavg" if defense is Defense.none else defense.value
    return DefenseConfig(
        enabled=False, aggregator=aggregator, aggregator_malicious_fraction=min(malicious_fraction, 0.49)
    )


def rounds_table(result: SimulationResult) -> Table:
    table = Table(title=f"{result.config.dataset}: final accuracy {result.final_accuracy:.3f}")
    for name in ("round", "accuracy", "loss", "accepted", "rejected", "TP", "FP"):
        table.add_column(name, justify="right")
    for r in result.rounds:
        table.add_row(
            str(r.round),
            f"{r.accuracy:.3f}",
            f"{r.loss:.3f}",
            str(r.accepted),
            str(r.rejected),
            str(r.tp),
            str(r.fp),
        )
    return table


def write_result(result: SimulationResult, out: Path) -> None:
    """JSON (every verdict) or CSV (one row per round), by the file's suffix."""
    suffix = out.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise typer.BadParameter(f"--out must end in .json or .csv, found {out.name!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(result.to_json() if suffix == ".json" else result.to_csv())


def run_command(
    dataset: str = typer.Option("digits", help="Built-in dataset: digits, breast_cancer, wine."),
    data: Path | None = typer.Option(
        None,
        exists=True,
        dir_okay=False,
        help="Your own data instead: a .csv/.parquet table, image zip or .npz.",
    ),
    label_column: str | None = typer.Option(None, help="--data tables: the label column (default: guessed)."),
    image_size: int = typer.Option(32, min=4, max=256, help="--data image zips: resize every image to this."),
    nodes: int = typer.Option(10, min=1, help="Simulated nodes."),
    partition: Partition = typer.Option(Partition.iid, help="How the training split is cut across nodes."),
    alpha: float = typer.Option(0.5, min=0.001, help="Dirichlet concentration (smaller: more label skew)."),
    rounds: int = typer.Option(10, min=1, help="Federated rounds."),
    epochs: int = typer.Option(5, min=1, help="Local epochs per round."),
    batch_size: int = typer.Option(
        128, min=1, help="Local batch size (128: full-batch steps on small nodes)."
    ),
    lr: float = typer.Option(0.1, min=0.0, help="Local learning rate (SGD with momentum 0.9)."),
    malicious: int = typer.Option(0, min=0, help="How many nodes attack (chosen by the seed)."),
    attack: Attack = typer.Option(Attack.sign_flip, help="What the malicious nodes do."),
    sigma: float = typer.Option(1.0, min=0.0, help="gaussian: noise std per weight."),
    norm_matched: bool = typer.Option(False, help="gaussian: scale the noise to the honest update's norm."),
    scale: float = typer.Option(1.0, min=0.0, help="sign_flip: send -scale * Δ."),
    flip_fraction: float = typer.Option(1.0, min=0.0, max=1.0, help="label_flip: share of labels flipped."),
    attack_start: int = typer.Option(1, min=1, help="First round (from 1) in which attackers misbehave."),
    defense: Defense = typer.Option(
        Defense.fedshield, help="FedShield's screening, or a baseline aggregator."
    ),
    root_set: int = typer.Option(100, min=0, help="Clean root samples the orchestrator keeps (0: none)."),
    seed: int = typer.Option(0, help="Seed of everything: same seed, same result."),
    out: Path | None = typer.Option(None, help="Write the result to a .json or .csv file."),
    threads: int = typer.Option(1, min=1, help="Torch CPU threads."),
) -> None:
    """Simulate a federated experiment in-process, with attackers and the shield."""
    from rich.progress import Progress

    from backend.simulation import ExperimentConfig, run_simulation
    from workers.datasets import DatasetError
    from workers.training import TrainConfig

    set_torch_threads(threads)
    if out is not None and out.suffix.lower() not in (".json", ".csv"):
        raise typer.BadParameter(f"--out must end in .json or .csv, found {out.name!r}")
    if malicious > nodes:
        raise typer.BadParameter(f"--malicious {malicious} exceeds --nodes {nodes}")
    config = ExperimentConfig(
        dataset=str(data) if data is not None else dataset,
        label_column=label_column,
        image_size=image_size,
        num_nodes=nodes,
        partition=partition.value,
        alpha=alpha,
        rounds=rounds,
        train=TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr),
        malicious=malicious,
        attack=attack_config(
            attack,
            sigma=sigma,
            norm_matched=norm_matched,
            scale=scale,
            flip_fraction=flip_fraction,
            start=attack_start,
        ),
        defense=defense_config(defense, malicious / nodes),
        seed=seed,
        root_set_size=root_set,
    )
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("rounds", total=rounds)

        def advance(result: RoundResult) -> None:
            progress.update(task, advance=1, description=f"round {result.round}: acc {result.accuracy:.3f}")

        try:
            result = run_simulation(config, on_round=advance)
        except DatasetError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    console.print(rounds_table(result))
    if out is not None:
        write_result(result, out)
        console.print(f"wrote {out}")


def probe_command(
    dataset: str = typer.Option("digits", help="Built-in dataset the probe's cohort trains on."),
    attack: Attack = typer.Option(Attack.sign_flip, help="The attack to probe."),
    sigma: float = typer.Option(1.0, min=0.0, help="gaussian: noise std per weight."),
    norm_matched: bool = typer.Option(False, help="gaussian: scale the noise to the honest update's norm."),
    scale: float = typer.Option(1.0, min=0.0, help="sign_flip: send -scale * Δ."),
    flip_fraction: float = typer.Option(1.0, min=0.0, max=1.0, help="label_flip: share of labels flipped."),
    seed: int = typer.Option(0, help="Seed of the probe's cohort and attack."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Predict the shield's verdict on one attacked update, feature by feature."""
    from backend.probe import probe_dataset

    set_torch_threads(1)
    cfg = attack_config(
        attack, sigma=sigma, norm_matched=norm_matched, scale=scale, flip_fraction=flip_fraction, start=1
    )
    probe_dataset(dataset, cfg, seed=seed)  # the first call builds and caches the cohort
    result = probe_dataset(dataset, cfg, seed=seed)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    table = Table(title=f"probe: {attack.value} on {dataset}")
    for name in ("rule", "feature", "value", "threshold", "tripped"):
        table.add_column(name, justify="left" if name in ("rule", "feature") else "right")
    for c in result.checks:
        limit = f"{'<=' if c.bound == 'max' else '>='} {c.threshold:.3f}"
        table.add_row(c.rule, c.feature, f"{c.value:.3f}", limit, "[red]yes[/]" if c.tripped else "no")
    console.print(table)
    verdict = "[green]accepted[/]" if result.accepted else f"[red]rejected[/] by {result.rule}"
    console.print(f"predicted: {verdict} ({result.reason}); {result.elapsed_ms:.1f} ms")


def bench_defense_command(
    quick: bool = typer.Option(False, help="One seed, 8 rounds, 30% attackers, four attacks (~1 min)."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON rows instead of tables."),
    seeds: int = typer.Option(3, min=1, help="Seeds per cell."),
    rounds: int = typer.Option(20, min=1, help="Rounds per run."),
    workers: int = typer.Option(0, min=0, help="Worker processes (0: one per CPU core)."),
) -> None:
    """Grid of attacks x defenses on digits: FedShield against Flower's aggregators."""
    from rich.progress import Progress

    from backend.bench.defense import (
        check_targets,
        default_workers,
        grid,
        quick_grid,
        render_table,
        render_targets,
        run_grid,
        summarize,
    )
    from backend.probe import measure_probe_latency

    set_torch_threads(1)
    runs = quick_grid() if quick else grid(seeds=seeds, rounds=rounds)
    started = time.perf_counter()
    with Progress(console=console, transient=True, disable=json_output) as progress:
        task = progress.add_task("simulations", total=len(runs))
        metrics = run_grid(
            runs, workers=workers or default_workers(), on_done=lambda _: progress.update(task, advance=1)
        )
    elapsed = time.perf_counter() - started
    rows = summarize(metrics)
    if json_output:
        typer.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    label = "quick" if quick else f"{seeds} seeds x {rounds} rounds"
    console.print(render_table(rows, f"Defense bench on digits, 20 nodes ({label}; mean over seeds)"))
    console.print(render_targets(check_targets(rows)))
    latency = measure_probe_latency("digits")
    console.print(
        f"{len(runs)} simulations in {elapsed:.0f} s; probe latency on digits: "
        f"p50 {latency.p50_ms:.1f} ms, p99 {latency.p99_ms:.1f} ms ({latency.samples} probes)"
    )


def register(app: typer.Typer, bench_app: typer.Typer, attack_app: typer.Typer) -> None:
    """Adds ``run`` to the main app, ``defense`` to ``bench`` and ``probe`` to ``attack``."""
    app.command("run")(run_command)
    bench_app.command("defense")(bench_defense_command)
    attack_app.command("probe")(probe_command)
