"""A real anvil with the contracts deployed, for any test that needs a chain."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.chain.accounts import ANVIL_ORCHESTRATOR_KEY
from backend.chain.client import ChainClient
from backend.chain.deployment import Deployment, write_deployment
from backend.chain.local import (
    AnvilOptions,
    deploy_contracts,
    free_port,
    fund_and_stake_nodes,
    start_anvil,
)


@dataclass
class LocalChain:
    """A running anvil with FLToken and FedShieldStaking deployed."""

    process: subprocess.Popen[bytes]
    rpc_url: str
    deployment: Deployment
    deployment_file: Path

    def rpc(self, method: str, *params: Any) -> Any:
        """A raw JSON-RPC call (anvil's evm_snapshot, evm_revert, ...)."""
        return self.client().rpc(method, *params)

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
