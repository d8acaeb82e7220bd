"""A local fleet of simulated nodes: `workers.fleet` subprocesses, each hosting a batch of wallets.

Node `i` of the fleet signs with anvil dev account `first_account + i`, so the orchestrator (account 0)
never doubles as a node. Keys reach each subprocess on its stdin, never on its command line. Every
subprocess leads its own process group, and `stop()` signals the groups, waits, then kills what is left,
so no node outlives the fleet; the subprocesses also stop by themselves when this process dies.
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
from typing import IO

from backend.chain.accounts import dev_account
from backend.chain.client import ChainClient
from backend.chain.local import fund_and_stake_nodes, top_up_gas
from backend.settings import REPO_ROOT

STOP_TIMEOUT_S = 10.0
GAS_ETH_WEI = 10**18  # 1 ETH: enough gas for a node's approve and stake many times over


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
        if num_nodes < 1 or nodes_per_process < 1:
            raise ValueError(
                f"num_nodes and nodes_per_process must be positive, got {num_nodes}, {nodes_per_process}"
            )
        if first_account < 1:
            raise ValueError("first_account must be at least 1: dev account 0 is the orchestrator")
        fleet = cls()
        _live_fleets.append(fleet)
        try:
            for k, start in enumerate(range(first_account, first_account + num_nodes, nodes_per_process)):
                accounts = range(start, min(start + nodes_per_process, first_account + num_nodes))
                wallets = [dev_account(i) for i in accounts]
                keys = ["0x" + bytes(w.key).hex() for w in wallets]
                process, log_path = _launch(
                    orchestrator_url, experiment_id, keys, parallel, log_dir, k, python
                )
                fleet.processes.append(FleetProcess(process, accounts, log_path))
                fleet.addresses.extend(w.address for w in wallets)
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
