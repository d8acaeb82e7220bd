"""Settlement gas: one ``settleRound`` for N nodes against one mint transaction per rewarded node.

Runs on a throwaway anvil on a free port. Every node already holds FLT (as staked nodes do), and the
slashed 20% hold stake, so both ways pay the same storage costs and the ratio compares like with like.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_utils import keccak
from rich.table import Table

from backend.chain.accounts import ANVIL_ORCHESTRATOR_KEY, address_of_key
from backend.chain.client import ChainClient, flt
from backend.chain.local import (
    AnvilOptions,
    build_contracts,
    deploy_contracts,
    free_port,
    stake_impersonated,
    start_anvil,
    stop_process,
)

# The budget from the issue: 1,000 nodes must settle in one 30M-gas block.
FIXED_BUDGET = 75_000
PER_NODE_BUDGET = 10_000
# Fund in chunks so no single mintBatch approaches the block gas limit.
FUND_CHUNK = 250


@dataclass(frozen=True)
class GasRow:
    """One benchmark row."""

    nodes: int
    slashed: int
    gas: int
    gas_per_node: float
    naive_gas: int

    @property
    def ratio(self) -> float:
        """How many times more gas the naive way spends."""
        return self.naive_gas / self.gas

    @property
    def within_budget(self) -> bool:
        return self.gas <= FIXED_BUDGET + PER_NODE_BUDGET * self.nodes

    def as_json(self) -> dict[str, float | int]:
        return asdict(self)


def _node_addresses(tag: str, count: int) -> list[str]:
    return [address_of_key(keccak(text=f"fedshield-bench-{tag}-{i}")) for i in range(count)]


def _grant_minter_to_orchestrator(client: ChainClient) -> None:
    """The naive baseline mints from an EOA: give the bench's orchestrator the token's minter role."""
    minter_role = client.token.functions.MINTER_ROLE().call()
    sender = client.sender_for(client.orchestrator)
    sender.send(client.token.functions.grantRole(minter_role, client.orchestrator.address))


def _measure(client: ChainClient, round_id: int, nodes: int, slashed_fraction: float) -> GasRow:
    addresses = _node_addresses(str(nodes), nodes)
    sender = client.sender_for(client.orchestrator)
    for start in range(0, nodes, FUND_CHUNK):
        sender.send(client.token.functions.mintBatch(addresses[start : start + FUND_CHUNK], flt(100)))
    n_slashed = round(nodes * slashed_fraction)
    accepted, slashed = addresses[: nodes - n_slashed], addresses[nodes - n_slashed :]
    for node in slashed:
        stake_impersonated(client, node, flt(50))
    settled = client.settle_round(
        round_id, "0x" + secrets.token_hex(32), "0x" + secrets.token_hex(32), accepted, slashed
    )
    reward = client.parameters().reward
    naive = sum(sender.send(client.token.functions.mint(node, reward))["gasUsed"] for node in accepted)
    return GasRow(nodes, n_slashed, settled.gas_used, settled.gas_used / nodes, naive)


def measure_settlement_gas(sizes: list[int], slashed_fraction: float = 0.2) -> list[GasRow]:
    """Deploy on a fresh anvil and measure each size in turn (rounds 1, 2, ...)."""
    build_contracts()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        process = start_anvil(AnvilOptions(port=port, log_file=Path(tmp) / "anvil.log"))
        try:
            deployment = deploy_contracts(f"http://127.0.0.1:{port}", ANVIL_ORCHESTRATOR_KEY)
            client = ChainClient(deployment, ANVIL_ORCHESTRATOR_KEY)
            _grant_minter_to_orchestrator(client)
            return [_measure(client, i + 1, n, slashed_fraction) for i, n in enumerate(sizes)]
        finally:
            stop_process(process.pid)


def render_table(rows: list[GasRow]) -> Table:
    table = Table(title="settleRound gas (one transaction) vs one mint transaction per rewarded node")
    for column in (
        "nodes",
        "slashed",
        "settleRound gas",
        "gas / node",
        "naive gas",
        "naive / settle",
        "budget",
    ):
        table.add_column(column, justify="right")
    for r in rows:
        budget = FIXED_BUDGET + PER_NODE_BUDGET * r.nodes
        verdict = f"[green]≤ {budget:,}[/green]" if r.within_budget else f"[red]> {budget:,}[/red]"
        table.add_row(
            str(r.nodes), str(r.slashed), f"{r.gas:,}", f"{r.gas_per_node:,.0f}", f"{r.naive_gas:,}", f"{r.ratio:.2f}x",
            verdict,
        )  # fmt: skip
    return table
