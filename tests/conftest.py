"""Fixtures shared by every test folder: a real anvil with the contracts deployed."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.chain.accounts import ANVIL_ORCHESTRATOR_KEY
from backend.chain.client import ChainClient
from backend.chain.deployment import Deployment, write_deployment
from backend.chain.local import (
    AnvilOptions,
    build_contracts,
    deploy_contracts,
    free_port,
    fund_and_stake_nodes,
    start_anvil,
    stop_process,
)


@dataclass
class LocalChain:
    """A running anvil with FLToken and FedShieldStaking deployed."""

    process: subprocess.Popen[bytes]
    rpc_url: str
    deployment: Deployment
    deployment_file: Path

    def client(self) -> ChainClient:
        return ChainClient(self.deployment, ANVIL_ORCHESTRATOR_KEY, deployment_file=str(self.deployment_file))


def launch_chain(tmp: Path, *, chain_id: int = 31337, staked_nodes: int = 0) -> LocalChain:
    """Start anvil on a free port, deploy, optionally stake dev accounts 1..staked_nodes."""
    port = free_port()
    process = start_anvil(AnvilOptions(port=port, chain_id=chain_id, log_file=tmp / "anvil.log"))
    rpc_url = f"http://127.0.0.1:{port}"
    deployment = deploy_contracts(rpc_url, ANVIL_ORCHESTRATOR_KEY)
    path = tmp / "deployment.json"
    write_deployment(path, deployment)
    chain = LocalChain(process, rpc_url, deployment, path)
    if staked_nodes:
        nodes = fund_and_stake_nodes(chain.client(), range(1, 1 + staked_nodes))
        chain.deployment = deployment.model_copy(update={"demo_nodes": nodes})
        write_deployment(path, chain.deployment)
    return chain


@pytest.fixture(scope="session")
def contracts_built() -> None:
    build_contracts()


@pytest.fixture
def chain(contracts_built: None, tmp_path: Path) -> Iterator[LocalChain]:
    """A fresh chain per test, so no test sees another's rounds or balances."""
    local = launch_chain(tmp_path, staked_nodes=4)
    try:
        yield local
    finally:
        stop_process(local.process.pid)
