"""Health and the values in force."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from backend.app.deps import OrchestratorDep
from backend.app.schemas.service import ConfigPublic, HealthPublic
from backend.chain.errors import ChainError
from backend.engine.shield import DefenseConfig

router = APIRouter(prefix="/api", tags=["service"])


@router.get("/health", response_model=HealthPublic)
def read_health(orchestrator: OrchestratorDep) -> HealthPublic:
    """Whether the orchestrator runs, reaches its chain, and settles; rounds go on while the chain is away.

    ``degraded`` with a reason each when the chain is unreachable, when the oldest unsettled round has waited
    longer than ``settlement_stuck_after_s``, or when the chain holds fewer rounds than the database says.
    """
    return orchestrator.queries.health()


@router.get("/config", response_model=ConfigPublic)
def read_config(orchestrator: OrchestratorDep) -> ConfigPublic:
    """Reward, slash, defense thresholds and chain addresses in force."""
    defaults = DefenseConfig.model_validate({})
    amounts = orchestrator.amounts_in_force()
    settings = orchestrator.settings
    deployed: dict[str, Any] = dict.fromkeys(
        ("chain_id", "token_address", "staking_address", "deployment_block")
    )
    try:
        deployment = orchestrator.chain.deployment()
        deployed = {
            "chain_id": deployment.chain_id,
            "token_address": deployment.token.address,
            "staking_address": deployment.staking.address,
            "deployment_block": deployment.deployment_block,
        }
    except ChainError:  # no deployment file yet: the chain's fields stay empty
        pass
    return ConfigPublic(
        **deployed,
        **asdict(amounts),
        **defaults.model_dump(include={"norm_threshold", "distance_threshold"}),
        defense=defaults,
        rpc_url=orchestrator.chain.rpc_url,
        **settings.model_dump(
            include={"round_deadline_s", "quorum_fraction", "max_update_bytes", "max_upload_bytes"}
        ),
        admin_token_required=settings.admin_token is not None or settings.listens_beyond_localhost,
    )
