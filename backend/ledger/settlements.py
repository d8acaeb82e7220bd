"""The transitions of a settlement row that both the outbox and the reconciler make.

Its statuses (pending, sending, confirmed, failed) are `backend.db.statuses.SettlementStatus`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.chain.client import SettledRound, TransactionResult, flt, to_flt
from backend.db.base import utcnow
from backend.db.models import SettlementAttemptRow, SettlementRow
from backend.db.statuses import LIVE_ATTEMPTS, AttemptState, SettlementStatus
from backend.orchestrator.event_kinds import TxConfirmed, TxRequeued
from backend.orchestrator.events import Publisher
from backend.orchestrator.messages import flt_text

Payouts = dict[str, tuple[int, int]]  # address -> (wei rewarded, wei slashed)


@dataclass(frozen=True)
class Confirmation:
    """A settlement's transaction as the chain holds it."""

    tx_hash: str
    block_number: int
    gas_used: int
    chain_round_id: int
    rewards: dict[str, int]  # address -> wei minted
    slashes: dict[str, int]  # address -> wei taken


def confirmation_of(result: TransactionResult, chain_round_id: int) -> Confirmation:
    rewards = {e.args["node"]: int(e.args["amount"]) for e in result.events_named("RewardPaid")}
    slashes = {e.args["node"]: int(e.args["amount"]) for e in result.events_named("Slashed")}
    return Confirmation(
        result.tx_hash, result.block_number, result.gas_used, chain_round_id, rewards, slashes
    )


def payouts_text(rewards: dict[str, int], slashes: dict[str, int]) -> dict[str, dict[str, str]]:
    """What the chain paid and took, by address, in FLT text (the settlement row's ``payouts``)."""
    payouts: dict[str, dict[str, str]] = {}
    for address, wei in rewards.items():
        payouts.setdefault(address, {"rewarded": "0", "slashed": "0"})["rewarded"] = flt_text(to_flt(wei))
    for address, wei in slashes.items():
        payouts.setdefault(address, {"rewarded": "0", "slashed": "0"})["slashed"] = flt_text(to_flt(wei))
    return payouts


def payouts_wei(payouts: dict[str, dict[str, str]] | None) -> Payouts:
    """A row's ``payouts`` back in wei: address -> (rewarded, slashed)."""
    return {
        address: (flt(Decimal(paid.get("rewarded", "0"))), flt(Decimal(paid.get("slashed", "0"))))
        for address, paid in (payouts or {}).items()
    }


def recorded_payouts(rows: Iterable[SettlementRow]) -> Payouts:
    """Wei rewarded and slashed per node, summed over the confirmed ones of ``rows`` as the database records them."""
    totals: Payouts = {}
    for row in rows:
        if row.status == SettlementStatus.CONFIRMED:
            for address, paid in payouts_wei(row.payouts).items():
                _add(totals, address, paid)
    return totals


def chain_payouts(rounds: Iterable[SettledRound]) -> Payouts:
    """Wei rewarded and slashed per node, summed over ``rounds`` as the chain paid them."""
    totals: Payouts = {}
    for settled in rounds:
        for address in settled.rewards.keys() | settled.slashes.keys():
            _add(totals, address, (settled.rewards.get(address, 0), settled.slashes.get(address, 0)))
    return totals


def _add(totals: Payouts, address: str, paid: tuple[int, int]) -> None:
    rewarded, slashed = totals.get(address, (0, 0))
    totals[address] = (rewarded + paid[0], slashed + paid[1])


def confirmed_last_round_id(session: Session) -> int:
    """The highest chain round id the database counts as confirmed (0: none)."""
    return int(
        session.scalar(
            select(func.coalesce(func.max(SettlementRow.chain_round_id), 0)).where(
                SettlementRow.status == SettlementStatus.CONFIRMED
            )
        )
        or 0
    )


def live_attempts(session: Session, settlement_id: int) -> Sequence[SettlementAttemptRow]:
    return session.scalars(
        select(SettlementAttemptRow)
        .where(
            SettlementAttemptRow.settlement_id == settlement_id,
            SettlementAttemptRow.state.in_(LIVE_ATTEMPTS),
        )
        .order_by(SettlementAttemptRow.id)
    ).all()


def attempts_of(session: Session, settlement_id: int) -> Sequence[SettlementAttemptRow]:
    return session.scalars(
        select(SettlementAttemptRow)
        .where(SettlementAttemptRow.settlement_id == settlement_id)
        .order_by(SettlementAttemptRow.id)
    ).all()


def record_confirmation(session: Session, row: SettlementRow, found: Confirmation) -> None:
    """Write what the chain holds onto the row and mark it final; the mined attempt wins, others lose."""
    row.status = SettlementStatus.CONFIRMED
    row.chain_round_id = found.chain_round_id
    row.tx_hash, row.block_number, row.gas_used = found.tx_hash, found.block_number, found.gas_used
    row.last_error = None
    row.payouts = payouts_text(found.rewards, found.slashes)
    row.confirmed_at = utcnow()
    for attempt in attempts_of(session, row.id):
        if attempt.tx_hash.lower() == found.tx_hash.lower():
            attempt.state, attempt.block_number = AttemptState.MINED, found.block_number
        elif attempt.state in LIVE_ATTEMPTS:
            attempt.state = AttemptState.REPLACED


def confirmed_event(
    experiment_id: int,
    round_: int,
    found: Confirmation,
    *,
    found_after_restart: bool = False,
    repaired: bool = False,
) -> TxConfirmed:
    """The event that says a round's settlement is final, as ``found`` on chain."""
    return TxConfirmed(
        experiment_id=experiment_id,
        round=round_,
        tx_hash=found.tx_hash,
        block_number=found.block_number,
        gas_used=found.gas_used,
        chain_round_id=found.chain_round_id,
        found_after_restart=found_after_restart,
        repaired=repaired,
    )


def requeue(pub: Publisher, row: SettlementRow, reason: str) -> None:
    """Back to pending: the chain does not hold this settlement, and none of its attempts can land any more."""
    was = row.chain_round_id
    row.status = SettlementStatus.PENDING
    row.chain_round_id = None
    row.tx_hash = row.block_number = row.gas_used = None
    row.payouts = None
    row.confirmed_at = None
    row.requeues = (row.requeues or 0) + 1
    row.last_error = reason[:2000]
    for attempt in attempts_of(pub.session, row.id):
        if attempt.state in LIVE_ATTEMPTS:
            attempt.state = AttemptState.DEAD
            attempt.error = reason[:2000]
    pub.publish(
        TxRequeued(
            experiment_id=row.experiment_id, round=row.round, previous_chain_round_id=was, reason=reason
        )
    )
