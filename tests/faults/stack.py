"""The parts a fault drill breaks: an anvil it can kill, an orchestrator process it can kill, node threads.

Every part is real: anvil is the Foundry binary with a state file, the orchestrator is `fedshield serve` in its
own process on a real SQLite file (or the same app in-process where a drill kills only the chain), the nodes
are `workers.node.NodeClient`s training with PyTorch and posting signed updates over HTTP.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from backend.app.main import create_app
from backend.chain.accounts import ANVIL_ORCHESTRATOR_KEY, dev_account
from backend.chain.client import ChainClient
from backend.chain.deployment import Deployment, load_deployment
from backend.chain.local import AnvilOptions, free_port, start_anvil, stop_process
from backend.orchestrator.service import Orchestrator
from backend.settings import REPO_ROOT, Settings
from tests.support.server import live_server, wait_for
from workers.fleet import dev_keys, run_fleet
from workers.node import register_wallet

HONEST = (1, 2, 3)  # dev accounts staked 100 FLT in the chain image
ATTACKER = 4  # staked 25 FLT: slashed 15, then 10 (capped at its stake), then no longer eligible


@dataclass
class Anvil:
    """One anvil on a fixed port whose state lives in ``state_file`` (loaded at start, dumped at exit)."""

    port: int
    state_file: Path
    log_file: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = start_anvil(
            AnvilOptions(port=self.port, state_file=self.state_file, log_file=self.log_file)
        )

    def kill9(self) -> None:
        """SIGKILL: nothing is written; the chain restarts from whatever the state file held."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        """SIGTERM: anvil dumps its state and exits (a graceful outage)."""
        if self.process is not None:
            stop_process(self.process.pid)
            self.process.wait(10)
            self.process = None

    def snapshot(self, path: Path) -> None:
        """The chain as it is now, in the format of the state file (what a periodic dump would hold)."""
        response = httpx.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": "anvil_dumpState"})
        path.write_bytes(gzip.decompress(bytes.fromhex(response.json()["result"][2:])))

    def rpc(self, method: str, *params: Any) -> Any:
        response = httpx.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30
        )
        body = response.json()
        if "error" in body:
            raise RuntimeError(f"{method}: {body['error']}")
        return body["result"]


@dataclass
class Drill:
    """One fault drill's world: its own chain (from the image), database file and settings."""

    tmp: Path
    anvil: Anvil
    deployment_file: Path
    db_file: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def deployment(self) -> Deployment:
        return load_deployment(self.deployment_file)

    def chain(self) -> ChainClient:
        return ChainClient(self.deployment, ANVIL_ORCHESTRATOR_KEY, rpc_url=self.anvil.url)

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "state_dir": self.tmp / "state",
            "deployment_file": self.deployment_file,
            "rpc_url": self.anvil.url,
            "database_url": f"sqlite:///{self.db_file}",
            "frontend_dist": self.tmp / "no-dashboard",
            "round_deadline_s": 20.0,
            "runner_tick_s": 0.1,
            "outbox_retry_s": 0.3,
            "compute_processes": 0,
            "reconcile_interval_s": 1.0,
            "tx_stuck_after_s": 2.0,
            "settlement_stuck_after_s": 5.0,
        }
        values.update(overrides)
        return Settings(**values)

    def environment(self, **overrides: Any) -> dict[str, str]:
        settings = self.settings(**overrides)
        names = {
            "state_dir", "deployment_file", "rpc_url", "database_url", "frontend_dist", "round_deadline_s",
            "runner_tick_s", "outbox_retry_s", "compute_processes", "reconcile_interval_s",
            "tx_stuck_after_s", "settlement_stuck_after_s",
        }  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEDSHIELD_")}
        for name in names:
            env[f"FEDSHIELD_{name.upper()}"] = str(getattr(settings, name))
        return env


def make_drill(tmp: Path, image: Path, image_deployment: Path) -> Drill:
    """A fresh anvil loaded from the chain image on a free port, and an empty database."""
    state = tmp / "anvil-state.json"
    shutil.copy(image, state)
    anvil = Anvil(free_port(), state, tmp / "anvil.log")
    anvil.start()
    deployment = load_deployment(image_deployment).model_copy(update={"rpc_url": anvil.url})
    deployment_file = tmp / "deployment.json"
    deployment_file.write_text(json.dumps(deployment.model_dump(), indent=2))
    return Drill(tmp, anvil, deployment_file, tmp / "fedshield.db")


class OrchestratorProcess:
    """`fedshield serve` in its own process; kill -9 it and start it again on the same database."""

    def __init__(self, drill: Drill, **settings: Any) -> None:
        self.port = free_port()
        self.env = drill.environment(**settings)
        self.log_file = drill.tmp / "orchestrator.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        """Starts it and waits until it answers; returns the seconds that took."""
        started = time.monotonic()
        log = open(self.log_file, "ab")  # noqa: SIM115 - the child holds it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--port", str(self.port)],
            cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        process = self.process

        def up() -> bool:
            assert process.poll() is None, f"orchestrator exited: {self.log_file.read_text()[-3000:]}"
            try:
                return httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, 90, "the orchestrator to answer")
        self.starts += 1
        return time.monotonic() - started

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


@contextmanager
def orchestrator_process(drill: Drill, **settings: Any) -> Iterator[OrchestratorProcess]:
    running = OrchestratorProcess(drill, **settings)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@contextmanager
def in_process(drill: Drill, **settings: Any) -> Iterator[tuple[Orchestrator, str]]:
    """The same orchestrator in this process, served over real HTTP on a free port."""
    orchestrator = Orchestrator(drill.settings(**settings))
    try:
        with live_server(create_app(orchestrator=orchestrator)) as url:
            yield orchestrator, url
    finally:
        orchestrator.stop()


@contextmanager
def node_fleet(url: str, experiment_id: int, accounts: tuple[int, ...]) -> Iterator[None]:
    """NodeClients (real training, signed posts over HTTP) for ``accounts``, on threads of this process."""
    stop = threading.Event()
    keys = [dev_keys(i, 1)[0] for i in accounts]
    thread = threading.Thread(
        target=run_fleet,
        args=(url, keys),
        kwargs={"experiment_id": experiment_id, "parallel": 2, "stop": stop},
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(60)


def create_experiment(url: str, *, rounds: int, attacker: bool = True, **overrides: Any) -> int:
    """A small, fast experiment (wine, 1 epoch) over the honest accounts and, if asked, the attacker."""
    accounts = (*HONEST, ATTACKER) if attacker else HONEST
    body: dict[str, Any] = {
        "name": "fault drill",
        "dataset_id": "wine",
        "num_nodes": len(accounts),
        "rounds": rounds,
        "local_epochs": 1,
        "batch_size": 16,
        "learning_rate": 0.05,
        "seed": 3,
    }
    if attacker:
        body["attack"] = {"kind": "sign_flip", "scale": 4.0, "nodes": [dev_account(ATTACKER).address]}
    body.update(overrides)
    with httpx.Client(base_url=url, timeout=30) as http:
        created = http.post("/api/experiments", json=body)
        assert created.status_code == 201, created.text
        experiment_id = int(created.json()["id"])
        for index in accounts:
            registered = register_wallet(http, experiment_id, dev_account(index).key.hex())
            assert registered.status_code == 201, registered.text
        assert http.post(f"/api/experiments/{experiment_id}/start").status_code == 200
    return experiment_id


def fleet_accounts(attacker: bool = True) -> tuple[int, ...]:
    return (*HONEST, ATTACKER) if attacker else HONEST


def rounds_of(url: str, experiment_id: int) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/experiments/{experiment_id}/rounds", timeout=30)
    assert response.status_code == 200, response.text
    rounds: list[dict[str, Any]] = response.json()
    return rounds


def experiment_status(url: str, experiment_id: int) -> str:
    return str(httpx.get(f"{url}/api/experiments/{experiment_id}", timeout=30).json()["status"])


def all_settled(url: str, experiment_id: int) -> bool:
    """The experiment completed and every one of its rounds is confirmed on chain."""
    if experiment_status(url, experiment_id) != "completed":
        return False
    rounds = rounds_of(url, experiment_id)
    return all(r["settlement"] and r["settlement"]["status"] == "confirmed" for r in rounds)


def settled_count(url: str, experiment_id: int) -> int:
    return sum(
        1
        for r in rounds_of(url, experiment_id)
        if r["settlement"] is not None and r["settlement"]["status"] == "confirmed"
    )
