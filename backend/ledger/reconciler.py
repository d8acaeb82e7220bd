"""The reconciler: the database against the chain's `RoundSettled` events, matched by results root.

The results root is unique to (experiment, round) and travels in the `RoundSettled` event, so a settlement
is on chain exactly when an event carries its root. For every settlement:

- confirmed, and its root on chain once: fine; if the chain holds it under another round id or transaction,
  or paid other amounts, the row is corrected from the chain (``repaired``);
- confirmed, but its root not on chain (its blocks were lost, or its round id holds another settlement):
  back to pending, so the outbox sends it again under the chain's next round id (``requeued``);
- pending or sending: the outbox's business (it looks for the root before sending);
- failed, but its root on chain: corrected to confirmed (``repaired``);
- its root on chain more than once: paid twice, which nothing here can undo (``unrepaired``).

Then per node: rewards and slashes the database records against those the chain paid in our rounds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from backend.chain.client import ChainClient, SettledRound
from backend.chain.errors import ChainError
from backend.db.base import SessionFactory
from backend.db.models import SettlementRow
from backend.db.statuses import OPEN_SETTLEMENTS, SettlementStatus
from backend.ledger.chain_gateway import ChainGateway
from backend.ledger.settlements import (
    Confirmation,
    chain_payouts,
    confirmation_of,
    confirmed_event,
    confirmed_last_round_id,
    payouts_wei,
    record_confirmation,
    recorded_payouts,
    requeue,
)
from backend.orchestrator.events import EventBus


class CheckOutcome(StrEnum):
    """What one reconciliation found for a settlement."""

    OK = "ok"  # the database and the chain agree
    REQUEUED = "requeued"  # the chain lost it: back to pending, to be sent again
    REPAIRED = "repaired"  # the database corrected from the chain
    WAITING = "waiting"  # still with the outbox
    FAILED = "failed"  # failed for good (reverted)
    UNREPAIRED = "unrepaired"  # a mismatch this run could not repair


@dataclass(frozen=True)
class RoundCheck:
    """One settlement of the database beside what the chain holds for its results root."""

    experiment_id: int
    round: int
    status: SettlementStatus  # the row's status after this run
    outcome: CheckOutcome
    db_chain_round_id: int | None
    chain_round_ids: list[int]
    tx_hash: str | None
    detail: str = ""


@dataclass(frozen=True)
class NodeTotals:
    """One wallet's rewards and slashes (wei) in this orchestrator's rounds: database and chain."""

    address: str
    db_rewarded: int
    chain_rewarded: int
    db_slashed: int
    chain_slashed: int

    @property
    def matches(self) -> bool:
        return (self.db_rewarded, self.db_slashed) == (self.chain_rewarded, self.chain_slashed)


@dataclass
class ReconcileReport:
    chain_last_round_id: int
    db_last_round_id: int  # the highest chain round id the database counts as confirmed
    rounds: list[RoundCheck] = field(default_factory=list)
    nodes: list[NodeTotals] = field(default_factory=list)
    foreign_rounds: list[int] = field(default_factory=list)  # settled on chain by someone else
    unrepaired: list[str] = field(default_factory=list)

    @property
    def requeued(self) -> list[RoundCheck]:
        return [r for r in self.rounds if r.outcome == CheckOutcome.REQUEUED]

    @property
    def repaired(self) -> list[RoundCheck]:
        return [r for r in self.rounds if r.outcome == CheckOutcome.REPAIRED]

    @property
    def ok(self) -> bool:
        return not self.unrepaired

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "chain_last_round_id": self.chain_last_round_id,
            "db_last_round_id": self.db_last_round_id,
            "rounds": [asdict(r) for r in self.rounds],
            "nodes": [
                {
                    "address": n.address,
                    "db_rewarded_wei": str(n.db_rewarded),
                    "chain_rewarded_wei": str(n.chain_rewarded),
                    "db_slashed_wei": str(n.db_slashed),
                    "chain_slashed_wei": str(n.chain_slashed),
                    "matches": n.matches,
                }
                for n in self.nodes
            ],
            "requeued": [{"experiment_id": r.experiment_id, "round": r.round} for r in self.requeued],
            "repaired": [{"experiment_id": r.experiment_id, "round": r.round} for r in self.repaired],
            "foreign_rounds": self.foreign_rounds,
            "unrepaired": self.unrepaired,
        }


def settled_by_root(rounds: list[SettledRound]) -> dict[str, list[SettledRound]]:
    found: dict[str, list[SettledRound]] = defaultdict(list)
    for r in rounds:
        found[r.results_root.lower()].append(r)
    return found


def confirmation_from_chain(client: ChainClient, settled: SettledRound) -> Confirmation:
    """The settlement's receipt (gas, decoded payouts) for a round the chain's events show."""
    mined = client.transaction(settled.tx_hash)
    if mined is None:  # its block was lost between the two reads: the next pass sees the chain as it is
        raise ChainError(
            f"transaction {settled.tx_hash} of chain round {settled.round_id} is no longer on chain"
        )
    return confirmation_of(mined, settled.round_id)


def find_settled(client: ChainClient, results_root: str) -> Confirmation | None:
    """The settlement carrying ``results_root`` if the chain holds one (the first, should there be two)."""
    for settled in client.settled_rounds(with_payouts=False):
        if settled.results_root.lower() == results_root.lower():
            return confirmation_from_chain(client, settled)
    return None


class Reconciler:
    """Compares, and (unless told not to) repairs the database; used by the outbox and the CLI."""

    def __init__(self, sessions: SessionFactory, bus: EventBus, chain: ChainGateway) -> None:
        self._sessions = sessions
        self._bus = bus
        self._chain = chain

    def run(self, *, repair: bool = True, chain_rounds: list[SettledRound] | None = None) -> ReconcileReport:
        """One pass; ``chain_rounds``: the chain's settled rounds as a caller read them earlier (default: read
        now). Rows may change after the chain is read (a live outbox confirms), so nothing is re-queued on
        that read alone."""
        client = self._chain.client()
        chain_rounds = client.settled_rounds() if chain_rounds is None else chain_rounds
        last_round_id = client.last_round_id()
        by_root = settled_by_root(chain_rounds)
        by_id = {r.round_id: r for r in chain_rounds}
        with self._sessions() as session:
            ids = list(session.scalars(select(SettlementRow.id).order_by(SettlementRow.id)))
            db_last = confirmed_last_round_id(session)
        report = ReconcileReport(chain_last_round_id=last_round_id, db_last_round_id=db_last)
        ours: set[str] = set()
        for settlement_id in ids:
            check = self._check(client, settlement_id, by_root, by_id, repair=repair)
            if check is None:
                continue
            report.rounds.append(check)
            if check.outcome == CheckOutcome.UNREPAIRED:
                report.unrepaired.append(
                    f"experiment {check.experiment_id} round {check.round}: {check.detail}"
                )
        with self._sessions() as session:
            rows = list(session.scalars(select(SettlementRow).order_by(SettlementRow.id)))
            ours = {s.results_root.lower() for s in rows}
            # Like with like: the chain's payouts in the rounds the database counts as settled. A round on
            # chain whose row is still open is the outbox's to record (reported as ``waiting`` above).
            final = {s.results_root.lower() for s in rows if s.status == SettlementStatus.CONFIRMED}
            report.nodes = _node_totals(rows, [r for r in chain_rounds if r.results_root.lower() in final])
        report.foreign_rounds = [r.round_id for r in chain_rounds if r.results_root.lower() not in ours]
        for totals in report.nodes:
            if not totals.matches:
                report.unrepaired.append(
                    f"node {totals.address}: database says {totals.db_rewarded} wei rewarded / "
                    f"{totals.db_slashed} slashed, chain {totals.chain_rewarded} / {totals.chain_slashed}"
                )
        return report

    def _check(
        self,
        client: ChainClient,
        settlement_id: int,
        by_root: dict[str, list[SettledRound]],
        by_id: dict[int, SettledRound],
        *,
        repair: bool,
    ) -> RoundCheck | None:
        with self._bus.transaction() as pub:
            # Locked (PostgreSQL; SQLite serializes writers anyway): the outbox cannot confirm it meanwhile.
            row = pub.session.get(SettlementRow, settlement_id, with_for_update=True)
            if row is None:
                return None
            hits = by_root.get(row.results_root.lower(), [])
            ids = [h.round_id for h in hits]
            db_id = row.chain_round_id

            def check(outcome: CheckOutcome, detail: str = "") -> RoundCheck:
                return RoundCheck(
                    row.experiment_id, row.round, row.status, outcome, db_id, ids, row.tx_hash, detail
                )

            if len(hits) > 1:
                return check(CheckOutcome.UNREPAIRED, f"settled {len(hits)} times on chain (rounds {ids})")
            if row.status in OPEN_SETTLEMENTS:
                return check(CheckOutcome.WAITING, "on chain; the outbox records it next" if hits else "")
            if not hits:
                if row.status == SettlementStatus.FAILED:
                    return check(CheckOutcome.FAILED, row.last_error or "")
                taken = by_id.get(db_id) if db_id is not None else None
                reason = (
                    f"its transaction {row.tx_hash} is no longer on chain"
                    if taken is None
                    else f"chain round {db_id} holds another settlement"
                )
                # The chain was read before this row: a live outbox may have confirmed it since. Read the
                # chain again before re-queuing, so a healthy settlement is never sent (or announced) twice.
                if _still_settled(client, row.results_root):
                    return check(CheckOutcome.OK, "confirmed after this pass read the chain")
                if not repair:
                    return check(CheckOutcome.UNREPAIRED, reason)
                requeue(pub, row, reason)
                return check(CheckOutcome.REQUEUED, reason)
            hit = hits[0]
            if row.status == SettlementStatus.CONFIRMED and _agrees(row, hit):
                return check(CheckOutcome.OK)
            if not repair:
                return check(
                    CheckOutcome.UNREPAIRED, f"the chain holds it as round {hit.round_id} in {hit.tx_hash}"
                )
            found = confirmation_from_chain(client, hit)
            detail = f"recorded as chain round {hit.round_id}, tx {hit.tx_hash}, as the chain holds it"
            record_confirmation(pub.session, row, found)
            pub.publish(confirmed_event(row.experiment_id, row.round, found, repaired=True))
            return check(CheckOutcome.REPAIRED, detail)


def _still_settled(client: ChainClient, results_root: str) -> bool:
    """Whether the chain, read now, holds a settlement carrying ``results_root``."""
    return any(
        r.results_root.lower() == results_root.lower() for r in client.settled_rounds(with_payouts=False)
    )


def _agrees(row: SettlementRow, hit: SettledRound) -> bool:
    if row.chain_round_id != hit.round_id or (row.tx_hash or "").lower() != hit.tx_hash.lower():
        return False
    return payouts_wei(row.payouts) == chain_payouts([hit])


def _node_totals(rows: list[SettlementRow], chain_rounds: list[SettledRound]) -> list[NodeTotals]:
    db, chain = recorded_payouts(rows), chain_payouts(chain_rounds)
    totals = []
    for address in sorted(db.keys() | chain.keys()):
        db_rewarded, db_slashed = db.get(address, (0, 0))
        chain_rewarded, chain_slashed = chain.get(address, (0, 0))
        totals.append(NodeTotals(address, db_rewarded, chain_rewarded, db_slashed, chain_slashed))
    return totals
