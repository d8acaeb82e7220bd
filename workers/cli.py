"""`fedshield worker`: run one node on this machine, with this machine's data, against an orchestrator.

`backend.cli` registers `worker_command` as `fedshield worker` (`app.command("worker")(worker_command)`).
The wallet key is read from FEDSHIELD_NODE_KEY; `--key` works too but any user can read it in `ps`.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import FrameType

import typer
from rich.console import Console

from workers.dataset_errors import DatasetError
from workers.node import DataFile, NodeClient, configure_logging
from workers.schema_report import print_schema

KEY_ENV = "FEDSHIELD_NODE_KEY"
console = Console(stderr=True)


def worker_command(
    orchestrator: str = typer.Option(..., help="Base URL of the orchestrator, e.g. http://127.0.0.1:8000"),
    key: str | None = typer.Option(
        None,
        help=f"Wallet private key (0x hex). Prefer the {KEY_ENV} environment variable: --key shows in ps.",
    ),
    experiment: int | None = typer.Option(
        None, help="Experiment id; default: the newest running experiment."
    ),
    data: Path | None = typer.Option(
        None,
        exists=True,
        dir_okay=False,
        help="Your local data (.csv .tsv .parquet table, .zip of class_name/*.png, or .npz); it never leaves this machine.",
    ),
    label_column: str | None = typer.Option(
        None, help="The label column of a table given with --data (default: the experiment's)."
    ),
    show_schema: bool = typer.Option(
        False,
        "--show-schema",
        help="Print the schema this node will apply to --data (and what applying it does), then exit.",
    ),
    as_json: bool = typer.Option(False, "--json", help="With --show-schema: print the schema as JSON."),
    log_level: str = typer.Option("INFO", help="Logging level."),
) -> None:
    """Train on local data for an experiment and post signed updates until it ends (Ctrl-C stops)."""
    configure_logging(log_level, "%(asctime)s %(levelname)s %(message)s")
    private_key = os.environ.get(KEY_ENV) or key
    if not private_key:
        console.print(f"[red]no wallet key: set {KEY_ENV} (or pass --key)[/red]")
        raise typer.Exit(2)
    if key and not os.environ.get(KEY_ENV):
        console.print(
            f"[yellow]warning: --key is visible to every user in the process list; prefer {KEY_ENV}[/yellow]"
        )
    node_data = None
    if data is not None:
        try:
            node_data = DataFile(data, label_column)
            node_data.check()
        except DatasetError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    try:
        node = NodeClient(orchestrator, private_key, data=node_data)
    except (ValueError, TypeError):
        # The key itself must never be echoed, even in an error.
        console.print(
            "[red]the wallet key is not a valid secp256k1 private key (expected 0x + 64 hex digits)[/red]"
        )
        raise typer.Exit(2) from None
    del private_key
    if show_schema:
        try:
            print_schema(node, experiment, node_data, as_json=as_json)
        finally:
            node.close()
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        console.print(f"{signal.Signals(signum).name}: stopping after the current step")
        node.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    where = f"experiment {experiment}" if experiment is not None else "the newest running experiment"
    source = f"data {data.name}" if data is not None else "the task's simulated partition"
    console.print(f"node [bold]{node.address}[/bold] serving {where} at {orchestrator} with {source}")
    try:
        report = node.run(experiment)
    finally:
        node.close()
    console.print(
        f"stopped ({report.stopped_because}): {len(report.submitted_rounds)} updates posted, "
        f"{len(report.rejections)} refused"
    )
    if report.failed:
        raise typer.Exit(1)
