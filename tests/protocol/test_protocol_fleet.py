"""Fleets of simulated nodes in subprocesses: real processes, real HTTP, and no process left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from backend.chain.accounts import dev_account
from backend.chain.client import flt
from backend.cli.fleet import Fleet, stake_fleet
from workers.fleet import dev_keys, parse_keys

ADDRESSES = [dev_account(i).address for i in range(1, 7)]


def _group_members(pgid: int) -> list[int]:
    """PIDs whose process group is `pgid` (read from /proc), zombies included."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # fields after "(comm)": state, ppid, pgrp, ...
                members.append(int(entry))
    return members


def test_two_processes_of_three_nodes_post_six_signed_updates_and_stop_leaves_nothing(
    orchestrator: Any, wait_for: Any, tmp_path: Path
) -> None:
    fake, url = orchestrator(nodes=ADDRESSES, rounds=3)
    fleet = Fleet.start(url, 1, 6, nodes_per_process=3, first_account=1, log_dir=tmp_path)
    try:
        assert len(fleet.processes) == 2 and fleet.addresses == ADDRESSES
        assert [list(p.accounts) for p in fleet.processes] == [[1, 2, 3], [4, 5, 6]]
        wait_for(lambda: len(fake.received) >= 6, 120, "six updates from the fleet")
        assert fake.rejected == []
        assert {r.update.address for r in fake.received if r.round == 1} == set(ADDRESSES)
        for process in fleet.processes:  # keys travel on stdin, never on the command line
            cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode()
            assert all(bytes(dev_account(i).key).hex() not in cmdline for i in process.accounts)
    finally:
        fleet.stop()
    assert fleet.running() == 0
    for process in fleet.processes:
        assert process.process.returncode == 0, (process.log_path or Path()).read_text()[-2000:]
        assert _group_members(process.pid) == []
    logs = "".join(p.log_path.read_text() for p in fleet.processes if p.log_path)
    assert "received SIGTERM: stopping the fleet" in logs
    assert all(bytes(dev_account(i).key).hex() not in logs for i in range(1, 7))


def test_a_fleet_exits_by_itself_when_the_experiment_completes(orchestrator: Any, tmp_path: Path) -> None:
    fake, url = orchestrator(nodes=ADDRESSES[:2], rounds=1)
    with Fleet.start(url, 1, 2, nodes_per_process=2, log_dir=tmp_path) as fleet:
        assert fleet.wait(timeout_s=120), "the fleet did not stop after the experiment completed"
    assert fake.status == "completed"
    (process,) = fleet.processes
    assert process.log_path is not None
    reports = [line for line in process.log_path.read_text().splitlines() if line.startswith("{")]
    assert len(reports) == 2 and all('"submitted_rounds": [1]' in r for r in reports)


def test_a_fleet_stops_when_its_parent_dies(orchestrator: Any, wait_for: Any, tmp_path: Path) -> None:
    _, url = orchestrator(nodes=ADDRESSES[:1], status="paused")
    # A short-lived parent starts the fleet and exits at once, without stopping it.
    code = (
        "import os, pathlib; from backend.cli.fleet import Fleet; "
        f"f = Fleet.start({url!r}, 1, 1, log_dir=pathlib.Path({str(tmp_path)!r})); "
        "print(f.pids[0], flush=True); os._exit(0)"  # dies without stopping it, as a crash would
    )
    parent = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    child = int(parent.stdout.strip())

    def gone() -> bool:
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        return state == "Z"

    try:
        wait_for(gone, 30, "the orphaned fleet process to notice and exit")
    finally:
        if not gone():
            os.killpg(child, signal.SIGKILL)
    assert "is gone: stopping the fleet" in (tmp_path / "fleet-0.log").read_text()


def test_keys_are_read_one_a_line_or_comma_separated() -> None:
    assert parse_keys("0xaa\n# comment\n\n0xbb, 0xcc  # trailing\n") == ["0xaa", "0xbb", "0xcc"]
    assert dev_keys(1, 2) == ["0x" + bytes(dev_account(i).key).hex() for i in (1, 2)]


@pytest.mark.chain
def test_stake_fleet_funds_gas_for_wallets_anvil_did_not_fund_and_stakes_them(chain: Any) -> None:
    client = chain.client()
    # Anvil funds its first 128 dev accounts with ETH; 128 and 129 start with none.
    first = 127
    assert client.eth_balance(dev_account(129).address) == 0
    staked = stake_fleet(client, 3, first_account=first, stake_flt=100)
    assert staked == [dev_account(i).address for i in (127, 128, 129)]
    for address in staked:
        status = client.node_status(address)
        assert status.stake == flt(100) and status.eligible
    # Idempotent: a second call stakes nothing more.
    stake_fleet(client, 3, first_account=first, stake_flt=100)
    assert all(client.node_status(a).stake == flt(100) for a in staked)
