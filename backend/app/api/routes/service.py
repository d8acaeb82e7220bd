"""Health and the values in force."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter

from backend.app.deps import OrchestratorDep, SessionDep
from backend.app.schemas.service import ChainHealth, ConfigPublic, HealthPublic
from backend.chain.errors import ChainError
from backend.db import repository as repo
from backend.detection import DefenseConfig
from backend.orchestrator.errors import ChainUnavailable

router = APIRouter(prefix="/api", tags=["service"])


def _version() -> str:
    try:
        return version("fedshield")
    except PackageNotFoundError:
        return "0.0.0"


@router.get("/health", response_model=HealthPublic)
def read_health(orchestrator: OrchestratorDep, session: SessionDep) -> HealthPublic:
    """Whether the orchestrator runs and reaches its chain; rounds go on while the chain is away."""
    chain_id: int | None = None
    last_block: int | None = None
    error: str | None = None
    try:
        client = orchestrator.chain.client()
        last_block = int(client.w3.eth.block_number)
        chain_id = client.deployment.chain_id
    except (ChainUnavailable, ChainError, OSError) as exc:
        error = str(exc)
    except Exception as exc:  # a dropped connection surfaces as requests' own errors
        error = f"chain unreachable: {type(exc).__name__}"
    connected = last_block is not None
    return HealthPublic(
        status="ok" if connected else "degraded",
        version=_version(),
        chain=ChainHealth(
            chain_id=chain_id,
            rpc_url=orchestrator.chain.rpc_url,
            connected=connected,
            last_block=last_block,
            error=error,
        ),
        outbox_pending=len(repo.open_settlements(session)),
    )


@router.get("/config", response_model=ConfigPublic)
def read_config(orchestrator: OrchestratorDep) -> ConfigPublic:
    """Reward, slash, defense thresholds and chain addresses in force."""
    defaults = DefenseConfig.model_validate({})
    amounts = orchestrator.amounts_in_force()
    settings = orchestrator.settings
    try:
        deployment = orchestrator.chain.deployment()
    except ChainError:
        deployment = None
    return ConfigPublic(
        reward_flt=amounts.reward_flt,
        slash_flt=amounts.slash_flt,
        norm_threshold=defaults.norm_threshold,
        distance_threshold=defaults.distance_threshold,
        defense=defaults,
        chain_id=deployment.chain_id if deployment else None,
        rpc_url=orchestrator.chain.rpc_url,
        token_address=deployment.token.address if deployment else None,
        staking_address=deployment.staking.address if deployment else None,
        deployment_block=deployment.deployment_block if deployment else None,
        round_deadline_s=settings.round_deadline_s,
        quorum_fraction=settings.quorum_fraction,
        max_update_bytes=settings.max_update_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        admin_token_required=settings.admin_token is not None or settings.listens_beyond_localhost,
    )
