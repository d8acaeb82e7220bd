"""Chain inspection: settled rounds and settlement transactions with decoded events."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ChainRoundPublic(BaseModel):
    round_id: int
    experiment_id: int | None
    round: int | None
    model_hash: str
    results_root: str
    tx_hash: str
    block_number: int
    model_matches: bool | None  # the chain's model hash equals the one this orchestrator recorded


class TxEventPublic(BaseModel):
    name: str
    contract: str
    args: dict[str, Any]
    log_index: int


class TransactionPublic(BaseModel):
    hash: str
    block_number: int
    gas_used: int
    from_: str = Field(..., alias="from")
    to: str
    experiment_id: int | None
    round: int | None
    chain_round_id: int | None
    events: list[TxEventPublic]

    model_config = ConfigDict(populate_by_name=True)
