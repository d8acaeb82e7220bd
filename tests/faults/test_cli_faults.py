"""The CLI under faults: `fedshield chain reconcile` after a chain lost a block and another process took its
round id (it re-queues the lost settlement, finds the ledger whole once the orchestrator re-sent it under the
next round id, and exits 1 on a round paid twice), and
every process a command starts dies with it on SIGTERM (and, for anvil, even on SIGKILL)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.chain.accounts import dev_account
from backend.chain.local import free_port
from backend.settings import REPO_ROOT
from tests.faults.ledger import Baseline, check_ledger
from tests.faults.stack import (
    HONEST,
    Drill,
    all_settled,
    create_experiment,
    in_process,
    node_fleet,
    rounds_of,
    settled_count,
)
from tests.support.processes import alive, children
from tests.support.server import wait_for


def _fedshield(drill: Drill, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=REPO_ROOT, env=drill.environment(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _report(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_chain_reconcile_requeues_what_the_chain_lost_and_fails_on_a_round_paid_twice(drill: Drill) -> None:
    baseline = Baseline.take(drill.chain(), [dev_account(i).address for i in HONEST])
    older = drill.tmp / "older-state.json"
    with in_process(drill) as (_, url):
        experiment = create_experiment(url, rounds=2, attacker=False)
        with node_fleet(url, experiment, HONEST):
            wait_for(lambda: settled_count(url, experiment) >= 1, 120, "round 1 settled")
            drill.anvil.snapshot(older)
            wait_for(lambda: all_settled(url, experiment), 120, "round 2 settled")
    # The orchestrator is down; the chain dies and comes back without its last block.
    drill.anvil.kill9()
    shutil.copy(older, drill.anvil.state_file)
    drill.anvil.start()

    # Another process with the orchestrator's key settles a round of its own: chain round 2 is taken.
    example = _fedshield(drill, "chain", "settle-example", "--slashed", "0")
    assert example.returncode == 0, example.stdout + example.stderr

    looked = _fedshield(drill, "chain", "reconcile", "--json", "--dry-run")  # compares, changes nothing
    assert looked.returncode == 1, looked.stdout + looked.stderr
    unrepaired = _report(looked)["unrepaired"]
    assert _report(looked)["requeued"] == [] and len(unrepaired) == 1 + len(HONEST)  # the round, each node
    assert "round 2: chain round 2 holds another settlement" in unrepaired[0]

    done = _fedshield(drill, "chain", "reconcile", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = _report(done)
    assert report["requeued"] == [{"experiment_id": experiment, "round": 2}]
    assert report["chain_last_round_id"] == 2 and report["db_last_round_id"] == 2
    assert report["foreign_rounds"] == [2]
    checks = {r["round"]: r for r in report["rounds"]}
    assert {k: r["outcome"] for k, r in checks.items()} == {1: "ok", 2: "requeued"}
    assert "chain round 2 holds another settlement" in checks[2]["detail"]
    assert all(n["matches"] for n in report["nodes"]) and len(report["nodes"]) == len(HONEST)

    with in_process(drill) as (_, url):  # the outbox sends the re-queued round under the next round id
        back = time.monotonic()
        wait_for(lambda: all_settled(url, experiment), 30, "the re-queued round settled")
        caught_up = time.monotonic() - back
        figures = check_ledger(url, drill.chain(), [experiment], baseline, foreign_rounds=frozenset({2}))
        resent = rounds_of(url, experiment)
        assert resent[1]["settlement"]["chain_round_id"] == 3  # the chain's next round id
        first = resent[0]
    table = _fedshield(drill, "chain", "reconcile")
    assert table.returncode == 0 and "ledger consistent" in table.stdout, table.stdout + table.stderr

    # Someone holding the orchestrator key settles round 1's results again: paid twice, not repairable.
    chain = drill.chain()
    honest = [str(dev_account(i).address) for i in HONEST]
    root = first["settlement"]["results_root"]
    chain.settle_round(chain.last_round_id() + 1, first["model_hash"], root, honest, [])
    twice = _fedshield(drill, "chain", "reconcile", "--json")
    assert twice.returncode == 1, twice.stdout + twice.stderr
    assert any("settled 2 times" in problem for problem in _report(twice)["unrepaired"])
    print(f"\nFAULT reconcile CLI after a lost block: re-settled {caught_up:.1f}s after the orchestrator "
          f"came back; {figures.line()}")  # fmt: skip


def _named(pids: list[int], name: str) -> list[int]:
    found = []
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                found.append(pid)
        except OSError:
            continue
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_killed_bench_chain_leaves_no_anvil_behind(
    contracts_built: None, tmp_path: Path, sig: signal.Signals
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDSHIELD_")}
    env["FEDSHIELD_STATE_DIR"] = str(tmp_path)
    bench = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "bench", "chain", "--sizes", "10,100,1000"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        found = wait_for(lambda: _named(children(bench.pid), "anvil"), 60, "the bench's anvil")
        assert isinstance(found, list)
        (anvil,) = found
        bench.send_signal(sig)
        bench.wait(30)
        wait_for(lambda: not alive(anvil), 15, "the bench's anvil to exit")
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait(10)


def test_serve_stopped_with_sigterm_stops_its_fleet_and_resumes_its_experiment(drill: Drill) -> None:
    port = free_port()
    command = [sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--fleet", "2",
               "--dataset", "wine", "--rounds", "1000"]  # fmt: skip
    for run in ("first", "after the restart"):
        serve = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=drill.environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            pid = serve.pid
            found = wait_for(lambda: _fleet_children(pid), 90, f"the fleet's node process ({run})")  # noqa: B023
            assert isinstance(found, list)
            experiments = httpx.get(f"http://127.0.0.1:{port}/api/experiments", timeout=10).json()
            # After the restart the fleet trains the experiment it had started, not a new one beside it.
            assert [(e["id"], e["status"]) for e in experiments] == [(1, "running")], experiments
            serve.send_signal(signal.SIGTERM)
            serve.wait(60)
            nodes = list(found)
            wait_for(lambda: not any(alive(n) for n in nodes), 20, "the node processes to exit")  # noqa: B023
        finally:
            if serve.poll() is None:
                serve.kill()
                serve.wait(10)


def _fleet_children(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        try:
            if b"workers.fleet" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue
    return found
