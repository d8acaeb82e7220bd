"""`fedshield serve`, `fedshield bench api` and `fedshield chain reconcile`: the orchestrator service, its
benchmark under load, and the ledger's database against the chain.

`register(app, bench_app)` adds the first two to the CLI, `reconcile_command` is registered under
`fedshield chain` (backend/cli/__init__.py wires both). `exit_on_signals()` turns SIGTERM into the same orderly exit as
Ctrl-C, so every process a command started is stopped by its `finally`.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from backend.settings import Settings

console = Console()
log = logging.getLogger("fedshield.serve")
ATTACKS = ("sign_flip", "gaussian", "label_flip")
# Wallets of the standing pool `--fleet` starts: the fleet's experiment and room for the dashboard's next ones.
POOL_CAPACITY = 30


def exit_on_signals() -> None:
    """SIGTERM (a `timeout`, a supervisor) exits like SIGINT: through the `finally` blocks that stop children."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Adds `serve` to ``app`` and `api` to ``bench_app``."""
    app.command("serve")(serve_command)
    bench_app.command("api")(bench_api_command)


def serve_command(
    host: str | None = typer.Option(
        None,
        help="Address to listen on (default: FEDSHIELD_HOST, else 127.0.0.1; beyond localhost needs "
        "FEDSHIELD_ADMIN_TOKEN).",
        show_default=False,
    ),
    port: int | None = typer.Option(
        None, help="Port to listen on (default: FEDSHIELD_PORT, else 8000).", show_default=False
    ),
    fleet: int = typer.Option(
        0,
        help="Also run N simulated nodes training an experiment, from a standing pool of simulated nodes "
        f"(anvil dev wallets 1..max(N, {POOL_CAPACITY}), staked when used) that gives every experiment "
        "started from the dashboard its nodes.",
    ),
    malicious: int = typer.Option(0, help="How many of the fleet's nodes attack (the last ones)."),
    attack: str = typer.Option("sign_flip", help=f"What the malicious nodes do: {', '.join(ATTACKS)}."),
    dataset: str = typer.Option("digits", help="Dataset of the experiment created for the fleet."),
    rounds: int = typer.Option(10, help="Rounds of the experiment created for the fleet."),
    attack_from: int = typer.Option(
        1, min=1, help="Round of the fleet's experiment from which the malicious nodes attack."
    ),
    pace: float = typer.Option(
        0.0, min=0, max=600, help="Seconds every round stays open at least (0: it closes at quorum)."
    ),
    engine: str = typer.Option(
        "local",
        help="Where the fleet's nodes run: local (processes) or ray (actors, pip install '.\\[ray]').",
    ),
    address: str | None = typer.Option(
        None, help="--engine ray: join this Ray cluster (default: a local Ray)."
    ),
) -> None:
    """Run the orchestrator API (and optionally a fleet of nodes training an experiment)."""
    import uvicorn

    from backend.app.main import create_app
    from backend.app.serving import freeze_start_up_heap, share_cores_with_nodes, uvicorn_config
    from backend.settings import LOOPBACK_HOSTS, Settings

    if attack not in ATTACKS:
        console.print(f"[red]--attack must be one of {', '.join(ATTACKS)}[/red]")
        raise typer.Exit(2)
    if not 0 <= malicious <= fleet:
        console.print("[red]--malicious must lie between 0 and --fleet[/red]")
        raise typer.Exit(2)
    if engine not in ("local", "ray"):
        console.print("[red]--engine must be local or ray[/red]")
        raise typer.Exit(2)
    # The environment (FEDSHIELD_HOST / FEDSHIELD_PORT, or .env) gives what the options leave out.
    overrides: dict[str, Any] = {
        name: value for name, value in (("host", host), ("port", port)) if value is not None
    }
    settings = Settings(**overrides)
    if pace:
        overrides["min_round_s"] = pace
    if fleet and engine == "local":
        overrides["node_pool"] = max(fleet, POOL_CAPACITY, settings.node_pool)
    if pace or (fleet and engine == "local"):
        settings = Settings(**overrides)
    host, port = settings.host, settings.port
    if host not in LOOPBACK_HOSTS and settings.admin_token is None:
        console.print(
            f"[red]refusing to listen on {host} without FEDSHIELD_ADMIN_TOKEN:[/red] admin actions would be "
            "open to the network. Set the token (the dashboard sends it as a bearer token) or use 127.0.0.1."
        )
        raise typer.Exit(2)
    share_cores_with_nodes()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # A fleet polls many times a second: without the access log the log stays readable.
    server = uvicorn.Server(uvicorn_config(create_app(settings), host, port, access_log=not fleet))
    freeze_start_up_heap()
    fleet_thread: threading.Thread | None = None
    owns_ray = False
    if fleet and engine == "ray":  # Ray starts here, on the main thread; the fleet thread joins it
        try:
            from backend.engine.ray_executor import connect
        except ImportError:
            console.print("[red]--engine ray needs Ray: pip install '.\\[ray]'[/red]")
            raise typer.Exit(2) from None
        owns_ray = connect(address)
    if fleet:
        options = {
            "nodes": fleet,
            "malicious": malicious,
            "attack": attack,
            "dataset": dataset,
            "rounds": rounds,
            "attack_from": attack_from,
            "engine": engine,
            "address": address,
        }
        fleet_thread = threading.Thread(
            target=_run_fleet, args=(server, settings, options), name="fleet", daemon=True
        )
        fleet_thread.start()
    console.print(f"FedShield orchestrator on http://{host}:{port} (API docs at /docs)")
    try:
        server.run()
    finally:
        server.should_exit = True
        if fleet_thread is not None:  # it stops the node processes once it sees the server exit
            fleet_thread.join(30)
        if owns_ray:
            import ray

            ray.shutdown()


def _run_fleet(server: Any, settings: Settings, options: dict[str, Any]) -> None:
    """Once the API is up: create and start the fleet's experiment; the standing pool gives it its nodes
    (engine local), or stake the fleet's wallets and launch them on Ray actors (engine ray)."""
    import httpx

    from backend.chain.client import ChainClient
    from backend.chain.errors import ChainError
    from backend.cli.fleet import FleetPlan, RayFleet, stake_fleet

    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.1)
    url = f"http://127.0.0.1:{settings.port}"
    if options["engine"] == "ray":
        try:
            client = ChainClient.from_file(
                settings.deployment_file, settings.orchestrator_key.get_secret_value()
            )
            stake_fleet(client, options["nodes"])
        except ChainError as exc:
            log.error("cannot stake the fleet: %s (is `fedshield chain up` running?)", exc)
            return
    headers = (
        {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"} if settings.admin_token else {}
    )
    body: dict[str, Any] = {
        "name": f"{options['dataset']}: {options['nodes']} nodes, {options['malicious']} {options['attack']}",
        "dataset_id": options["dataset"],
        "num_nodes": options["nodes"],
        "rounds": options["rounds"],
    }  # local training left to ExperimentCreate's defaults: the product's one (workers.training.DEFAULT_TRAIN)
    if options["malicious"]:
        body["attack"] = {
            "kind": options["attack"],
            "num_attackers": options["malicious"],
            "start_round": options["attack_from"],
        }
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        earlier = resumable_fleet_experiment(http.get("/api/experiments").json(), body)
        if earlier is not None:  # a restart: the fleet's unfinished experiment goes on where it stopped
            experiment_id = int(earlier["id"])
            if earlier["status"] != "running":
                http.post(f"/api/experiments/{experiment_id}/resume")  # the pool (engine local) fills it
            log.info("resuming experiment %s from round %s", experiment_id, earlier["completed_rounds"] + 1)
        else:
            created = http.post("/api/experiments", json=body)
            if created.status_code != 201:
                log.error("cannot create the fleet's experiment: %s", created.text)
                return
            experiment_id = created.json()["id"]
            http.post(f"/api/experiments/{experiment_id}/start")  # the pool (engine local) fills it at once
    if options["engine"] != "ray":
        log.info("experiment %s running; the node pool gives it %s nodes", experiment_id, options["nodes"])
        return
    log.info("experiment %s running; launching %s nodes on Ray", experiment_id, options["nodes"])
    fleet = RayFleet.start(FleetPlan(url, experiment_id, options["nodes"]), address=options["address"])
    while not server.should_exit and fleet.running():
        time.sleep(0.5)
    fleet.stop()


def resumable_fleet_experiment(
    experiments: list[dict[str, Any]], body: dict[str, Any]
) -> dict[str, Any] | None:
    """The newest unfinished experiment a `serve --fleet` with the same options created, if any: after a
    restart the fleet resumes it rather than starting a new one beside it."""
    same = [
        e
        for e in experiments
        if e.get("status") in ("running", "paused", "failed")
        and all(e.get(key) == body[key] for key in ("name", "dataset_id", "num_nodes", "rounds"))
    ]
    return max(same, key=lambda e: int(e["id"]), default=None)


def bench_api_command(
    json_output: bool = typer.Option(False, "--json", help="Print the figures and targets as JSON."),
    clients: int = typer.Option(100, min=1, max=1000, help="Concurrent clients reading each endpoint."),
    updates: int = typer.Option(
        200, min=2, max=256, help="Signed updates in the round received and screened during each phase."
    ),
    dataset: str = typer.Option("digits", help="Built-in dataset of the experiments."),
    ceiling_s: float = typer.Option(5.0, min=0.5, max=120, help="Seconds the bare FastAPI ceiling is read."),
) -> None:
    """Throughput and p50/p99 of status, log and probe reads under N clients while a round is screened."""
    from backend.bench.api import measure_api_load

    progress = Console(stderr=True)  # stdout carries only the figures
    report = measure_api_load(
        clients=clients, updates=updates, dataset=dataset, ceiling_s=ceiling_s, progress=progress.print
    )
    if json_output:
        typer.echo(json.dumps(report.as_json(), indent=2))
        return
    console.print(report.table())
    for line in report.verdicts():
        console.print(line)


def reconcile_command(
    json_output: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Compare only: re-queue and correct nothing."),
) -> None:
    """The database against the chain: rounds, rewards and slashes per node, and what was re-queued.

    A confirmed settlement the chain does not hold goes back to pending (the orchestrator's outbox sends it
    again under the chain's next round id); one the chain holds differently is corrected from the chain.
    Exits 1 on a mismatch that could not be repaired (a round paid twice), 2 if the chain is unreachable.
    """
    from backend.chain.errors import ChainError
    from backend.db.base import make_engine, make_session_factory
    from backend.db.migrate import upgrade_to_head
    from backend.ledger.chain_gateway import ChainGateway
    from backend.ledger.reconciler import Reconciler
    from backend.orchestrator.errors import ChainUnavailable
    from backend.orchestrator.events import EventBus
    from backend.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade_to_head(engine)
        sessions = make_session_factory(engine)
        rpc_override = settings.rpc_url if "rpc_url" in settings.model_fields_set else None
        gateway = ChainGateway(
            settings.deployment_file, settings.orchestrator_key.get_secret_value(), rpc_url=rpc_override
        )
        bus = EventBus(sessions)
        try:
            report = Reconciler(sessions, bus, gateway).run(repair=not dry_run)
        except (ChainUnavailable, ChainError) as exc:
            console.print(f"[red]cannot reconcile:[/red] {exc}")
            raise typer.Exit(2) from None
        finally:
            bus.close()
    finally:
        engine.dispose()
    if json_output:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: Any) -> None:
    from rich.table import Table

    from backend.chain.client import to_flt

    console.print(
        f"chain lastRoundId {report.chain_last_round_id}; database counts chain rounds up to "
        f"{report.db_last_round_id} as settled; {len(report.foreign_rounds)} round(s) on chain are not ours"
    )
    rounds = Table(title="Rounds: database vs chain (matched by results root)")
    for column in ("experiment", "round", "status", "db chain round", "chain rounds", "outcome", "detail"):
        rounds.add_column(column)
    for r in report.rounds:
        ids = ", ".join(str(i) for i in r.chain_round_ids) or "-"
        rounds.add_row(str(r.experiment_id), str(r.round), r.status, str(r.db_chain_round_id or "-"), ids,
                       r.outcome, r.detail)  # fmt: skip
    console.print(rounds)
    nodes = Table(title="Per node (FLT): database vs chain")
    for column in ("node", "rewarded db", "rewarded chain", "slashed db", "slashed chain", "match"):
        nodes.add_column(column, justify="left" if column == "node" else "right")
    for n in report.nodes:
        nodes.add_row(n.address, f"{to_flt(n.db_rewarded):f}", f"{to_flt(n.chain_rewarded):f}",
                      f"{to_flt(n.db_slashed):f}", f"{to_flt(n.chain_slashed):f}",
                      "yes" if n.matches else "[red]no[/red]")  # fmt: skip
    console.print(nodes)
    for r in report.requeued:
        console.print(f"re-queued: experiment {r.experiment_id} round {r.round} ({r.detail})")
    for r in report.repaired:
        console.print(f"corrected: experiment {r.experiment_id} round {r.round} ({r.detail})")
    for problem in report.unrepaired:
        console.print(f"[red]not repaired:[/red] {problem}")
    console.print("[green]ledger consistent[/green]" if report.ok else "[red]ledger mismatch[/red]")
