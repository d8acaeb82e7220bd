"""The settlement outbox: one `settleRound` transaction per recorded round, never two.

Rounds are committed to the database (with their settlement row, status ``pending``) before anything is
sent, so a chain outage only delays settlement. The worker sends the oldest open settlement first:

1. ``pending`` (never sent): take ``lastRoundId() + 1`` as the chain round id, mark the row ``sending``
   with that id (committed *before* the send), send, wait for the receipt, mark it ``confirmed``.
2. ``sending`` (a send may or may not have happened: the process died or the chain vanished mid-send):
   first look for a ``RoundSettled`` event carrying this settlement's results root, which is unique to
   (experiment, round). Found: record that transaction as ours, confirmed, without sending. Not found:
   send again with a fresh ``lastRoundId() + 1``.

The contract itself refuses a round id twice (``RoundOutOfOrder``), so even a transaction that lingers in
a mempool cannot pay a round twice: at most one of two sends can land on a given id, and a landed one is
found by its results root before any resend.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from backend.chain.client import ChainClient, TransactionResult, to_flt
from backend.chain.errors import ChainError, ChainUnreachable, ContractReverted
from backend.db import repository as repo
from backend.db.base import SessionFactory
from backend.db.models import SettlementRow
from backend.orchestrator.chain_gateway import ChainGateway
from backend.orchestrator.errors import ChainUnavailable
from backend.orchestrator.events import EventBus
from backend.orchestrator.messages import flt_text, short_address, short_hash

log = logging.getLogger("fedshield.outbox")


@dataclass(frozen=True)
class Confirmation:
    tx_hash: str
    block_number: int
    gas_used: int
    chain_round_id: int
    rewards: dict[str, int]  # address -> wei minted
    slashes: dict[str, int]  # address -> wei taken


class SettlementOutbox:
    """Background worker that drains the outbox onto the chain."""

    def __init__(
        self, sessions: SessionFactory, bus: EventBus, chain: ChainGateway, *, retry_s: float
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._chain = chain
        self._retry_s = retry_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._delayed: set[int] = set()  # settlements whose delay was already announced

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="settlement-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                drained = self.drain()
            except Exception:
                log.exception("settlement outbox error")
                drained = False
            self._wake.wait(None if drained else self._retry_s)
            self._wake.clear()

    def drain(self) -> bool:
        """Settles every open settlement it can; False when one must wait (chain down)."""
        with self._sessions() as session:
            pending = [s.id for s in repo.open_settlements(session)]
        for settlement_id in pending:
            if self._stop.is_set() or not self.settle(settlement_id):
                return False
        with self._sessions() as session:
            return not repo.open_settlements(session)

    # -- one settlement ---------------------------------------------------------------------------------

    def settle(self, settlement_id: int) -> bool:
        """Brings one settlement to ``confirmed`` or ``failed``; False if the chain is unreachable."""
        with self._sessions() as session:
            row = session.get(SettlementRow, settlement_id)
            if row is None or row.status not in ("pending", "sending"):
                return True
            was_sending = row.status == "sending"
        try:
            client = self._chain.client()
            if was_sending:
                found = self._find_on_chain(client, row)
                if found is not None:
                    self._confirm(settlement_id, found, reconciled=True)
                    return True
            chain_round_id = client.last_round_id() + 1
            self._mark_sending(settlement_id, chain_round_id)
            result = client.settle_round(
                chain_round_id, row.model_hash, row.results_root, row.accepted, row.slashed
            )
        except (ChainUnavailable, ChainUnreachable) as exc:
            self._delay(settlement_id, row, str(exc))
            return False
        except ContractReverted as exc:
            if exc.error == "RoundOutOfOrder":
                # Another settlement took the id first (or ours landed): look again on the next pass.
                self._note_error(settlement_id, str(exc))
                return True
            self._fail(settlement_id, row, str(exc))
            return True
        except ChainError as exc:
            self._delay(settlement_id, row, str(exc))
            return False
        self._confirm(settlement_id, _confirmation(result, chain_round_id), reconciled=False)
        return True

    def _find_on_chain(self, client: ChainClient, row: SettlementRow) -> Confirmation | None:
        """Our settlement on chain, recognised by its results root, if it landed."""
        for event in client.events(("RoundSettled",)):
            if event.args["resultsRoot"].lower() == row.results_root.lower():
                receipt = client.w3.eth.get_transaction_receipt(event.tx_hash)  # type: ignore[arg-type]
                decoded = client.decode_logs(receipt)
                result = TransactionResult(
                    event.tx_hash,
                    receipt["blockNumber"],
                    receipt["gasUsed"],
                    receipt["from"],
                    receipt["to"] or "",
                    decoded,
                )
                return _confirmation(result, int(event.args["roundId"]))
        return None

    def _mark_sending(self, settlement_id: int, chain_round_id: int) -> None:
        with self._sessions() as session:
            row = session.get(SettlementRow, settlement_id)
            assert row is not None
            row.status = "sending"
            row.chain_round_id = chain_round_id
            row.attempts += 1
            session.commit()
            experiment_id, round_ = row.experiment_id, row.round
        self._bus.emit(
            "tx.sent",
            f"Settling round {round_} on chain as round {chain_round_id}",
            experiment_id=experiment_id,
            round=round_,
            chain_round_id=chain_round_id,
        )

    def _confirm(self, settlement_id: int, found: Confirmation, *, reconciled: bool) -> None:
        ineligible = self._ineligible(list(found.slashes))
        with self._bus.transaction() as pub:
            row = pub.session.get(SettlementRow, settlement_id)
            assert row is not None
            row.status = "confirmed"
            row.chain_round_id = found.chain_round_id
            row.tx_hash, row.block_number, row.gas_used = found.tx_hash, found.block_number, found.gas_used
            row.last_error = None
            payouts: dict[str, dict[str, str]] = {}
            for address, wei in found.rewards.items():
                payouts.setdefault(address, {"rewarded": "0", "slashed": "0"})["rewarded"] = flt_text(
                    to_flt(wei)
                )
            for address, wei in found.slashes.items():
                payouts.setdefault(address, {"rewarded": "0", "slashed": "0"})["slashed"] = flt_text(
                    to_flt(wei)
                )
            row.payouts = payouts
            e, r, tx = row.experiment_id, row.round, found.tx_hash
            note = " (found on chain after a restart)" if reconciled else ""
            pub.emit(
                "tx.confirmed",
                f"Round {r} settled in tx {short_hash(tx)}, block {found.block_number}{note}",
                experiment_id=e,
                round=r,
                tx_hash=tx,
                block_number=found.block_number,
                gas_used=found.gas_used,
                chain_round_id=found.chain_round_id,
            )
            for address, wei in found.rewards.items():
                amount = flt_text(to_flt(wei))
                pub.emit(
                    "wallet.rewarded",
                    f"Rewarded wallet {short_address(address)}: {amount} FLT, tx {short_hash(tx)}",
                    experiment_id=e,
                    round=r,
                    address=address,
                    amount_flt=amount,
                    tx_hash=tx,
                )
            for address, wei in found.slashes.items():
                amount = flt_text(to_flt(wei))
                pub.emit(
                    "wallet.slashed",
                    f"Slashed wallet {short_address(address)}: {amount} FLT, tx {short_hash(tx)}",
                    experiment_id=e,
                    round=r,
                    address=address,
                    amount_flt=amount,
                    tx_hash=tx,
                )
            for address in ineligible:  # a node slashed below the minimum stake leaves the quorum
                node = repo.node(pub.session, e, address)
                if node is not None and node.active:
                    node.active = False
                    pub.emit(
                        "node.deactivated",
                        f"Node {node.label} ({short_address(address)}) is no longer "
                        "eligible: stake below the minimum",
                        experiment_id=e,
                        address=address,
                    )
        self._delayed.discard(settlement_id)
        self._chain.forget_status(list(found.rewards) + list(found.slashes))

    def _ineligible(self, addresses: list[str]) -> list[str]:
        """Those of ``addresses`` the chain no longer counts as staked (slashed below the minimum)."""
        self._chain.forget_status(addresses)
        found = []
        for address in addresses:
            try:
                if not self._chain.node_status(address, max_age_s=0.0).eligible:
                    found.append(address)
            except (ChainUnavailable, ChainError):
                continue
        return found

    def _delay(self, settlement_id: int, row: SettlementRow, error: str) -> None:
        self._note_error(settlement_id, error)
        if settlement_id in self._delayed:
            return
        self._delayed.add(settlement_id)
        self._bus.emit(
            "tx.failed",
            f"Settlement of round {row.round} delayed: {error.split('. ')[0]}; retrying",
            experiment_id=row.experiment_id,
            round=row.round,
            error=error,
            retrying=True,
        )

    def _fail(self, settlement_id: int, row: SettlementRow, error: str) -> None:
        with self._bus.transaction() as pub:
            stored = pub.session.get(SettlementRow, settlement_id)
            assert stored is not None
            stored.status = "failed"
            stored.last_error = error
            pub.emit(
                "tx.failed",
                f"Settlement of round {row.round} failed: {error}",
                experiment_id=row.experiment_id,
                round=row.round,
                error=error,
                retrying=False,
            )

    def _note_error(self, settlement_id: int, error: str) -> None:
        with self._sessions() as session:
            row = session.get(SettlementRow, settlement_id)
            if row is not None:
                row.last_error = error[:2000]
                session.commit()


def _confirmation(result: TransactionResult, chain_round_id: int) -> Confirmation:
    rewards = {e.args["node"]: int(e.args["amount"]) for e in result.events_named("RewardPaid")}
    slashes = {e.args["node"]: int(e.args["amount"]) for e in result.events_named("Slashed")}
    return Confirmation(
        result.tx_hash, result.block_number, result.gas_used, chain_round_id, rewards, slashes
    )
