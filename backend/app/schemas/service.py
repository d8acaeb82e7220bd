"""Health and the values in force."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from backend.engine.shield import DefenseConfig


class ChainHealth(BaseModel):
    chain_id: int | None
    rpc_url: str
    connected: bool
    last_block: int | None
    error: str | None = None


class SettlementHealth(BaseModel):
    oldest_pending_s: float | None  # how long the oldest unsettled round has waited; None: none waits
    stuck_after_s: float  # the threshold beyond which settlement counts as stuck
    chain_last_round_id: int | None  # the contract's lastRoundId (None: unreachable)
    db_last_round_id: int  # the highest chain round id the database counts as confirmed
    requeued: int  # settlements the last reconciliation sent back to pending
    unrepaired: list[str]  # mismatches the last reconciliation could not repair


class HealthStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # chain unreachable, settlement stuck, or chain behind the database


class HealthPublic(BaseModel):
    status: HealthStatus
    reasons: list[str]  # why it is degraded, one sentence each (empty when ok)
    version: str
    chain: ChainHealth
    outbox_pending: int
    settlement: SettlementHealth


class ConfigPublic(BaseModel):
    reward_flt: str
    slash_flt: str
    norm_threshold: float
    distance_threshold: float
    defense: DefenseConfig
    chain_id: int | None
    rpc_url: str
    token_address: str | None
    staking_address: str | None
    deployment_block: int | None
    round_deadline_s: float
    quorum_fraction: float
    max_update_bytes: int
    max_upload_bytes: int
    admin_token_required: bool


DeploymentPublic = dict[str, Any]
