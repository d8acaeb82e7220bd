"""The ``fedshield`` command line: the local chain, experiments, benchmarks and the orchestrator.

Server modules (web3, the settings, the database) are imported inside the commands that use them, so
``fedshield worker`` runs on the lean node install (``pip install 'fedshield[node]'``), which lacks them.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from backend.cli.engine import register as register_engine_commands
from backend.cli.service import exit_on_signals, reconcile_command
from backend.cli.service import register as register_service_commands
from workers.cli import worker_command

if TYPE_CHECKING:
    from backend.chain.client import ChainClient

app = typer.Typer(
    help="FedShield: federated learning that defends itself and pays honest work.", no_args_is_help=True
)
chain_app = typer.Typer(help="The local anvil chain and the deployed contracts.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks that print their figures (JSON with --json).", no_args_is_help=True)
attack_app = typer.Typer(help="The Attack Lab from the terminal.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")
app.add_typer(bench_app, name="bench")
app.add_typer(attack_app, name="attack")
register_engine_commands(app, bench_app, attack_app)
register_service_commands(app, bench_app)
app.command("worker")(worker_command)
chain_app.command("reconcile")(reconcile_command)


@app.callback()
def _main() -> None:
    # Before every command: SIGTERM exits through the commands' cleanup (their children stop), as Ctrl-C does.
    exit_on_signals()


console = Console()


def _pid_file() -> Path:
    from backend.settings import get_settings

    return get_settings().state_dir / "anvil.pid"


@chain_app.command("up")
def chain_up_command(
    port: int = typer.Option(8545, help="Port of anvil on 127.0.0.1."),
    chain_id: int = typer.Option(31337, help="Chain id (421614 rehearses Arbitrum Sepolia locally)."),
    nodes: int = typer.Option(10, help="Demo nodes (anvil dev accounts 1..N) to fund and stake."),
    accounts: int = typer.Option(128, help="Dev accounts anvil creates."),
) -> None:
    """Start anvil (state kept across restarts), deploy or reuse the contracts, stake the demo nodes."""
    from backend.chain.errors import ChainError
    from backend.chain.local import AnvilOptions, chain_up
    from backend.settings import get_settings

    settings = get_settings()
    options = AnvilOptions(
        port=port,
        chain_id=chain_id,
        accounts=accounts,
        state_file=settings.state_dir / f"anvil-state-{chain_id}.json",
        log_file=settings.state_dir / "anvil.log",
        die_with_parent=False,  # `chain up` leaves the chain running; `chain down` stops it
    )
    try:
        deployment, reused = chain_up(
            deployment_file=settings.deployment_file,
            orchestrator_key=settings.orchestrator_key.get_secret_value(),
            options=options,
            pid_file=_pid_file(),
            demo_nodes=nodes,
        )
    except ChainError as exc:
        console.print(f"[red]chain up failed:[/red] {exc}")
        raise typer.Exit(1) from None
    verb = "reused" if reused else "deployed"
    console.print(f"[green]chain {deployment.chain_id} at {deployment.rpc_url}[/green]: contracts {verb}")
    console.print(f"  FLToken          {deployment.token.address}")
    console.print(f"  FedShieldStaking {deployment.staking.address}")
    console.print(f"  deployment file  {settings.deployment_file}")
    console.print(f"  staked demo nodes: {len(deployment.demo_nodes)}")


@chain_app.command("down")
def chain_down_command() -> None:
    """Stop the anvil that `chain up` started (its state file keeps the chain for the next `up`)."""
    from backend.chain.local import stop_process

    pid_file = _pid_file()
    if not pid_file.exists():
        console.print("no anvil started by `fedshield chain up` is running")
        return
    stopped = stop_process(int(pid_file.read_text()))
    pid_file.unlink()
    console.print("anvil stopped" if stopped else "anvil was not running")


def _client() -> ChainClient:
    from backend.chain.client import ChainClient
    from backend.chain.errors import ChainError
    from backend.settings import get_settings

    settings = get_settings()
    try:
        return ChainClient.from_file(settings.deployment_file, settings.orchestrator_key.get_secret_value())
    except ChainError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None


def _balances_table(client: ChainClient, title: str, addresses: list[str]) -> Table:
    from backend.chain.client import to_flt

    table = Table(title=title)
    for column in ("node", "FLT balance", "stake", "pending", "eligible"):
        table.add_column(column, justify="right" if column != "node" else "left")
    for address in addresses:
        s = client.node_status(address)
        table.add_row(address, f"{to_flt(s.balance):,.2f}", f"{to_flt(s.stake):,.2f}", f"{to_flt(s.pending):,.2f}",
                      "yes" if s.eligible else "no")  # fmt: skip
    return table


@chain_app.command("status")
def chain_status_command() -> None:
    """Contract parameters, the last settled round and the demo nodes' balances."""
    from backend.chain.client import to_flt

    client = _client()
    p = client.parameters()
    console.print(
        f"chain {client.deployment.chain_id}: reward {to_flt(p.reward)} FLT, slash {to_flt(p.slash)} FLT, "
        f"min stake {to_flt(p.min_stake)} FLT, cooldown {p.cooldown}s, last round {p.last_round_id}"
    )
    console.print(_balances_table(client, "Demo nodes", client.deployment.demo_nodes))


@chain_app.command("settle-example")
def settle_example_command(
    slashed: int = typer.Option(2, help="How many of the demo nodes to slash; the rest are rewarded."),
) -> None:
    """Settle one example round over the demo nodes, printing balances before and after."""
    from backend.chain.errors import ChainError

    client = _client()
    nodes = client.deployment.demo_nodes
    if not nodes:
        console.print("[red]no demo nodes in the deployment file: run `fedshield chain up`[/red]")
        raise typer.Exit(1)
    if not 0 <= slashed <= len(nodes):
        console.print(f"[red]--slashed must be between 0 and {len(nodes)}[/red]")
        raise typer.Exit(2)
    accepted, caught = nodes[: len(nodes) - slashed], nodes[len(nodes) - slashed :]
    console.print(_balances_table(client, "Before", nodes))
    round_id = client.last_round_id() + 1
    model_hash, results_root = "0x" + secrets.token_hex(32), "0x" + secrets.token_hex(32)
    try:
        result = client.settle_round(round_id, model_hash, results_root, accepted, caught)
    except ChainError as exc:
        console.print(f"[red]settlement failed:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(
        f"settled round {round_id} in tx {result.tx_hash} (block {result.block_number}, gas {result.gas_used:,}): "
        f"{len(result.events_named('RewardPaid'))} rewarded, {len(result.events_named('Slashed'))} slashed"
    )
    console.print(_balances_table(client, "After", nodes))


@bench_app.command("chain")
def bench_chain_command(
    json_output: bool = typer.Option(False, "--json", help="Print JSON rows instead of a table."),
    sizes: str = typer.Option("10,100,1000", help="Comma-separated node counts."),
    slashed_fraction: float = typer.Option(0.2, help="Fraction of nodes slashed in each round."),
) -> None:
    """Gas of settleRound for N nodes against the naive one-mint-transaction-per-node way."""
    from backend.bench.chain import measure_settlement_gas, render_table

    rows = measure_settlement_gas([int(s) for s in sizes.split(",")], slashed_fraction)
    if json_output:
        typer.echo(json.dumps([r.as_json() for r in rows], indent=2))
    else:
        console.print(render_table(rows))
