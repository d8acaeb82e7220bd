"""Health and the values in force."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from backend.detection import DefenseConfig


class ChainHealth(BaseModel):
    chain_id: int | None
    rpc_url: str
    connected: bool
    last_block: int | None
    error: str | None = None


class HealthPublic(BaseModel):
    status: str  # "ok" | "degraded" (chain unreachable: rounds continue, settlement waits)
    version: str
    chain: ChainHealth
    outbox_pending: int


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
