"""Nodes of an experiment and wallets on chain."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from backend.chain.client import DecodedEvent
from backend.engine.shield import Outcome
from backend.orchestrator.specs import ADDRESS_PATTERN, NodeKind


class NodeRegister(BaseModel):
    address: str = Field(
        ...,
        pattern=ADDRESS_PATTERN,
        description="0x wallet address, staked on chain",
        examples=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"],
    )
    kind: NodeKind | None = Field(
        None,
        description="simulated nodes get a share of the experiment's data; default: simulated while slots last",
    )
    nonce: int = Field(
        ...,
        ge=0,
        le=2**40,  # a Unix time in seconds; well inside what a JSON number holds exactly
        description="the Unix time (seconds) at signing; taken within 10 minutes of the orchestrator's clock",
        examples=[1765160000],
    )
    signature: str = Field(
        ...,
        min_length=132,
        max_length=132,
        description="0x EIP-712 signature of Register {experimentId, node: address, nonce} by the wallet's key, "
        "under the domain of the task",
    )


class LastVerdict(BaseModel):
    round: int
    accepted: bool
    outcome: Outcome
    rule: str | None
    reason: str


class NodePublic(BaseModel):
    address: str
    label: str
    kind: NodeKind
    slot: int | None  # the simulated node's data partition
    active: bool  # counts towards the round's quorum
    malicious: bool  # follows the attack plan in force (simulated nodes only)
    balance_flt: str | None  # None while the chain is unreachable
    stake_flt: str | None
    pending_flt: str | None
    eligible: bool | None
    last_verdict: LastVerdict | None
    accepted_rounds: int
    excluded_rounds: int
    slashed_rounds: int
    rejected_rounds: int  # excluded + slashed
    rewarded_flt: str  # paid in this experiment's rounds, as the chain holds them
    slashed_flt: str


class ChainEventPublic(BaseModel):
    name: str
    contract: str
    args: dict[str, Any]
    tx_hash: str
    block_number: int
    log_index: int

    @classmethod
    def of(cls, event: DecodedEvent) -> ChainEventPublic:
        return cls(
            name=event.name,
            contract=event.contract,
            args=jsonable_args(event.args),
            tx_hash=event.tx_hash,
            block_number=event.block_number,
            log_index=event.log_index,
        )


def jsonable_args(args: dict[str, Any]) -> dict[str, Any]:
    """uint256 values beyond JavaScript's safe integers are sent as decimal strings."""
    return {
        k: (str(v) if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53 else v)
        for k, v in args.items()
    }


class WalletStatus(BaseModel):
    balance_flt: str
    stake_flt: str
    pending_flt: str
    unlock_at: int
    eligible: bool


class WalletPublic(BaseModel):
    address: str
    status: WalletStatus
    history: list[ChainEventPublic]
