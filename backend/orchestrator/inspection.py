"""Chain inspection: settled rounds and settlement transactions with their decoded events, per round or wallet."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select

from backend.chain.client import ChainClient, DecodedEvent, NodeStatus, TransactionResult
from backend.chain.errors import ChainError, ChainUnreachable
from backend.db.base import SessionFactory
from backend.db.models import SettlementRow
from backend.orchestrator.chain_gateway import ChainGateway
from backend.orchestrator.errors import ChainUnavailable, InvalidInput
from workers.protocol import MessageError, checksum

T = TypeVar("T")


@dataclass(frozen=True)
class ChainRound:
    round_id: int
    experiment_id: int | None
    round: int | None
    model_hash: str
    results_root: str
    tx_hash: str
    block_number: int
    model_matches: bool | None  # None: not a round of this orchestrator


@dataclass(frozen=True)
class Transaction:
    result: TransactionResult
    experiment_id: int | None
    round: int | None
    chain_round_id: int | None


class ChainInspector:
    """Reads the chain for the dashboard; receipts are cached (mined transactions never change)."""

    def __init__(self, sessions: SessionFactory, chain: ChainGateway) -> None:
        self._sessions = sessions
        self._chain = chain
        self._receipts: dict[str, TransactionResult] = {}
        self._lock = threading.Lock()

    def _client(self) -> ChainClient:
        return self._chain.client()

    def rounds(self) -> list[ChainRound]:
        client = self._client()
        settled = _guard(client.settled_rounds)
        with self._sessions() as session:
            ours = {
                s.chain_round_id: s
                for s in session.scalars(
                    select(SettlementRow).where(SettlementRow.chain_round_id.is_not(None))
                )
            }
        found = []
        for r in settled:
            mine = ours.get(r.round_id)
            matches = None if mine is None else mine.model_hash.lower() == r.model_hash.lower()
            found.append(
                ChainRound(
                    r.round_id,
                    mine.experiment_id if mine else None,
                    mine.round if mine else None,
                    r.model_hash,
                    r.results_root,
                    r.tx_hash,
                    r.block_number,
                    matches,
                )
            )
        return found

    def receipt(self, tx_hash: str) -> TransactionResult:
        with self._lock:
            cached = self._receipts.get(tx_hash)
        if cached is not None:
            return cached
        client = self._client()

        def fetch() -> TransactionResult:
            receipt = client.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            return TransactionResult(
                tx_hash,
                receipt["blockNumber"],
                receipt["gasUsed"],
                receipt["from"],
                receipt["to"] or "",
                client.decode_logs(receipt),
            )

        result = _guard(fetch)
        with self._lock:
            self._receipts[tx_hash] = result
        return result

    def transactions(
        self, *, experiment_id: int | None = None, round_: int | None = None, wallet: str | None = None
    ) -> list[Transaction]:
        """Settlement transactions of this orchestrator, filtered; with ``wallet``, every tx that touched it."""
        with self._sessions() as session:
            query = select(SettlementRow).where(SettlementRow.tx_hash.is_not(None))
            if experiment_id is not None:
                query = query.where(SettlementRow.experiment_id == experiment_id)
            if round_ is not None:
                query = query.where(SettlementRow.round == round_)
            settlements = {s.tx_hash: s for s in session.scalars(query.order_by(SettlementRow.block_number))}
        hashes: list[str] = [h for h in settlements if h]
        if wallet is not None:
            address = _checksum(wallet)
            history = _guard(lambda: self._client().wallet_history(address))
            touched = list(dict.fromkeys(e.tx_hash for e in history))
            if experiment_id is None and round_ is None:
                hashes = touched
            else:
                hashes = [h for h in hashes if h in set(touched)]
        found = []
        for tx_hash in hashes:
            s = settlements.get(tx_hash)
            found.append(
                Transaction(
                    self.receipt(tx_hash),
                    s.experiment_id if s else None,
                    s.round if s else None,
                    s.chain_round_id if s else None,
                )
            )
        found.sort(key=lambda t: t.result.block_number)
        return found

    def wallet(self, address: str) -> tuple[NodeStatus, list[DecodedEvent]]:
        checksummed = _checksum(address)
        client = self._client()
        return _guard(lambda: client.node_status(checksummed)), _guard(
            lambda: client.wallet_history(checksummed)
        )


def _checksum(address: str) -> str:
    try:
        return checksum(address)
    except MessageError as exc:
        raise InvalidInput(str(exc)) from None


def _guard(action: Callable[[], T]) -> T:
    try:
        return action()
    except ChainUnreachable as exc:
        raise ChainUnavailable(str(exc)) from None
    except ChainError as exc:
        raise ChainUnavailable(str(exc)) from None
