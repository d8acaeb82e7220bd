"""Queries shared by the orchestrator's services and the API routes (plain functions over a Session)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db.models import (
    ExperimentRow,
    NodeRow,
    RoundRow,
    SettlementRow,
    SubmissionRow,
    VerdictRow,
)
from backend.db.statuses import OPEN_SETTLEMENTS, RoundStatus


def experiments(session: Session) -> Sequence[ExperimentRow]:
    return session.scalars(select(ExperimentRow).order_by(ExperimentRow.id)).all()


def experiments_with_status(session: Session, statuses: Sequence[str]) -> Sequence[ExperimentRow]:
    return session.scalars(
        select(ExperimentRow).where(ExperimentRow.status.in_(statuses)).order_by(ExperimentRow.id)
    ).all()


def latest_round(session: Session, experiment_id: int) -> RoundRow | None:
    return session.scalar(
        select(RoundRow)
        .where(RoundRow.experiment_id == experiment_id)
        .order_by(RoundRow.round.desc())
        .limit(1)
    )


def round_row(session: Session, experiment_id: int, round_: int) -> RoundRow | None:
    return session.scalar(
        select(RoundRow).where(RoundRow.experiment_id == experiment_id, RoundRow.round == round_)
    )


def rounds_of(session: Session, experiment_id: int) -> Sequence[RoundRow]:
    return session.scalars(
        select(RoundRow).where(RoundRow.experiment_id == experiment_id).order_by(RoundRow.round)
    ).all()


def last_completed_round(session: Session, experiment_id: int) -> RoundRow | None:
    return session.scalar(
        select(RoundRow)
        .where(RoundRow.experiment_id == experiment_id, RoundRow.status == RoundStatus.COMPLETED)
        .order_by(RoundRow.round.desc())
        .limit(1)
    )


def nodes_of(session: Session, experiment_id: int) -> Sequence[NodeRow]:
    return session.scalars(
        select(NodeRow).where(NodeRow.experiment_id == experiment_id).order_by(NodeRow.id)
    ).all()


def node_count(session: Session, experiment_id: int) -> int:
    return int(session.scalar(select(func.count()).where(NodeRow.experiment_id == experiment_id)) or 0)


def node(session: Session, experiment_id: int, address: str) -> NodeRow | None:
    return session.scalar(
        select(NodeRow).where(NodeRow.experiment_id == experiment_id, NodeRow.address == address)
    )


def submissions(session: Session, experiment_id: int, round_: int) -> Sequence[SubmissionRow]:
    return session.scalars(
        select(SubmissionRow)
        .where(SubmissionRow.experiment_id == experiment_id, SubmissionRow.round == round_)
        .order_by(SubmissionRow.id)
    ).all()


def submission_count(session: Session, experiment_id: int, round_: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(SubmissionRow)
            .where(SubmissionRow.experiment_id == experiment_id, SubmissionRow.round == round_)
        )
        or 0
    )


def has_submitted(session: Session, experiment_id: int, round_: int, address: str) -> bool:
    found = session.scalar(
        select(SubmissionRow.id).where(
            SubmissionRow.experiment_id == experiment_id,
            SubmissionRow.round == round_,
            SubmissionRow.node_address == address,
        )
    )
    return found is not None


def verdicts(
    session: Session, experiment_id: int, round_: int | None = None, *, node_address: str | None = None
) -> Sequence[VerdictRow]:
    query = select(VerdictRow).where(VerdictRow.experiment_id == experiment_id)
    if round_ is not None:
        query = query.where(VerdictRow.round == round_)
    if node_address is not None:
        query = query.where(VerdictRow.node_address == node_address)
    return session.scalars(query.order_by(VerdictRow.round, VerdictRow.id)).all()


def settlement(session: Session, experiment_id: int, round_: int) -> SettlementRow | None:
    return session.scalar(
        select(SettlementRow).where(
            SettlementRow.experiment_id == experiment_id, SettlementRow.round == round_
        )
    )


def settlements_of(session: Session, experiment_id: int) -> Sequence[SettlementRow]:
    return session.scalars(
        select(SettlementRow)
        .where(SettlementRow.experiment_id == experiment_id)
        .order_by(SettlementRow.round)
    ).all()


def open_settlements(session: Session) -> Sequence[SettlementRow]:
    """The outbox: settlements not yet confirmed nor failed for good, oldest first."""
    return session.scalars(
        select(SettlementRow).where(SettlementRow.status.in_(OPEN_SETTLEMENTS)).order_by(SettlementRow.id)
    ).all()
