"""Stopping scripts/demo: Ctrl-C (SIGINT) or SIGTERM on the script itself stops the orchestrator, every node
process and the chain it started, and frees their ports. Real script, real processes, real signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from backend.chain.local import free_port
from backend.settings import REPO_ROOT
from tests.support.processes import alive, children
from tests.support.server import wait_for


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _serving(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/experiments/1", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_the_demo_leaves_no_process_and_no_port(
    sig: signal.Signals, contracts_built: None, tmp_path: Path
) -> None:
    port, chain_port = free_port(), free_port()
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDSHIELD_")} | {
        "FEDSHIELD_PORT": str(port),
        "FEDSHIELD_CHAIN_PORT": str(chain_port),
        "FEDSHIELD_STATE_DIR": str(state),
        "FEDSHIELD_DEPLOYMENT_FILE": str(state / "deployment.json"),
    }
    log = open(tmp_path / "demo.log", "ab")  # noqa: SIM115 - the child holds it
    demo = subprocess.Popen(
        [str(REPO_ROOT / "scripts" / "demo"), "--no-setup"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
    )
    log.close()
    try:
        wait_for(lambda: _serving(f"http://127.0.0.1:{port}"), 120, "the demo's experiment")
        nodes = wait_for(
            lambda: [p for p in _descendants(demo.pid) if b"workers.fleet" in _cmdline(p)], 60, "its nodes"
        )
        anvil = int((state / "anvil.pid").read_text())
        started = _descendants(demo.pid) | {anvil}
        assert nodes and alive(anvil) and not _port_free(port) and not _port_free(chain_port)

        demo.send_signal(sig)  # to the script alone, as `kill` does; Ctrl-C in a terminal reaches its group
        assert demo.wait(60) == 128 + sig, (tmp_path / "demo.log").read_text()[-3000:]
        wait_for(lambda: not [p for p in started if alive(p)], 20, "every process the demo started to exit")
        assert _port_free(port) and _port_free(chain_port)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(10)
        for pid in _descendants(demo.pid):
            os.kill(pid, signal.SIGKILL)
        if (state / "anvil.pid").exists() and alive(anvil_pid := int((state / "anvil.pid").read_text())):
            os.kill(anvil_pid, signal.SIGKILL)
