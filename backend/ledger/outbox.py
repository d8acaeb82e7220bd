"""The settlement outbox: one `settleRound` per recorded round on chain, never two, never none.

Modelled on a transaction manager trusted with money (Chainlink's txmgr): a broadcaster, a confirmer that
spots transactions the chain no longer holds by the account's mined nonce, gas bumping for stuck attempts,
and every attempt persisted before it is broadcast.

Rounds are committed to the database (with their settlement row, status ``pending``) before anything is
sent, so a chain outage only delays settlement. Settlements go out one at a time, oldest first, each under
round id ``lastRoundId() + 1`` (the contract takes them in order only, and refuses an id twice):

1. **Send** (no live attempt). First look for a ``RoundSettled`` event carrying this settlement's results
   root, which is unique to (experiment, round): found, it is ours (a process died after sending), and
   nothing is sent. Otherwise sign at the chain's pending nonce, persist the attempt and mark the row
   ``sending`` (one commit, then ``tx.sent``), then broadcast.
2. **Track** (live attempts). A receipt: mined; once ``confirmations`` deep, ``confirmed``. A revert with
   ``RoundOutOfOrder``: the id was taken, back to pending. No receipt, and the account's mined nonce is past
   every attempt's nonce: another transaction spent the nonce, none can ever land, back to pending. No
   receipt and not in the node's pool (a restarted chain, or a crash before broadcasting): broadcast the
   same bytes again, unless the chain's next round id moved (then back to pending). Stuck longer than
   ``tx_stuck_after_s``: the same transaction at the same nonce with 12.5% higher fees, so whichever is
   mined, only one is; a foreign transaction stuck at a lower nonce is cancelled by a zero transfer to self.
3. **Reconcile** (at start-up and every ``reconcile_interval_s``): `Reconciler` compares the database with
   the chain's ``RoundSettled`` events and sends back to pending any confirmed settlement the chain lost.

No exception escapes the loop: chain errors delay the settlement (``tx.failed`` with ``retrying``), anything
else is logged and retried after ``retry_s``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

from backend.chain.client import ChainClient, RoundSettlement, to_flt
from backend.chain.errors import ChainError, ContractReverted, NonceConflict
from backend.chain.sender import Fees, SignedTx, TransactionSender
from backend.db import repository as repo
from backend.db.base import SessionFactory, utcnow
from backend.db.models import SettlementAttemptRow, SettlementRow
from backend.db.statuses import OPEN_SETTLEMENTS, AttemptState, SettlementStatus
from backend.ledger.chain_gateway import ChainGateway
from backend.ledger.reconciler import Reconciler, ReconcileReport, find_settled
from backend.ledger.settlements import (
    Confirmation,
    confirmation_of,
    confirmed_event,
    live_attempts,
    record_confirmation,
    requeue,
)
from backend.orchestrator.background import BackgroundThread
from backend.orchestrator.errors import ChainUnavailable
from backend.orchestrator.event_kinds import NodeDeactivated, PayoutKind, TxFailed, TxSent, WalletPaid
from backend.orchestrator.events import EventBus
from backend.orchestrator.messages import flt_text

OUTBOX_THREAD = "settlement-outbox"  # the thread's name, as thread listings and the tests see it
log = logging.getLogger("fedshield.outbox")
IN_FLIGHT_POLL_S = 0.1  # how often a broadcast attempt is looked at while it waits for its receipt

# done: confirmed or failed; mined: in a block but not yet final (the next settlement may go, its round id
# counts this one); wait: in flight, look again shortly; down: the chain cannot be reached.
Outcome = Literal["done", "mined", "wait", "down"]


@dataclass(frozen=True)
class _Settlement:
    """The fields of a settlement row the outbox works from (read in one session, used outside it)."""

    id: int
    experiment_id: int
    round: int
    model_hash: str
    results_root: str
    accepted: list[str]
    slashed: list[str]


@dataclass(frozen=True)
class _Attempt:
    id: int
    nonce: int
    chain_round_id: int
    tx_hash: str
    raw_tx: str
    fees: Fees
    gas: int
    age_s: float


class SettlementOutbox:
    """Background worker that drains the outbox onto the chain and keeps the database true to it."""

    def __init__(
        self,
        sessions: SessionFactory,
        bus: EventBus,
        chain: ChainGateway,
        *,
        retry_s: float,
        confirmations: int = 1,
        tx_stuck_after_s: float = 30.0,
        reconcile_interval_s: float = 15.0,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._chain = chain
        self._retry_s = retry_s
        self._confirmations = confirmations
        self._stuck_after_s = tx_stuck_after_s
        self._reconcile_interval_s = reconcile_interval_s
        self.reconciler = Reconciler(sessions, bus, chain)
        self.last_report: ReconcileReport | None = None
        self._next_reconcile = 0.0  # monotonic time; 0: at once (start-up)
        self._in_flight = False
        self._worker = BackgroundThread(OUTBOX_THREAD, self._loop)
        self._delayed: set[int] = set()  # settlements whose delay was already announced

    def start(self) -> None:
        self._next_reconcile = 0.0
        self._worker.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._worker.stop(timeout_s)

    def wake(self) -> None:
        self._worker.wake()

    def _loop(self) -> None:
        wait_s = 0.0
        while self._worker.wait(wait_s):
            try:
                wait_s = self.step()
            except Exception:  # nothing may end the loop: log it and look again shortly
                log.exception("settlement outbox error")
                wait_s = self._retry_s

    def step(self) -> float:
        """One pass: reconcile when due, then drain. Returns how long to wait before the next pass."""
        now = time.monotonic()
        if now >= self._next_reconcile:
            self._reconcile()
            self._next_reconcile = time.monotonic() + self._reconcile_interval_s
        self._in_flight = False
        drained = self.drain()
        until_reconcile = max(0.05, self._next_reconcile - time.monotonic())
        if self._in_flight:
            return min(IN_FLIGHT_POLL_S, until_reconcile)
        return min(until_reconcile, self._retry_s if not drained else until_reconcile)

    def _reconcile(self) -> None:
        try:
            self.last_report = self.reconciler.run()
        except (ChainUnavailable, ChainError) as exc:
            log.info("reconciliation postponed: %s", exc)
        if self.last_report is not None and self.last_report.requeued:
            log.warning(
                "reconciliation sent %d settlement(s) back to pending", len(self.last_report.requeued)
            )

    def drain(self) -> bool:
        """Advances every open settlement it can, oldest first; False when one must wait."""
        with self._sessions() as session:
            pending = [s.id for s in repo.open_settlements(session)]
        settled_all = True
        for settlement_id in pending:
            if self._worker.stopping:
                return False
            outcome = self.settle(settlement_id)
            if outcome == "mined":
                settled_all = False
                continue
            if outcome != "done":
                return False
        return settled_all

    # -- one settlement ---------------------------------------------------------------------------------

    def settle(self, settlement_id: int) -> Outcome:
        """Moves one settlement on: ``done`` (confirmed or failed), ``mined``, ``wait`` or ``down``."""
        with self._sessions() as session:
            row = session.get(SettlementRow, settlement_id)
            if row is None or row.status not in OPEN_SETTLEMENTS:
                return "done"
            item = _Settlement(
                row.id, row.experiment_id, row.round, row.model_hash, row.results_root,
                list(row.accepted), list(row.slashed),
            )  # fmt: skip
            now = utcnow()
            attempts = [
                _Attempt(
                    a.id,
                    a.nonce,
                    a.chain_round_id,
                    a.tx_hash,
                    a.raw_tx,
                    Fees(a.max_fee_per_gas, a.max_priority_fee_per_gas),
                    a.gas_limit,
                    (now - a.created_at).total_seconds(),
                )
                for a in live_attempts(session, settlement_id)
            ]
        try:
            client = self._chain.client()
            sender = client.sender_for(client.orchestrator)
            if attempts:
                tracked = self._track(client, sender, item, attempts)
                if tracked is not None:
                    return tracked
            found = find_settled(client, item.results_root)
            if found is not None:  # it landed, though no live attempt says so (a process died after sending)
                return self._settled(client, item, found, reconciled=True)
            return self._send(client, sender, item)
        except (ChainUnavailable, ChainError) as exc:
            self._delay(item, str(exc))
            return "down"

    def _track(
        self, client: ChainClient, sender: TransactionSender, item: _Settlement, attempts: list[_Attempt]
    ) -> Outcome | None:
        """Follows the live attempts; None when none of them can land any more (send afresh)."""
        for attempt in attempts:
            mined = client.transaction(attempt.tx_hash)
            if mined is None:
                continue
            if mined.succeeded:
                return self._settled(client, item, confirmation_of(mined, attempt.chain_round_id))
            call = self._call(client, item, attempt.chain_round_id)
            error = sender.explain_failure(call, mined.block_number, mined.tx_hash)
            self._set_attempt(attempt.id, AttemptState.REVERTED, str(error), block=mined.block_number)
            if isinstance(error, ContractReverted) and error.error == "RoundOutOfOrder":
                self._requeue(
                    item.id, f"chain round {attempt.chain_round_id} was taken by another settlement"
                )
                return None
            self._fail(item, str(error))
            return "done"
        mined_nonce = sender.mined_nonce()
        alive = [a for a in attempts if a.nonce >= mined_nonce]
        for attempt in attempts:
            if attempt.nonce < mined_nonce:
                self._set_attempt(
                    attempt.id, AttemptState.DEAD, f"nonce {attempt.nonce} was spent by another transaction"
                )
        if not alive:
            if find_settled(client, item.results_root) is None:
                self._requeue(item.id, "its nonce was spent by another transaction")
            return None
        newest = alive[-1]
        next_round = client.last_round_id() + 1
        if not sender.known(newest.tx_hash):
            if newest.chain_round_id != next_round:
                # The node lost it (a restarted chain) and its round id no longer fits: it must not come back.
                self._requeue(
                    item.id,
                    f"its transaction vanished and chain round {newest.chain_round_id} is no longer next "
                    f"(next is {next_round})",
                )
                return None
            try:
                sender.broadcast(newest.raw_tx)  # the node forgot it, or we died before it left
            except NonceConflict as exc:
                log.info("re-broadcast of %s refused: %s", newest.tx_hash, exc)
            self._in_flight = True
            return "wait"
        if newest.age_s >= self._stuck_after_s:
            self._unstick(client, sender, item, newest, mined_nonce)
        self._in_flight = True
        return "wait"

    def _unstick(
        self, client: ChainClient, sender: TransactionSender, item: _Settlement, stuck: _Attempt, mined: int
    ) -> None:
        """A stuck attempt: cancel a foreign transaction holding a lower nonce, or pay more at the same one."""
        market = sender.market_fees()
        if mined < stuck.nonce:
            cancel = sender.sign_value(sender.address, 0, nonce=mined, fees=market.bumped(market))
            try:
                sender.broadcast(cancel.raw)
                self._note_error(item.id, f"cancelled a stuck transaction at nonce {mined} that blocked ours")
            except NonceConflict as exc:
                self._note_error(item.id, f"nonce {mined} blocks settlement: {exc}")
            return
        call = self._call(client, item, stuck.chain_round_id)
        bumped = sender.resign(call, nonce=stuck.nonce, gas=stuck.gas, fees=stuck.fees.bumped(market))
        self._record_attempt(item, bumped, stuck.chain_round_id, replacing=stuck.tx_hash)
        try:
            sender.broadcast(bumped.raw)
        except NonceConflict as exc:  # mined meanwhile, or the node wants more: the next pass sees which
            self._set_attempt_by_hash(bumped.tx_hash, AttemptState.DEAD, str(exc))

    def _send(self, client: ChainClient, sender: TransactionSender, item: _Settlement) -> Outcome:
        chain_round_id = client.last_round_id() + 1
        call = self._call(client, item, chain_round_id)
        try:
            signed = sender.sign(call)
        except ContractReverted as exc:
            if exc.error == "RoundOutOfOrder":  # an id taken between the read and the estimate: look again
                self._note_error(item.id, str(exc))
                self._in_flight = True
                return "wait"
            self._fail(item, str(exc))
            return "done"
        self._record_attempt(item, signed, chain_round_id)
        try:
            sender.broadcast(signed.raw)
        except NonceConflict as exc:  # another process spent the nonce first: sign again at a fresh one
            self._set_attempt_by_hash(signed.tx_hash, AttemptState.DEAD, str(exc))
            self._back_to_pending(item.id, str(exc))
        self._in_flight = True
        return "wait"

    def _settled(
        self, client: ChainClient, item: _Settlement, found: Confirmation, *, reconciled: bool = False
    ) -> Outcome:
        """Mined: final once deep enough, otherwise recorded as mined and looked at again."""
        depth = client.head() - found.block_number + 1
        if depth >= self._confirmations:
            self._confirm(item.id, found, reconciled=reconciled)
            return "done"
        with self._sessions() as session:
            row = session.get(SettlementRow, item.id)
            if row is not None:
                row.status = SettlementStatus.SENDING
                row.chain_round_id = found.chain_round_id
                row.tx_hash, row.block_number, row.gas_used = (
                    found.tx_hash,
                    found.block_number,
                    found.gas_used,
                )
                session.commit()
        self._in_flight = True
        return "mined"

    @staticmethod
    def _call(client: ChainClient, item: _Settlement, chain_round_id: int) -> Any:
        return client.settle_call(
            RoundSettlement(chain_round_id, item.model_hash, item.results_root, item.accepted, item.slashed)
        )

    # -- persistence ------------------------------------------------------------------------------------

    def _record_attempt(
        self, item: _Settlement, signed: SignedTx, chain_round_id: int, *, replacing: str | None = None
    ) -> None:
        """Persist the signed attempt (and the row as ``sending``) before the bytes leave the process."""
        with self._bus.transaction() as pub:
            row = pub.session.get(SettlementRow, item.id)
            assert row is not None
            row.status = SettlementStatus.SENDING
            row.chain_round_id = chain_round_id
            row.attempts += 1
            pub.session.add(
                SettlementAttemptRow(
                    settlement_id=item.id,
                    nonce=signed.nonce,
                    chain_round_id=chain_round_id,
                    tx_hash=signed.tx_hash,
                    raw_tx=signed.raw,
                    max_fee_per_gas=signed.fees.max_fee_per_gas,
                    max_priority_fee_per_gas=signed.fees.max_priority_fee_per_gas,
                    gas_limit=signed.gas,
                    state=AttemptState.UNCONFIRMED,
                )
            )
            pub.publish(
                TxSent(
                    experiment_id=item.experiment_id,
                    round=item.round,
                    chain_round_id=chain_round_id,
                    tx_hash=signed.tx_hash,
                    nonce=signed.nonce,
                    replacing=replacing,
                )
            )

    def _set_attempt(
        self, attempt_id: int, state: AttemptState, error: str | None, *, block: int | None = None
    ) -> None:
        with self._sessions() as session:
            attempt = session.get(SettlementAttemptRow, attempt_id)
            if attempt is not None:
                attempt.state, attempt.error = state, (error or "")[:2000] or None
                attempt.block_number = block if block is not None else attempt.block_number
                session.commit()

    def _set_attempt_by_hash(self, tx_hash: str, state: AttemptState, error: str) -> None:
        with self._sessions() as session:
            for attempt in session.query(SettlementAttemptRow).filter_by(tx_hash=tx_hash):
                attempt.state, attempt.error = state, error[:2000]
            session.commit()

    def _back_to_pending(self, settlement_id: int, error: str) -> None:
        """The attempt never left (its nonce was taken first): pending again, not counted as a re-queue."""
        with self._sessions() as session:
            row = session.get(SettlementRow, settlement_id)
            if (
                row is not None
                and row.status == SettlementStatus.SENDING
                and not live_attempts(session, settlement_id)
            ):
                row.status, row.chain_round_id, row.last_error = SettlementStatus.PENDING, None, error[:2000]
                session.commit()

    def _requeue(self, settlement_id: int, reason: str) -> None:
        with self._bus.transaction() as pub:
            row = pub.session.get(SettlementRow, settlement_id)
            if row is not None:
                requeue(pub, row, reason)

    def _confirm(self, settlement_id: int, found: Confirmation, *, reconciled: bool) -> None:
        ineligible = self._ineligible(list(found.slashes))
        with self._bus.transaction() as pub:
            row = pub.session.get(SettlementRow, settlement_id)
            assert row is not None
            record_confirmation(pub.session, row, found)
            e, r, tx = row.experiment_id, row.round, found.tx_hash
            pub.publish(confirmed_event(e, r, found, found_after_restart=reconciled))
            payouts: list[tuple[PayoutKind, dict[str, int]]] = [
                ("wallet.rewarded", found.rewards),
                ("wallet.slashed", found.slashes),
            ]
            announce = row.announced_at is None  # a confirmation after a re-queue pays nobody again
            row.announced_at = row.announced_at or utcnow()
            for kind, amounts in payouts if announce else ():
                for address, wei in amounts.items():
                    pub.publish(
                        WalletPaid(
                            kind=kind,
                            experiment_id=e,
                            round=r,
                            address=address,
                            amount_flt=flt_text(to_flt(wei)),
                            tx_hash=tx,
                        )
                    )
            for address in ineligible:  # a node slashed below the minimum stake leaves the quorum
                node = repo.node(pub.session, e, address)
                if node is not None and node.active:
                    node.active = False
                    pub.publish(NodeDeactivated(experiment_id=e, address=address, label=node.label))
        self._delayed.discard(settlement_id)
        self._chain.forget_status(list(found.rewards) + list(found.slashes))

    def _ineligible(self, addresses: list[str]) -> list[str]:
        """Those of ``addresses`` the chain no longer counts as staked (slashed below the minimum)."""
        found = []
        for address in addresses:
            try:
                if not self._chain.node_status(address, max_age_s=0.0).eligible:
                    found.append(address)
            except (ChainUnavailable, ChainError):
                continue
        return found

    def _delay(self, item: _Settlement, error: str) -> None:
        self._note_error(item.id, error)
        if item.id in self._delayed:
            return
        self._delayed.add(item.id)
        self._bus.publish(
            TxFailed(experiment_id=item.experiment_id, round=item.round, error=error, retrying=True)
        )

    def _fail(self, item: _Settlement, error: str) -> None:
        with self._bus.transaction() as pub:
            stored = pub.session.get(SettlementRow, item.id)
            assert stored is not None
            stored.status = SettlementStatus.FAILED
            stored.last_error = error
            pub.publish(
                TxFailed(experiment_id=item.experiment_id, round=item.round, error=error, retrying=False)
            )

    def _note_error(self, settlement_id: int, error: str) -> None:
        with self._sessions() as session:
            row = session.get(SettlementRow, settlement_id)
            if row is not None:
                row.last_error = error[:2000]
                session.commit()
