"""A local anvil chain: start it, deploy the contracts with forge, fund and stake the demo nodes."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from web3 import Web3

from backend.chain.accounts import ANVIL_MNEMONIC, dev_account
from backend.chain.client import ChainClient, flt
from backend.chain.deployment import DeployedContract, Deployment, load_deployment, write_deployment
from backend.chain.errors import ChainError, ChainUnreachable
from backend.chain.toolchain import REPO_ROOT, forge_env, foundry_binary

DEPLOY_SCRIPT = "contracts/script/01_Deploy.s.sol"
ARTIFACTS = REPO_ROOT / "contracts" / "out"
READY_TIMEOUT_S = 20.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (bind to port 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_rpc(
    url: str, timeout_s: float = READY_TIMEOUT_S, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until ``url`` answers eth_chainId, the process dies, or the timeout passes."""
    deadline = time.monotonic() + timeout_s
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 1}))
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ChainUnreachable(url, f"anvil exited with code {process.returncode}")
        try:
            w3.eth.chain_id  # noqa: B018
            return
        except Exception:
            time.sleep(0.05)
    raise ChainUnreachable(url, f"no answer within {timeout_s:.0f}s")


@dataclass
class AnvilOptions:
    """How to start anvil."""

    port: int = 8545
    chain_id: int = 31337
    # Enough dev accounts for a large local fleet (each node needs its own wallet).
    accounts: int = 128
    state_file: Path | None = None
    block_time: float | None = None
    log_file: Path | None = None
    # Linux: anvil gets SIGTERM when the thread that started it ends, even if that process was killed -9
    # (a bench or a test never leaves a chain behind). `chain up` turns it off: its anvil outlives it.
    die_with_parent: bool = True


def start_anvil(options: AnvilOptions) -> subprocess.Popen[bytes]:
    """Start anvil on 127.0.0.1 and wait until it answers."""
    cmd = [
        str(foundry_binary("anvil")),
        "--host", "127.0.0.1",
        "--port", str(options.port),
        "--chain-id", str(options.chain_id),
        "--accounts", str(options.accounts),
        "--mnemonic", ANVIL_MNEMONIC,
        "--gas-limit", "30000000",
    ]  # fmt: skip
    if options.state_file is not None:
        options.state_file.parent.mkdir(parents=True, exist_ok=True)
        # Dump state every few seconds too, so even a killed anvil loses at most that much.
        cmd += ["--state", str(options.state_file), "--state-interval", "5"]
    if options.block_time:
        cmd += ["--block-time", str(options.block_time)]
    log = open(options.log_file, "ab") if options.log_file else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent if options.die_with_parent and sys.platform == "linux" else None,
    )
    wait_for_rpc(f"http://127.0.0.1:{options.port}", process=process)
    return process


def _die_with_parent() -> None:
    """In the child before exec: ask the kernel for SIGTERM when the parent goes (prctl PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_process(pid: int, timeout_s: float = 10.0) -> bool:
    """SIGTERM ``pid`` and wait for it to exit (SIGKILL after ``timeout_s``); False if it was not running."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs; reaps it if it is our exited child (a zombie still answers kill 0)."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        return reaped == 0
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _artifact_abi(contract: str) -> list[dict[str, object]]:
    path = ARTIFACTS / f"{contract}.sol" / f"{contract}.json"
    abi: list[dict[str, object]] = json.loads(path.read_text())["abi"]
    return abi


def deploy_contracts(
    rpc_url: str, deployer_key: str, *, extra_env: dict[str, str] | None = None
) -> Deployment:
    """Deploy FLToken and FedShieldStaking with the forge script and describe the result."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    chain_id = w3.eth.chain_id
    start_block = w3.eth.block_number
    env = forge_env() | {"DEPLOYER_PRIVATE_KEY": deployer_key} | (extra_env or {})
    cmd = [
        str(foundry_binary("forge")),
        "script",
        DEPLOY_SCRIPT,
        "--rpc-url",
        rpc_url,
        "--broadcast",
        "--slow",
    ]
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # forge prints the key nowhere, but scrub it anyway before the output reaches a log.
        output = (done.stdout + done.stderr).replace(deployer_key, "<deployer key>")
        raise ChainError(f"forge script failed (exit {done.returncode}):\n{output[-4000:]}")
    broadcast = (
        REPO_ROOT / "contracts" / "broadcast" / Path(DEPLOY_SCRIPT).name / str(chain_id) / "run-latest.json"
    )
    created = {
        tx["contractName"]: tx["contractAddress"]
        for tx in json.loads(broadcast.read_text())["transactions"]
        if tx.get("transactionType") == "CREATE"
    }
    return Deployment(
        chain_id=chain_id,
        rpc_url=rpc_url,
        deployer=Account.from_key(deployer_key).address,
        deployment_block=start_block + 1,
        token=DeployedContract(
            address=Web3.to_checksum_address(created["FLToken"]), abi=_artifact_abi("FLToken")
        ),
        staking=DeployedContract(
            address=Web3.to_checksum_address(created["FedShieldStaking"]),
            abi=_artifact_abi("FedShieldStaking"),
        ),
    )


def build_contracts() -> None:
    """Compile the contracts (forge caches, so an unchanged tree costs almost nothing)."""
    cmd = [str(foundry_binary("forge")), "build"]
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=forge_env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ChainError(f"forge build failed:\n{(done.stdout + done.stderr)[-4000:]}")


def existing_deployment(path: Path, orchestrator_key: str) -> ChainClient | None:
    """A client for the deployment in ``path`` if that chain still holds its contracts, else None."""
    try:
        return ChainClient.from_file(path, orchestrator_key)
    except ChainError:  # missing or stale file, another chain, nothing listening: deploy afresh
        return None


def fund_and_stake_nodes(
    client: ChainClient, node_indices: range, *, fund_flt: int = 1_000, stake_flt: int = 100
) -> list[str]:
    """Give each dev account in ``node_indices`` FLT from the orchestrator and stake part of it."""
    staked: list[str] = []
    for index in node_indices:
        node = dev_account(index)
        status = client.node_status(node.address)
        if status.stake < flt(stake_flt):
            if status.balance < flt(stake_flt):
                client.fund(node.address, flt(fund_flt))
            client.stake(node, flt(stake_flt) - status.stake)
        staked.append(node.address)
    return staked


def top_up_gas(client: ChainClient, address: str, wei: int) -> None:
    """Give ``address`` ``wei`` of ETH if it holds less than a tenth of it, through anvil's
    ``anvil_setBalance`` (which leaves the orchestrator's nonce alone; dev chains only)."""
    if client.eth_balance(address) < wei // 10:
        try:
            client.rpc("anvil_setBalance", address, hex(wei))
        except ChainError as exc:
            raise ChainError(
                f"wallet {address} has no ETH for gas and the chain refused to give it: {exc}"
            ) from None


def stake_impersonated(client: ChainClient, node: str, amount: int) -> None:
    """Approve and stake ``amount`` FLT wei from ``node`` without its key, through anvil's impersonation."""
    top_up_gas(client, node, 10**18)
    client.rpc("anvil_impersonateAccount", node)
    try:
        for call in (
            client.token.functions.approve(client.staking.address, amount),
            client.staking.functions.stake(amount),
        ):
            client.w3.eth.wait_for_transaction_receipt(call.transact({"from": node}))
    finally:
        client.rpc("anvil_stopImpersonatingAccount", node)


def chain_up(
    *,
    deployment_file: Path,
    orchestrator_key: str,
    options: AnvilOptions,
    pid_file: Path,
    demo_nodes: int = 10,
) -> tuple[Deployment, bool]:
    """Start (or reuse) anvil, deploy (or reuse) the contracts and stake the demo nodes.

    Returns the deployment and whether it was reused rather than deployed now.
    """
    rpc_url = f"http://127.0.0.1:{options.port}"
    try:
        wait_for_rpc(rpc_url, timeout_s=0.3)
    except ChainUnreachable:
        process = start_anvil(options)
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(str(process.pid))
    client = existing_deployment(deployment_file, orchestrator_key) if deployment_file.exists() else None
    reused = client is not None
    if client is None:
        build_contracts()
        deployment = deploy_contracts(rpc_url, orchestrator_key)
        write_deployment(deployment_file, deployment)
        client = ChainClient(deployment, orchestrator_key, deployment_file=str(deployment_file))
    # Dev account 0 is the orchestrator; the demo nodes are the next ones.
    nodes = fund_and_stake_nodes(client, range(1, 1 + demo_nodes))
    deployment = client.deployment.model_copy(update={"demo_nodes": nodes})
    write_deployment(deployment_file, deployment)
    return load_deployment(deployment_file), reused
