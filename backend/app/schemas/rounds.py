"""Rounds with their metrics and settlement, and the per-update verdicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from backend.db.models import RoundRow, SettlementRow, VerdictRow
from backend.db.statuses import PublicSettlementStatus, RoundStatus
from backend.engine.shield import Outcome


class SettlementPublic(BaseModel):
    status: PublicSettlementStatus
    chain_round_id: int | None
    tx_hash: str | None
    block_number: int | None
    gas_used: int | None
    results_root: str
    attempts: int
    last_error: str | None
    payouts: dict[str, dict[str, str]] | None  # address -> {"rewarded": FLT, "slashed": FLT}

    @classmethod
    def of(cls, row: SettlementRow) -> SettlementPublic:
        return cls(
            status=PublicSettlementStatus.of(row.status),
            chain_round_id=row.chain_round_id,
            tx_hash=row.tx_hash,
            block_number=row.block_number,
            gas_used=row.gas_used,
            results_root=row.results_root,
            attempts=row.attempts,
            last_error=row.last_error,
            payouts=row.payouts,
        )


class RoundPublic(BaseModel):
    round: int
    status: RoundStatus
    accuracy: float | None
    loss: float | None
    accepted: int
    excluded: int  # left out, neither rewarded nor slashed
    slashed: int
    rejected: int  # excluded + slashed
    tp: int  # attackers excluded or slashed
    fp: int  # honest nodes excluded or slashed
    tn: int  # honest nodes accepted
    fn: int  # attackers accepted
    base_model_hash: str
    model_hash: str | None
    reward_flt: str | None
    slash_flt: str | None
    defense: dict[str, Any] | None
    attack: dict[str, Any] | None
    settlement: SettlementPublic | None
    started_at: datetime
    deadline: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: RoundRow, settlement: SettlementRow | None) -> RoundPublic:
        return cls(
            round=row.round,
            status=row.status,
            accuracy=row.accuracy,
            loss=row.loss,
            accepted=row.accepted,
            excluded=row.excluded,
            slashed=row.slashed,
            rejected=row.rejected,
            tp=row.tp,
            fp=row.fp,
            tn=row.tn,
            fn=row.fn,
            base_model_hash=row.base_model_hash,
            model_hash=row.model_hash,
            reward_flt=row.reward_flt,
            slash_flt=row.slash_flt,
            defense=row.defense,
            attack=row.attack,
            settlement=SettlementPublic.of(settlement) if settlement is not None else None,
            started_at=row.opened_at,
            deadline=row.deadline,
            finished_at=row.finished_at,
        )


class VerdictPublic(BaseModel):
    node_address: str
    node_label: str
    accepted: bool  # outcome == "accepted"
    outcome: Outcome
    rule: str | None  # the rule that excluded or slashed it; None when accepted
    reason: str
    features: dict[str, float | None]
    malicious: bool | None  # ground truth for simulated nodes

    @classmethod
    def of(cls, row: VerdictRow) -> VerdictPublic:
        return cls(
            node_address=row.node_address,
            node_label=row.node_label,
            accepted=row.accepted,
            outcome=Outcome(row.outcome),
            rule=row.rule,
            reason=row.reason,
            features=dict(row.features),
            malicious=row.malicious,
        )
