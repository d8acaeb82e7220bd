"""A fleet of simulated nodes: `workers.fleet` subprocesses (`Fleet`) or Ray actors (`RayFleet`), each
hosting a batch of wallets.

Node `i` of the fleet signs with anvil dev account `first_account + i`, so the orchestrator (account 0)
never doubles as a node. Keys reach each subprocess on its stdin, never on its command line. Every
subprocess leads its own process group, and `stop()` signals the groups, waits, then kills what is left,
so no node outlives the fleet; the subprocesses also stop by themselves when this process dies. A Ray
fleet's actors run the same node loop (`workers.fleet.FleetHost`), get their keys as call arguments, and
are owned by this process, so Ray ends them with it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from backend.chain.accounts import dev_account
from backend.chain.client import ChainClient
from backend.chain.local import fund_and_stake_nodes, top_up_gas
from backend.settings import REPO_ROOT

STOP_TIMEOUT_S = 10.0
GAS_ETH_WEI = 10**18  # 1 ETH: enough gas for a node's approve and stake many times over


@dataclass(frozen=True)
class FleetPlan:
    """A fleet to start: which orchestrator and experiment it serves, and which wallets on how many hosts."""

    orchestrator_url: str
    experiment_id: int | None  # None: every node serves the newest running experiment
    num_nodes: int  # dev accounts first_account .. first_account + num_nodes - 1
    nodes_per_host: int = 25  # nodes per subprocess or actor
    first_account: int = 1
    parallel: int = 1  # nodes of one host training at the same time

    def __post_init__(self) -> None:
        if self.num_nodes < 1 or self.nodes_per_host < 1:
            raise ValueError(
                f"num_nodes and nodes per host must be positive, got {self.num_nodes}, {self.nodes_per_host}"
            )
        if self.first_account < 1:
            raise ValueError("first_account must be at least 1: dev account 0 is the orchestrator")

    def hosts(self) -> list[range]:
        """The dev account indices of each host, in order (the last host may hold fewer)."""
        end = self.first_account + self.num_nodes
        step = self.nodes_per_host
        return [range(start, min(start + step, end)) for start in range(self.first_account, end, step)]


@dataclass
class FleetProcess:
    """One `workers.fleet` subprocess and the dev accounts it hosts."""

    process: subprocess.Popen[bytes]
    accounts: range  # dev account indices
    log_path: Path | None

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass
class Fleet:
    """Simulated nodes running as subprocesses of this one; a context manager that stops them on exit."""

    processes: list[FleetProcess] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)  # in node order

    @classmethod
    def start(
        cls,
        orchestrator_url: str,
        experiment_id: int | None,
        num_nodes: int,
        *,
        nodes_per_process: int = 25,
        first_account: int = 1,
        parallel: int = 1,
        log_dir: Path | None = None,
        python: str = sys.executable,
    ) -> Fleet:
        """Launches ceil(num_nodes / nodes_per_process) subprocesses serving `experiment_id`.

        `experiment_id` None lets every node serve the newest running experiment. Output of subprocess k
        goes to `log_dir/fleet-k.log` (the final per-node JSON reports included), or is discarded.
        """
        plan = FleetPlan(
            orchestrator_url, experiment_id, num_nodes, nodes_per_process, first_account, parallel
        )
        fleet = cls()
        _live_fleets.append(fleet)
        try:
            for k, accounts in enumerate(plan.hosts()):
                process, log_path = _launch(
                    orchestrator_url, experiment_id, dev_keys_of(accounts), parallel, log_dir, k, python
                )
                fleet.processes.append(FleetProcess(process, accounts, log_path))
                fleet.addresses.extend(dev_account(i).address for i in accounts)
        except BaseException:
            fleet.stop()
            raise
        return fleet

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def running(self) -> int:
        """How many subprocesses are still alive."""
        return sum(p.process.poll() is None for p in self.processes)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Waits for every subprocess to exit by itself (experiment over); False on timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for p in self.processes:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                p.process.wait(remaining)
            except subprocess.TimeoutExpired:
                return False
        return True

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM every process group, then SIGKILL whatever is still there after `timeout_s`."""
        for p in self.processes:
            _signal_group(p.process, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for p in self.processes:
            try:
                p.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(p.process, signal.SIGKILL)
                p.process.wait()
        if self in _live_fleets:
            _live_fleets.remove(self)

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class RayFleet:
    """Simulated nodes on Ray actors, many nodes per actor; the same interface as `Fleet`."""

    actors: list[Any] = field(default_factory=list)  # ray actor handles of workers.fleet.FleetHost
    runs: list[Any] = field(default_factory=list)  # each actor's `run` ObjectRef: ready once its nodes stop
    accounts: list[range] = field(default_factory=list)  # dev account indices, per actor
    addresses: list[str] = field(default_factory=list)  # in node order
    owns_ray: bool = False  # this fleet started the local Ray, so it shuts it down

    @classmethod
    def start(cls, plan: FleetPlan, *, address: str | None = None, num_cpus: int | None = None) -> RayFleet:
        """Starts one actor per host of `plan`; joins the Ray this process is connected to, else `address`,
        else starts a local one (`num_cpus` CPUs)."""
        import ray

        from backend.engine.ray_executor import cluster_cpus, connect
        from workers.fleet import FleetHost

        batches = plan.hosts()
        fleet = cls(owns_ray=connect(address, num_cpus))
        try:
            # Nodes mostly wait on HTTP: actors share the CPUs rather than queue for whole ones.
            host = ray.remote(FleetHost).options(
                num_cpus=min(1.0, cluster_cpus() / len(batches)), max_concurrency=2
            )
            for accounts in batches:
                actor: Any = host.remote()
                fleet.actors.append(actor)
                fleet.runs.append(
                    actor.run.remote(
                        plan.orchestrator_url, dev_keys_of(accounts), plan.experiment_id, plan.parallel
                    )
                )
                fleet.accounts.append(accounts)
                fleet.addresses.extend(dev_account(i).address for i in accounts)
        except BaseException:
            fleet.stop()
            raise
        return fleet

    def running(self) -> int:
        """How many actors still have nodes serving."""
        import ray

        done, _ = ray.wait(self.runs, num_returns=len(self.runs), timeout=0)
        return len(self.runs) - len(done)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Waits for every actor's nodes to stop by themselves (experiment over); False on timeout."""
        import ray

        done, _ = ray.wait(self.runs, num_returns=len(self.runs), timeout=timeout_s)
        return len(done) == len(self.runs)

    def reports(self) -> list[dict[str, Any]]:
        """Every node's report (`workers.node.NodeReport` as a dict), in node order, once all have stopped."""
        import ray

        return [report for batch in ray.get(self.runs) for report in batch]

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Asks every actor's nodes to stop, waits up to `timeout_s`, then kills the actors."""
        import ray

        for actor in self.actors:
            actor.stop.remote()
        if self.runs:
            ray.wait(self.runs, num_returns=len(self.runs), timeout=timeout_s)
        for actor in self.actors:
            ray.kill(actor)
        if self.owns_ray:
            ray.shutdown()
            self.owns_ray = False

    def __enter__(self) -> RayFleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def dev_keys_of(accounts: range) -> list[str]:
    """The 0x hex private keys of anvil dev accounts `accounts`."""
    return ["0x" + bytes(dev_account(i).key).hex() for i in accounts]


def stake_fleet(
    client: ChainClient,
    num_nodes: int,
    *,
    first_account: int = 1,
    fund_flt: int = 1_000,
    stake_flt: int = 100,
) -> list[str]:
    """Funds (gas and FLT) and stakes the wallets of a fleet's nodes; already staked ones are left as they are.

    Anvil funds only its first `--accounts` dev accounts with ETH; wallets beyond get gas through anvil's
    `anvil_setBalance`, which leaves the orchestrator's nonce alone (fleets are anvil dev wallets anyway).
    """
    indices = range(first_account, first_account + num_nodes)
    for index in indices:
        top_up_gas(client, dev_account(index).address, GAS_ETH_WEI)
    return fund_and_stake_nodes(client, indices, fund_flt=fund_flt, stake_flt=stake_flt)


def _launch(
    orchestrator_url: str,
    experiment_id: int | None,
    keys: list[str],
    parallel: int,
    log_dir: Path | None,
    k: int,
    python: str,
) -> tuple[subprocess.Popen[bytes], Path | None]:
    cmd = [python, "-m", "workers.fleet", "--orchestrator", orchestrator_url, "--keys-from-stdin",
           "--parallel", str(parallel), "--parent-pid", str(os.getpid())]  # fmt: skip
    if experiment_id is not None:
        cmd += ["--experiment", str(experiment_id)]
    log_path: Path | None = None
    out: IO[bytes] | int = subprocess.DEVNULL
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"fleet-{k}.log"
        out = open(log_path, "ab")  # noqa: SIM115 - the child holds it; ours closes right after Popen
    env = os.environ | {"PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    try:
        process = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
    finally:
        if not isinstance(out, int):
            out.close()
    assert process.stdin is not None
    process.stdin.write("".join(key + "\n" for key in keys).encode())
    process.stdin.close()
    return process, log_path


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)  # start_new_session made the child its group's leader: pgid == pid


_live_fleets: list[Fleet] = []


@atexit.register
def _stop_live_fleets() -> None:
    for fleet in list(_live_fleets):
        fleet.stop(timeout_s=3.0)
