"""API latency under load: the attack probe and a status read, with the server idle and while an N-node
experiment trains (real node processes from backend.cli.fleet, a fresh anvil, a throwaway SQLite database).

Each phase alternates the two requests `requests` times from one client, measuring wall time per request;
the probe's parameters move every call, like a dashboard slider. The probe's cached inputs are warmed before
the idle phase (the first probe of an experiment builds them, once).
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.table import Table

from backend.chain.accounts import ANVIL_ORCHESTRATOR_KEY
from backend.chain.client import ChainClient
from backend.chain.deployment import write_deployment
from backend.chain.local import (
    AnvilOptions,
    build_contracts,
    deploy_contracts,
    free_port,
    start_anvil,
    stop_process,
)


@dataclass(frozen=True)
class Percentiles:
    p50_ms: float
    p99_ms: float
    samples: int

    @classmethod
    def of(cls, times_s: list[float]) -> Percentiles:
        ms = np.asarray(times_s) * 1000
        return cls(round(float(np.percentile(ms, 50)), 2), round(float(np.percentile(ms, 99)), 2), len(ms))

    def as_json(self) -> dict[str, float]:
        return {"p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "samples": self.samples}


@dataclass(frozen=True)
class Phase:
    probe: Percentiles
    status: Percentiles
    probe_in_server: Percentiles  # the probe's own time inside the server (latency_ms it reports)
    rounds_completed: int  # rounds the experiment closed while the phase was measured

    def as_json(self) -> dict[str, Any]:
        return {
            "p50_ms": self.probe.p50_ms,  # the attack probe: the figure the dashboard's Attack Lab polls
            "p99_ms": self.probe.p99_ms,
            "probe": self.probe.as_json(),
            "status": self.status.as_json(),
            "probe_in_server": self.probe_in_server.as_json(),
            "rounds_completed": self.rounds_completed,
        }


@dataclass
class ApiLatencyReport:
    idle: Phase
    loaded: Phase
    nodes: int
    dataset: str
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"idle": self.idle.as_json(), "loaded": self.loaded.as_json(), "nodes": self.nodes,
                "dataset": self.dataset}  # fmt: skip

    def table(self) -> Table:
        table = Table(title=f"API latency, {self.dataset}, {self.nodes}-node experiment in the loaded phase")
        for column in ("phase", "request", "p50 ms", "p99 ms", "samples", "rounds during phase"):
            table.add_column(column, justify="left" if column in ("phase", "request") else "right")
        for name, phase in (("idle", self.idle), ("loaded", self.loaded)):
            for request, p in (
                ("POST /api/attack-probe", phase.probe),
                ("GET /api/experiments/{id}", phase.status),
            ):
                table.add_row(name, request, f"{p.p50_ms:.1f}", f"{p.p99_ms:.1f}", str(p.samples),
                              str(phase.rounds_completed))  # fmt: skip
        return table


@contextmanager
def _bench_chain(tmp: Path) -> Iterator[Path]:
    """A fresh anvil with the contracts; yields the deployment file."""
    build_contracts()
    port = free_port()
    process = start_anvil(AnvilOptions(port=port, accounts=128, log_file=tmp / "anvil.log"))
    try:
        deployment = deploy_contracts(f"http://127.0.0.1:{port}", ANVIL_ORCHESTRATOR_KEY)
        path = tmp / "deployment.json"
        write_deployment(path, deployment)
        yield path
    finally:
        stop_process(process.pid)


@contextmanager
def _serve(app: Any) -> Iterator[str]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                          timeout_graceful_shutdown=1))  # fmt: skip
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the orchestrator did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _completed(http: httpx.Client, experiment_id: int) -> int:
    return int(http.get(f"/api/experiments/{experiment_id}").json()["completed_rounds"])


def _measure(http: httpx.Client, experiment_id: int, requests: int) -> Phase:
    """Alternates probe and status reads; the probe's sign-flip scale changes every call."""
    start_rounds = _completed(http, experiment_id)
    probe_times: list[float] = []
    status_times: list[float] = []
    server_times: list[float] = []
    for i in range(requests):
        body = {"experiment_id": experiment_id,
                "attack": {"kind": "sign_flip", "num_attackers": 1, "scale": 1.0 + (i % 20) / 10}}  # fmt: skip
        started = time.perf_counter()
        response = http.post("/api/attack-probe", json=body)
        probe_times.append(time.perf_counter() - started)
        response.raise_for_status()
        server_times.append(response.json()["latency_ms"] / 1000)
        started = time.perf_counter()
        http.get(f"/api/experiments/{experiment_id}").raise_for_status()
        status_times.append(time.perf_counter() - started)
    rounds = _completed(http, experiment_id) - start_rounds
    return Phase(
        Percentiles.of(probe_times), Percentiles.of(status_times), Percentiles.of(server_times), rounds
    )


def measure_api_latency(
    *, nodes: int = 50, requests: int = 200, dataset: str = "digits", progress: Callable[[str], None] = print
) -> ApiLatencyReport:
    """Runs the whole benchmark (several minutes on 2 cores: deploy, stake, train) and returns its figures."""
    import torch

    from backend.app.main import create_app
    from backend.cli.fleet import Fleet, stake_fleet
    from backend.orchestrator.service import Orchestrator
    from backend.settings import Settings

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="fedshield-bench-api-") as tmp_name:
        tmp = Path(tmp_name)
        progress("starting anvil and deploying the contracts…")
        with _bench_chain(tmp) as deployment_file:
            progress(f"staking {nodes} node wallets…")
            stake_fleet(ChainClient.from_file(deployment_file, ANVIL_ORCHESTRATOR_KEY), nodes)
            settings = Settings(state_dir=tmp / "state", deployment_file=deployment_file,
                                database_url=f"sqlite:///{tmp / 'bench.db'}", frontend_dist=tmp / "none",
                                round_deadline_s=120)  # fmt: skip
            orchestrator = Orchestrator(settings)
            try:
                with (
                    _serve(create_app(orchestrator=orchestrator)) as url,
                    httpx.Client(base_url=url, timeout=120) as http,
                ):
                    experiment = http.post("/api/experiments", json={
                        "name": "bench api", "dataset_id": dataset, "num_nodes": nodes, "rounds": 10_000,
                        "attack": {"kind": "sign_flip", "num_attackers": max(1, nodes // 10)},
                    }).json()  # fmt: skip
                    experiment_id = int(experiment["id"])
                    progress("warming the probe's cache, then measuring idle…")
                    http.post(
                        "/api/attack-probe", json={"experiment_id": experiment_id, "attack": {"kind": "none"}}
                    )
                    idle = _measure(http, experiment_id, requests)
                    progress(f"starting the experiment and {nodes} node processes…")
                    http.post(f"/api/experiments/{experiment_id}/start").raise_for_status()
                    with Fleet.start(url, experiment_id, nodes, log_dir=tmp / "fleet"):
                        _wait_for_training(http, experiment_id)
                        progress("measuring while the experiment trains…")
                        loaded = _measure(http, experiment_id, requests)
            finally:
                orchestrator.stop()
    return ApiLatencyReport(idle, loaded, nodes, dataset)


def _wait_for_training(http: httpx.Client, experiment_id: int, timeout_s: float = 600) -> None:
    """Until the fleet has registered and updates flow (the first round closed)."""
    deadline = time.monotonic() + timeout_s
    while _completed(http, experiment_id) < 1:
        if time.monotonic() > deadline:
            raise RuntimeError("the fleet did not complete a round in time")
        time.sleep(0.5)
