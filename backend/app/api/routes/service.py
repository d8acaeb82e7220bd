"""Health and the values in force."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter
from sqlalchemy import func, select

from backend.app.deps import OrchestratorDep, SessionDep
from backend.app.schemas.service import (
    ChainHealth,
    ConfigPublic,
    HealthPublic,
    HealthStatus,
    SettlementHealth,
)
from backend.chain.errors import ChainError
from backend.db import repository as repo
from backend.db.base import utcnow
from backend.db.models import SettlementRow
from backend.db.statuses import SettlementStatus
from backend.engine.detection import DefenseConfig
from backend.orchestrator.errors import ChainUnavailable

router = APIRouter(prefix="/api", tags=["service"])


def _version() -> str:
    try:
        return version("fedshield")
    except PackageNotFoundError:
        return "0.0.0"


@router.get("/health", response_model=HealthPublic)
def read_health(orchestrator: OrchestratorDep, session: SessionDep) -> HealthPublic:
    """Whether the orchestrator runs, reaches its chain, and settles; rounds go on while the chain is away.

    ``degraded`` with a reason each when the chain is unreachable, when the oldest unsettled round has waited
    longer than ``settlement_stuck_after_s``, or when the chain holds fewer rounds than the database says.
    """
    chain_id: int | None = None
    last_block: int | None = None
    last_round_id: int | None = None
    error: str | None = None
    reasons: list[str] = []
    try:
        client = orchestrator.chain.client()
        last_block = client.head()
        chain_id = client.deployment.chain_id
        last_round_id = client.last_round_id()
    except (ChainUnavailable, ChainError, OSError) as exc:
        error = str(exc)
    except Exception as exc:  # a dropped connection surfaces as requests' own errors
        error = f"chain unreachable: {type(exc).__name__}"
    connected = last_block is not None
    if not connected:
        reasons.append(f"chain unreachable at {orchestrator.chain.rpc_url}: settlement waits")
    settings = orchestrator.settings
    open_rows = repo.open_settlements(session)
    oldest = min((r.created_at for r in open_rows), default=None)
    waited = (utcnow() - oldest).total_seconds() if oldest is not None else None
    if waited is not None and waited > settings.settlement_stuck_after_s:
        reasons.append(
            f"settlement stuck: the oldest unsettled round has waited {waited:.0f}s "
            f"(threshold {settings.settlement_stuck_after_s:.0f}s)"
        )
    db_last = int(
        session.scalar(
            select(func.coalesce(func.max(SettlementRow.chain_round_id), 0)).where(
                SettlementRow.status == SettlementStatus.CONFIRMED
            )
        )
        or 0
    )
    if last_round_id is not None and db_last > last_round_id:
        reasons.append(
            f"chain is behind the database: it holds rounds up to {last_round_id}, the database counts "
            f"{db_last} as settled; the reconciler sends the missing ones again"
        )
    report = orchestrator.outbox.last_report
    unrepaired = list(report.unrepaired) if report is not None else []
    if unrepaired:
        reasons.append(f"ledger mismatch the reconciler could not repair: {unrepaired[0]}")
    return HealthPublic(
        status=HealthStatus.DEGRADED if reasons else HealthStatus.OK,
        reasons=reasons,
        version=_version(),
        chain=ChainHealth(
            chain_id=chain_id,
            rpc_url=orchestrator.chain.rpc_url,
            connected=connected,
            last_block=last_block,
            error=error,
        ),
        outbox_pending=len(open_rows),
        settlement=SettlementHealth(
            oldest_pending_s=round(waited, 1) if waited is not None else None,
            stuck_after_s=settings.settlement_stuck_after_s,
            chain_last_round_id=last_round_id,
            db_last_round_id=db_last,
            requeued=len(report.requeued) if report is not None else 0,
            unrepaired=unrepaired,
        ),
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
