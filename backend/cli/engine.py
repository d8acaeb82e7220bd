"""The defense engine's commands: ``fedshield run``, ``fedshield attack probe``, ``fedshield bench defense``
and ``fedshield bench scale``.

``register`` adds them to the CLI's Typer apps. The options' types come from ``workers`` (attack kinds,
partitions, optimizers), so torch loads with the CLI; the defense grid, the probe and Ray are imported
inside the commands that use them.
"""

from __future__ import annotations

import functools
import inspect
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from backend.bench.scale import scale_command
from backend.engine.executors import Engine
from backend.orchestrator.specs import AttackPlan
from workers.attacks import AttackKind, Perturbation
from workers.datasets import BUILTIN_DATASETS
from workers.partition import PartitionScheme
from workers.task import ROOT_SET_SIZE
from workers.training import DEFAULT_TRAIN, OptimizerName
from workers.validation import validation_text

if TYPE_CHECKING:
    from backend.engine.shield import DefenseConfig
    from backend.engine.simulation import RoundResult, SimulationResult

console = Console()


BenchPart = Literal["all", "honest", "attacks", "gauge"]
Defense = Literal["fedshield", "none", "multi_krum", "median", "trimmed_mean"]  # "none": plain FedAvg


def set_torch_threads(threads: int) -> None:
    """Tiny models train fastest on one thread; set here, in the entry point, never at import."""
    import torch

    torch.set_num_threads(max(1, threads))


def attack_options(
    kind: AttackKind = typer.Option("sign_flip", "--attack", help="What the malicious nodes do."),
    sigma: float = typer.Option(1.0, min=0.0, help="gaussian: noise std per weight."),
    norm_matched: bool = typer.Option(False, help="gaussian: scale the noise to the honest update's norm."),
    scale: float = typer.Option(1.0, min=0.0, help="sign_flip: send -scale * Δ."),
    flip_fraction: float = typer.Option(1.0, min=0.0, max=1.0, help="label_flip: share of labels flipped."),
    epsilon: float = typer.Option(0.5, min=0.0, help="ipm: send -epsilon * mean of the benign updates."),
    z: float | None = typer.Option(None, help="alie: std multiplier (default: the paper's z_max for n, f)."),
    perturbation: Perturbation = typer.Option("std", help="min_max, min_sum: the perturbation direction."),
    boost: float | None = typer.Option(None, help="backdoor: model-replacement boost (default: nodes)."),
    norm_cap: float | None = typer.Option(
        None, help="backdoor: scale the update to this x the median honest norm instead of boosting."
    ),
    target_label: int = typer.Option(0, min=0, help="backdoor: the label triggered samples get."),
    poison_fraction: float = typer.Option(
        0.5, min=0.0, max=1.0, help="backdoor: share of samples triggered."
    ),
    attack_start: int = typer.Option(1, min=1, help="First round (from 1) in which attackers misbehave."),
) -> AttackPlan:
    """The attack the flags describe; a value out of its range is a usage error naming the flag's field."""
    try:
        return AttackPlan(
            kind=kind, sigma=sigma, norm_matched=norm_matched, scale=scale, flip_fraction=flip_fraction,
            epsilon=epsilon, z=z, perturbation=perturbation, boost=boost, norm_cap=norm_cap, target_label=target_label,
            poison_fraction=poison_fraction, start_round=attack_start,
        )  # fmt: skip
    except ValidationError as exc:
        raise typer.BadParameter(validation_text(exc.errors())) from None


def with_attack_options(command: Callable[..., None]) -> Callable[..., None]:
    """Gives ``command`` the attack flags of ``attack_options`` in place of its ``attack`` parameter."""
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "attack"]
    flags = list(inspect.signature(attack_options, eval_str=True).parameters.values())

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        attack = attack_options(**{p.name: kwargs.pop(p.name) for p in flags})
        command(attack=attack, **kwargs)

    wrapper.__signature__ = inspect.Signature([*own, *flags])  # type: ignore[attr-defined]
    return wrapper


def defense_config(defense: Defense, malicious_fraction: float) -> DefenseConfig:
    """FedShield's screening, or a baseline: no screening and the named aggregation rule."""
    from backend.engine.shield import DefenseConfig

    if defense == "fedshield":
        return DefenseConfig()
    aggregator = "fedavg" if defense == "none" else defense
    return DefenseConfig(
        enabled=False, aggregator=aggregator, aggregator_malicious_fraction=min(malicious_fraction, 0.49)
    )


def rounds_table(result: SimulationResult) -> Table:
    table = Table(title=f"{result.config.dataset}: final accuracy {result.final_accuracy:.3f}")
    for name in (
        "round",
        "accuracy",
        "loss",
        "accepted",
        "excluded",
        "slashed",
        "TP",
        "FP",
        "honest slashed",
    ):
        table.add_column(name, justify="right")
    for r in result.rounds:
        table.add_row(
            str(r.round), f"{r.accuracy:.3f}", f"{r.loss:.3f}", str(r.accepted), str(r.excluded),
            str(r.slashed), str(r.tp), str(r.fp), str(r.honest_slashed),
        )  # fmt: skip
    return table


def write_result(result: SimulationResult, out: Path) -> None:
    """JSON (every verdict) or CSV (one row per round), by the file's suffix (`run` checked it before the run)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(result.to_json() if out.suffix.lower() == ".json" else result.to_csv())


def run_command(
    dataset: str = typer.Option("digits", help=f"Built-in dataset: {', '.join(BUILTIN_DATASETS)}."),
    data: Path | None = typer.Option(
        None,
        exists=True,
        dir_okay=False,
        help="Your own data instead: a .csv/.parquet table, image zip or .npz.",
    ),
    label_column: str | None = typer.Option(None, help="--data tables: the label column (default: guessed)."),
    image_size: int = typer.Option(32, min=4, max=256, help="--data image zips: resize every image to this."),
    nodes: int = typer.Option(10, min=1, help="Simulated nodes."),
    partition: PartitionScheme = typer.Option("iid", help="How the training split is cut across nodes."),
    alpha: float = typer.Option(0.5, min=0.001, help="Dirichlet concentration (smaller: more label skew)."),
    rounds: int = typer.Option(10, min=1, help="Federated rounds."),
    epochs: int = typer.Option(DEFAULT_TRAIN.epochs, min=1, help="Local epochs per round."),
    batch_size: int = typer.Option(DEFAULT_TRAIN.batch_size, min=1, help="Local batch size."),
    lr: float = typer.Option(DEFAULT_TRAIN.lr, min=0.0, help="Local learning rate."),
    momentum: float = typer.Option(DEFAULT_TRAIN.momentum, min=0.0, max=0.999, help="SGD momentum."),
    optimizer: OptimizerName = typer.Option(DEFAULT_TRAIN.optimizer, help="Local optimizer."),
    malicious: int = typer.Option(0, min=0, help="How many nodes attack (chosen by the seed)."),
    attack: AttackPlan | None = None,  # the attack flags, added by ``with_attack_options``
    defense: Defense = typer.Option("fedshield", help="FedShield's screening, or a baseline aggregator."),
    root_set: int = typer.Option(
        ROOT_SET_SIZE, min=0, help="Clean root samples the orchestrator keeps (0: none)."
    ),
    seed: int = typer.Option(0, help="Seed of everything: same seed, same result."),
    out: Path | None = typer.Option(None, help="Write the result to a .json or .csv file."),
    threads: int = typer.Option(1, min=1, help="Torch CPU threads."),
    engine: Engine = typer.Option(
        "local", help="Where the nodes train: this process, or Ray actors (pip install '.\\[ray]')."
    ),
    address: str | None = typer.Option(
        None, help="--engine ray: join this cluster (auto, or ray://HEAD:10001); default: a local Ray."
    ),
    num_cpus: int | None = typer.Option(
        None, min=1, help="--engine ray: CPUs of the local Ray it starts (default: every core)."
    ),
) -> None:
    """Simulate a federated experiment, with attackers and the shield; the nodes in-process or on Ray."""
    from rich.progress import Progress

    from backend.engine.executors import EngineUnavailable, executor_factory
    from backend.engine.simulation import ExperimentConfig, run_simulation
    from workers.attacks import AttackConfig
    from workers.datasets import DatasetError
    from workers.training import TrainConfig

    set_torch_threads(threads)
    if out is not None and out.suffix.lower() not in (".json", ".csv"):
        raise typer.BadParameter(f"--out must end in .json or .csv, found {out.name!r}")
    if malicious > nodes:
        raise typer.BadParameter(f"--malicious {malicious} exceeds --nodes {nodes}")
    if engine == "local" and (address is not None or num_cpus is not None):
        raise typer.BadParameter("--address and --num-cpus apply to --engine ray only")
    if address is not None and num_cpus is not None:
        raise typer.BadParameter("--num-cpus sizes a local Ray; a cluster joined with --address has its own")
    try:
        executor = executor_factory(engine, address=address, num_cpus=num_cpus)
    except EngineUnavailable as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")  # its '.[ray]' is text, not a style tag
        raise typer.Exit(2) from None
    config = ExperimentConfig(
        dataset=str(data) if data is not None else dataset, label_column=label_column, image_size=image_size,
        num_nodes=nodes, partition=partition, alpha=alpha, rounds=rounds,
        train=TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum, optimizer=optimizer),
        malicious=malicious, defense=defense_config(defense, malicious / nodes), seed=seed, root_set_size=root_set,
        attack=attack.attack_config(start_round=attack.start_round - 1) if attack is not None else AttackConfig(),
    )  # fmt: skip
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("rounds", total=rounds)

        def advance(result: RoundResult) -> None:
            progress.update(task, advance=1, description=f"round {result.round}: acc {result.accuracy:.3f}")

        try:
            result = run_simulation(config, on_round=advance, executor=executor)
        except DatasetError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        except ConnectionError as exc:  # ray.init found no cluster at --address
            console.print(f"[red]cannot join the Ray cluster at {address}: {exc}[/red]")
            raise typer.Exit(2) from None
    console.print(rounds_table(result))
    if result.calibration is not None and result.calibration.rounds:
        found = result.calibration
        console.print(
            f"calibrated to this task on {found.rounds} honest rounds of {found.pseudo_nodes} pseudo-nodes "
            f"rehearsed on the root set: exclusion z {found.exclude_z:.2f}, evidence allowance "
            f"{found.cusum_allowance:.2f} a round"
        )
    if out is not None:
        write_result(result, out)
        console.print(f"wrote {out}")


def probe_command(
    dataset: str = typer.Option("digits", help="Built-in dataset the probe's nodes train on."),
    attack: AttackPlan | None = None,  # the attack flags, added by ``with_attack_options``
    attackers: int = typer.Option(3, min=1, help="How many of the probe's 10 nodes attack."),
    seed: int = typer.Option(0, help="Seed of the probe's nodes and attack."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Predict the shield's outcome for an attack (accepted, excluded, slashed), signal by signal."""
    from backend.engine.probe import probe_dataset

    assert attack is not None
    set_torch_threads(1)
    cfg = attack.attack_config(start_round=attack.start_round - 1)
    probe_dataset(dataset, cfg, seed=seed, num_attackers=attackers)  # the first call builds the cache
    result = probe_dataset(dataset, cfg, seed=seed, num_attackers=attackers)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    table = Table(title=f"probe: {attack.kind} on {dataset}")
    for name in ("rule", "feature", "value", "exclude at", "slash at (mean)", "tripped"):
        table.add_column(name, justify="left" if name in ("rule", "feature") else "right")
    for c in result.checks:
        limit = f"{'<=' if c.bound == 'min' else '>='} {c.threshold:.3f}"
        slash = "-" if c.slash_threshold is None else f"{c.slash_threshold:.1f}"
        table.add_row(c.rule, c.feature, f"{c.value:.3f}", limit, slash, "[red]yes[/]" if c.tripped else "no")
    console.print(table)
    colour = {"accepted": "green", "excluded": "yellow", "slashed": "red"}[result.outcome.value]
    console.print(
        f"predicted: [{colour}]{result.outcome.value}[/] ({result.reason}); first attacking round: "
        f"{result.first_round.value}; {result.elapsed_ms:.1f} ms"
    )


def bench_defense_command(
    quick: bool = typer.Option(False, help="A small grid on digits, mnist and the penguins table."),
    part: BenchPart = typer.Option("all", help="Run one part of the grid only (they add up to all)."),
    datasets: str = typer.Option(
        "", help="Comma-separated tasks of the suite the grid runs on (default: --quick's three, or all six)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON rows instead of tables."),
    workers: int = typer.Option(0, min=0, help="Worker processes (0: one per CPU core)."),
) -> None:
    """Honest-only grid, every attack against Flower's aggregators, and the gauge's agreement with launches."""
    from rich.progress import Progress

    from backend.bench.defense import (
        DATASETS,
        GAUGE_SWEEP,
        NUM_NODES,
        check_targets,
        default_workers,
        full_grid,
        gauge_sweep,
        quick_grid,
        render_gauge,
        render_rows,
        render_targets,
        run_grid,
        summarize,
    )
    from backend.engine.probe import measure_probe_latency

    set_torch_threads(1)
    chosen = [d.strip() for d in datasets.split(",") if d.strip()]
    unknown = set(chosen) - set(DATASETS)
    if unknown:
        raise typer.BadParameter(f"not in the suite: {sorted(unknown)}; choose from {', '.join(DATASETS)}")
    runs = (quick_grid(chosen) if chosen else quick_grid()) if quick else full_grid(chosen or DATASETS)
    runs = [r for r in runs if part in ("all", r.part)]
    runs = runs if part != "gauge" else []
    started = time.perf_counter()
    with Progress(console=console, transient=True, disable=json_output) as progress:
        task = progress.add_task("simulations", total=len(runs))
        metrics = run_grid(
            runs, workers=workers or default_workers(), on_done=lambda _: progress.update(task, advance=1)
        )
    sweep = {k: v[:1] + v[-1:] if quick else v for k, v in GAUGE_SWEEP.items()}
    gauge = gauge_sweep(sweep) if part in ("all", "gauge") else []
    elapsed = time.perf_counter() - started
    rows = summarize(metrics)
    checks = check_targets(rows, gauge)
    latency = measure_probe_latency("digits", repeats=5 if quick else 25)
    if json_output:
        typer.echo(
            json.dumps(
                {
                    "rows": [r.to_dict() for r in rows],
                    "gauge": [g.__dict__ for g in gauge],
                    "targets": [c.__dict__ for c in checks],
                    "probe_latency_ms": {"p50": latency.p50_ms, "p99": latency.p99_ms},
                    "seconds": elapsed,
                },
                indent=2,
            )
        )
        return
    label = "quick" if quick else "full"
    console.print(render_rows(rows, f"Defense bench ({label}; {len(runs)} simulations of {NUM_NODES} nodes)"))
    console.print(render_gauge(gauge))
    console.print(render_targets(checks))
    console.print(
        f"{len(runs)} simulations and {len(gauge)} gauge settings in {elapsed:.0f} s; probe latency on digits "
        f"(every attack kind, cached): p50 {latency.p50_ms:.1f} ms, p99 {latency.p99_ms:.1f} ms"
    )


def register(app: typer.Typer, bench_app: typer.Typer, attack_app: typer.Typer) -> None:
    """Adds ``run`` to the main app, ``defense`` and ``scale`` to ``bench`` and ``probe`` to ``attack``."""
    app.command("run")(with_attack_options(run_command))
    bench_app.command("defense")(bench_defense_command)
    bench_app.command("scale")(scale_command)
    attack_app.command("probe")(with_attack_options(probe_command))
