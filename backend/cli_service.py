"""`fedshield serve` and `fedshield bench api`: the orchestrator service and its latency benchmark.

`register(app, bench_app)` adds the commands to the CLI (backend/cli.py wires it).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

import typer
from rich.console import Console

from backend.settings import LOOPBACK_HOSTS, Settings

console = Console()
log = logging.getLogger("fedshield.serve")
ATTACKS = ("sign_flip", "gaussian", "label_flip")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Adds `serve` to ``app`` and `api` to ``bench_app``."""
    app.command("serve")(serve_command)
    bench_app.command("api")(bench_api_command)


def serve_command(
    host: str = typer.Option(
        "127.0.0.1", help="Address to listen on (beyond localhost needs FEDSHIELD_ADMIN_TOKEN)."
    ),
    port: int = typer.Option(8000, help="Port to listen on."),
    fleet: int = typer.Option(
        0, help="Also run N simulated node processes (anvil dev wallets 1..N, staked at start)."
    ),
    malicious: int = typer.Option(0, help="How many of the fleet's nodes attack (the last ones)."),
    attack: str = typer.Option("sign_flip", help=f"What the malicious nodes do: {', '.join(ATTACKS)}."),
    dataset: str = typer.Option("digits", help="Dataset of the experiment created for the fleet."),
    rounds: int = typer.Option(10, help="Rounds of the experiment created for the fleet."),
) -> None:
    """Run the orchestrator API (and optionally a local fleet of nodes training an experiment)."""
    import torch
    import uvicorn

    from backend.app.main import create_app

    if attack not in ATTACKS:
        console.print(f"[red]--attack must be one of {', '.join(ATTACKS)}[/red]")
        raise typer.Exit(2)
    if not 0 <= malicious <= fleet:
        console.print("[red]--malicious must lie between 0 and --fleet[/red]")
        raise typer.Exit(2)
    settings = Settings(host=host, port=port)
    if host not in LOOPBACK_HOSTS and settings.admin_token is None:
        console.print(
            f"[red]refusing to listen on {host} without FEDSHIELD_ADMIN_TOKEN:[/red] admin actions would be "
            "open to the network. Set the token (the dashboard sends it as a bearer token) or use 127.0.0.1."
        )
        raise typer.Exit(2)
    # The server evaluates and screens on its own threads; leave the other cores to the nodes.
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            log_level="info",
            access_log=not fleet,  # a fleet polls many times a second: keep the log readable
            timeout_graceful_shutdown=2,
        )
    )
    if fleet:
        options = {
            "nodes": fleet,
            "malicious": malicious,
            "attack": attack,
            "dataset": dataset,
            "rounds": rounds,
        }
        threading.Thread(
            target=_run_fleet, args=(server, settings, options), name="fleet", daemon=True
        ).start()
    console.print(f"FedShield orchestrator on http://{host}:{port} (API docs at /docs)")
    server.run()


def _run_fleet(server: Any, settings: Settings, options: dict[str, Any]) -> None:
    """Once the API is up: stake the fleet's wallets, create and start its experiment, launch the nodes."""
    import httpx

    from backend.chain.client import ChainClient
    from backend.chain.errors import ChainError
    from backend.fleet import Fleet, stake_fleet

    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.1)
    url = f"http://127.0.0.1:{settings.port}"
    try:
        client = ChainClient.from_file(settings.deployment_file, settings.orchestrator_key.get_secret_value())
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
        body["attack"] = {"kind": options["attack"], "num_attackers": options["malicious"]}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        created = http.post("/api/experiments", json=body)
        if created.status_code != 201:
            log.error("cannot create the fleet's experiment: %s", created.text)
            return
        experiment_id = created.json()["id"]
        http.post(f"/api/experiments/{experiment_id}/start")
    log.info("experiment %s started; launching %s nodes", experiment_id, options["nodes"])
    fleet = Fleet.start(url, experiment_id, options["nodes"], log_dir=settings.state_dir / "fleet-logs")
    while not server.should_exit and fleet.running():
        time.sleep(0.5)
    fleet.stop()


def bench_api_command(
    json_output: bool = typer.Option(
        False, "--json", help='Print {"idle": {p50_ms, p99_ms}, "loaded": {...}}.'
    ),
    nodes: int = typer.Option(50, help="Nodes of the experiment running during the loaded phase."),
    requests: int = typer.Option(200, help="Requests per endpoint and phase."),
    dataset: str = typer.Option("digits", help="Dataset of the experiment."),
) -> None:
    """p50 / p99 of the attack probe and a status read, idle and while an N-node experiment trains."""
    from backend.bench.api import measure_api_latency

    progress = Console(stderr=True)  # stdout carries only the figures
    report = measure_api_latency(nodes=nodes, requests=requests, dataset=dataset, progress=progress.print)
    if json_output:
        typer.echo(json.dumps(report.as_json(), indent=2))
        return
    console.print(report.table())
