"""The API under load: throughput and p50/p99 of the status, log and probe reads under N concurrent clients,
measured while a round of M signed updates is received and screened, against a bare FastAPI ceiling.

One run, four processes besides a fresh anvil (contracts deployed, M dev wallets staked):

- the orchestrator, served by uvicorn as `fedshield serve` serves it, on a throwaway SQLite file;
- a bare FastAPI app (one trivial sync GET returning a small JSON), served the same way: the ceiling;
- the load generator (`backend.bench.load`, asyncio + aiohttp, one process): N keep-alive readers;
- this process, which prepares everything before the clock runs and then only waits.

Before any measurement, three experiments of M nodes are created, the M wallets registered in each and
the experiments started; M honest updates are trained in-process (`backend.engine.simulation`) and signed
once per experiment. Each endpoint then gets its own phase: the N readers read it while the generator posts
that phase's experiment's M updates, until the round they fill is recorded. The ceiling phase reads the
bare app for a fixed time. Each server records how late its event loop wakes (`backend.bench.served`), so a
round that blocked the loop would show.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.table import Table

from backend.chain.accounts import ANVIL_ORCHESTRATOR_KEY, dev_account
from backend.chain.client import ChainClient
from backend.chain.deployment import load_deployment, write_deployment
from backend.chain.local import (
    AnvilOptions,
    build_contracts,
    deploy_contracts,
    free_port,
    start_anvil,
    stop_process,
)
from backend.settings import REPO_ROOT
from workers.node import register_wallet

ENDPOINTS = ("status", "log", "probe")
STATUS_P99_TARGET_MS = 200.0
CEILING_SHARE_TARGET = 0.30
LOG_PAGE = 50  # the dashboard's log page: the newest events
NEWEST = 2**53 - 1  # the dashboard asks for the page below Number.MAX_SAFE_INTEGER
READ_TIMEOUT_S = 30.0
ROUND_TIMEOUT_S = 300.0
START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ApiLoadReport:
    clients: int
    updates: int
    dataset: str
    ceiling: dict[str, Any]
    endpoints: dict[str, dict[str, Any]]  # by endpoint: load generator figures, ratio and loop lag added
    machine: dict[str, Any]

    def targets(self) -> dict[str, dict[str, Any]]:
        """The issue's targets, each with its value and whether it is met."""
        status = self.endpoints["status"]
        errors = {name: e["errors"] for name, e in self.endpoints.items() if e["errors"]}
        errors |= {f"{name} updates": bad for name, e in self.endpoints.items() if (bad := _bad_posts(e))}
        unclosed = [
            n
            for n, e in self.endpoints.items()
            if not (e["round"]["closed"] and e["round"]["next_round_opened"])
        ]
        return {
            "status_p99_ms": {"target": f"< {STATUS_P99_TARGET_MS:g}", "value": status["p99_ms"],
                              "met": status["p99_ms"] is not None and status["p99_ms"] < STATUS_P99_TARGET_MS},
            **{f"{name}_share_of_ceiling": {"target": f">= {CEILING_SHARE_TARGET:.0%}", "value": e["share_of_ceiling"],
                                            "met": e["share_of_ceiling"] >= CEILING_SHARE_TARGET}
               for name, e in self.endpoints.items()},
            "no_errors": {"target": "none", "value": errors, "met": not errors and not self.ceiling["errors"]},
            "rounds_kept_closing": {"target": "every phase's round recorded and the next opened",
                                    "value": unclosed or "all", "met": not unclosed},
        }  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return {"clients": self.clients, "updates": self.updates, "dataset": self.dataset,
                "machine": self.machine, "ceiling": self.ceiling, "endpoints": self.endpoints,
                "targets": self.targets()}  # fmt: skip

    def table(self) -> Table:
        table = Table(
            title=f"API under {self.clients} concurrent clients while a round of {self.updates} {self.dataset} "
            f"updates is received and screened ({self.machine['cpus']} CPUs)"
        )
        columns = ("read", "req/s", "of ceiling", "p50 ms", "p99 ms", "errors", "round closed after s",
                   "loop lag max ms")  # fmt: skip
        for column in columns:
            table.add_column(column, justify="left" if column == "read" else "right")
        c = self.ceiling
        table.add_row("bare FastAPI GET (ceiling)", f"{c['throughput_rps']:.0f}", "100%", _ms(c["p50_ms"]),
                      _ms(c["p99_ms"]), _errors(c["errors"]), "-", _ms(c["loop_lag_max_ms"]))  # fmt: skip
        for e in self.endpoints.values():
            r = e["round"]
            closed = f"{r['closed_after_s']:.1f}" if r["closed"] else "[red]not closed[/red]"
            table.add_row(e["read"], f"{e['throughput_rps']:.0f}", f"{e['share_of_ceiling']:.0%}",
                          _ms(e["p50_ms"]), _ms(e["p99_ms"]), _errors(e["errors"] | _bad_posts(e)), closed,
                          _ms(e["loop_lag_max_ms"]))  # fmt: skip
        return table

    def verdicts(self) -> list[str]:
        """One line per target: met, or missed and by how much."""
        lines = []
        for name, t in self.targets().items():
            mark = "met" if t["met"] else "MISSED"
            lines.append(f"{name}: {mark} (target {t['target']}, measured {t['value']})")
        return lines


def _bad_posts(endpoint: dict[str, Any]) -> dict[str, int]:
    return {f"update {k}": v for k, v in endpoint["round"]["posted"].items() if k != "202"}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in errors.items()) or "0"


# ----------------------------------------------------------------------------------------------- processes


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


@dataclass(frozen=True)
class ServerProcess:
    url: str
    lag_file: Path


@contextmanager
def _server(app: str, tmp: Path, env: dict[str, str], ready_path: str) -> Iterator[ServerProcess]:
    """`backend.bench.served` in its own process group; SIGINT (uvicorn's orderly stop) on the way out."""
    port = free_port()
    lag_file, log_file = tmp / f"{app}-lag.json", tmp / f"{app}.log"
    cmd = [
        sys.executable,
        "-m",
        "backend.bench.served",
        app,
        "--port",
        str(port),
        "--lag-file",
        str(lag_file),
    ]
    with open(log_file, "ab") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, url + ready_path, log_file)
        yield ServerProcess(url, lag_file)
    finally:
        _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], url: str, log_file: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}): {log_file.read_text()[-2000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=5).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {url} within {START_TIMEOUT_S:.0f}s")


def _stop(process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _env(**settings: str) -> dict[str, str]:
    env = os.environ | {f"FEDSHIELD_{k.upper()}": v for k, v in settings.items()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _lag_max_ms(lag_file: Path, started_at: float, ended_at: float) -> float | None:
    """The latest the server's event loop woke inside a window (its samples cover the whole run)."""
    samples = json.loads(lag_file.read_text()) if lag_file.is_file() else []
    inside = [lag for moment, lag in samples if started_at <= moment <= ended_at]
    return round(max(inside) * 1000, 2) if inside else None


# ------------------------------------------------------------------------------------------------- set-up


def _honest_payloads(dataset: str, count: int, directory: Path) -> list[tuple[str, int]]:
    """`count` honest updates of round 1, trained in this process: (file name, samples) per node."""
    from backend.engine.simulation import ExperimentConfig, collect_submissions, prepare

    directory.mkdir(parents=True, exist_ok=True)
    submissions = collect_submissions(prepare(ExperimentConfig(dataset=dataset, num_nodes=count)))
    found = []
    for s in submissions:
        name = f"node-{s.node_id:03d}.safetensors"
        (directory / name).write_bytes(s.payload)
        found.append((name, s.num_samples))
    return found


def _experiment(http: httpx.Client, name: str, dataset: str, nodes: int, keys: list[str]) -> dict[str, Any]:
    """Created, every wallet registered, started: round 1 opens from the initial model and waits for them."""
    created = http.post("/api/experiments", json={
        "name": f"bench api: {name}", "dataset_id": dataset, "num_nodes": nodes, "rounds": 3,
        "round_deadline_s": 86_400,  # closes at quorum only: when every update of the phase is in
    })  # fmt: skip
    created.raise_for_status()
    experiment = created.json()
    for key in keys:
        register_wallet(http, experiment["id"], key).raise_for_status()
    http.post(f"/api/experiments/{experiment['id']}/start").raise_for_status()
    return dict(experiment)


def _signed_updates(
    experiment: dict[str, Any], domain: dict[str, Any], keys: list[str], addresses: list[str],
    payloads: list[tuple[str, int]], payload_dir: Path,
) -> list[dict[str, Any]]:  # fmt: skip
    from workers.protocol import UpdateMessage, sign_update
    from workers.wire import model_hash

    items = []
    for key, address, (name, samples) in zip(keys, addresses, payloads, strict=True):
        message = UpdateMessage(
            experiment=int(experiment["id"]),
            round=1,
            base_model_hash=str(experiment["initial_model_hash"]),
            update_hash=model_hash((payload_dir / name).read_bytes()),
            num_samples=samples,
        )
        items.append({"address": address, "message": message.to_json(),
                      "signature": sign_update(key, domain, message), "payload": name})  # fmt: skip
    return items


def _reads(url: str, experiment_id: int) -> dict[str, dict[str, Any]]:
    return {
        "status": {"method": "GET", "url": f"{url}/api/experiments/{experiment_id}",
                   "label": "GET /api/experiments/{id}"},
        "log": {"method": "GET", "url": f"{url}/api/events/log?before={NEWEST}&limit={LOG_PAGE}",
                "label": f"GET /api/events/log (newest {LOG_PAGE})"},
        "probe": {"method": "POST", "url": f"{url}/api/attack-probe", "label": "POST /api/attack-probe",
                  "json": {"experiment_id": experiment_id, "attack": {"kind": "sign_flip", "num_attackers": 1}},
                  "vary_scale": True},
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------- the bench


def measure_api_load(
    *,
    clients: int = 100,
    updates: int = 200,
    dataset: str = "digits",
    ceiling_s: float = 5.0,
    warmup_s: float = 1.0,
    progress: Callable[[str], None] = print,
) -> ApiLoadReport:
    """Runs the whole benchmark (a few minutes on 2 cores: deploy, stake, register, train, measure)."""
    from backend.cli.fleet import stake_fleet
    from workers.protocol import eip712_domain

    with tempfile.TemporaryDirectory(prefix="fedshield-bench-api-") as tmp_name:
        tmp = Path(tmp_name)
        progress("starting anvil and deploying the contracts…")
        with _bench_chain(tmp) as deployment_file:
            progress(f"funding and staking {updates} node wallets…")
            stake_fleet(ChainClient.from_file(deployment_file, ANVIL_ORCHESTRATOR_KEY), updates)
            wallets = [dev_account(i) for i in range(1, updates + 1)]
            keys = ["0x" + bytes(w.key).hex() for w in wallets]
            addresses = [str(w.address) for w in wallets]
            deployment = load_deployment(deployment_file)
            domain = eip712_domain(deployment.chain_id, deployment.staking.address)
            env = _env(state_dir=str(tmp / "state"), deployment_file=str(deployment_file),
                       database_url=f"sqlite:///{tmp / 'bench.db'}", frontend_dist=str(tmp / "none"))  # fmt: skip
            with (
                _server("orchestrator", tmp, env, "/api/health") as orchestrator,
                _server("bare", tmp, env, "/ping") as bare,
            ):
                with httpx.Client(base_url=orchestrator.url, timeout=120) as http:
                    progress(f"creating {len(ENDPOINTS)} experiments of {updates} registered nodes…")
                    experiments = {e: _experiment(http, e, dataset, updates, keys) for e in ENDPOINTS}
                    progress(f"training and signing {updates} honest updates…")
                    payload_dir = tmp / "payloads"
                    payloads = _honest_payloads(dataset, updates, payload_dir)
                    progress("warming the probe's cache…")
                    http.post("/api/attack-probe", json={"experiment_id": experiments["probe"]["id"],
                                                         "attack": {"kind": "none"}}).raise_for_status()  # fmt: skip
                phases: list[dict[str, Any]] = [
                    {"name": "ceiling", "read": {"method": "GET", "url": bare.url + "/ping"},
                     "duration_s": ceiling_s},
                ]  # fmt: skip
                for name, experiment in experiments.items():
                    eid = int(experiment["id"])
                    signed = _signed_updates(experiment, domain, keys, addresses, payloads, payload_dir)
                    phases.append({
                        "name": name, "read": _reads(orchestrator.url, eid)[name],
                        "status_url": f"{orchestrator.url}/api/experiments/{eid}",
                        "round_timeout_s": ROUND_TIMEOUT_S,
                        "updates": {"url": f"{orchestrator.url}/api/experiments/{eid}/updates",
                                    "payload_dir": str(payload_dir), "items": signed},
                    })  # fmt: skip
                plan = {
                    "clients": clients,
                    "warmup_s": warmup_s,
                    "timeout_s": READ_TIMEOUT_S,
                    "phases": phases,
                }
                (tmp / "plan.json").write_text(json.dumps(plan))
                progress(f"measuring: {clients} clients, the ceiling then {', '.join(ENDPOINTS)}…")
                results = _run_load(tmp / "plan.json", env)
        by_name = {r["name"]: r for r in results}
        ceiling = by_name["ceiling"] | {"loop_lag_max_ms": _lag_max_ms(bare.lag_file, by_name["ceiling"]["started_at"],
                                                                       by_name["ceiling"]["ended_at"])}  # fmt: skip
        endpoints = {}
        for name in ENDPOINTS:
            r = by_name[name]
            label = _reads("", 0)[name]["label"]
            share = r["throughput_rps"] / ceiling["throughput_rps"] if ceiling["throughput_rps"] else 0.0
            lag = _lag_max_ms(orchestrator.lag_file, r["started_at"], r["ended_at"])
            endpoints[name] = r | {"read": label, "share_of_ceiling": round(share, 3), "loop_lag_max_ms": lag}
    return ApiLoadReport(clients, updates, dataset, ceiling, endpoints, _machine())


def _run_load(plan: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "backend.bench.load", str(plan)], env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed ({done.returncode}): {done.stderr.strip()[-600:]}")
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor() or None,
            "python": platform.python_version()}  # fmt: skip
