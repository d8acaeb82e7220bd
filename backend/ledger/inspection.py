"""Chain inspection: settled rounds and settlement transactions with their decoded events, per round or wallet."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from web3.exceptions import TransactionNotFound

from backend.chain.client import ChainClient, DecodedEvent, NodeStatus, SettledRound, TransactionResult
from backend.chain.errors import ChainError, ChainUnreachable
from backend.chain.sender import translate_errors
from backend.db.base import SessionFactory
from backend.db.models import SettlementRow
from backend.ledger.chain_gateway import ChainGateway
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
    """Reads the chain for the dashboard; receipts are cached until the chain goes back (blocks lost)."""

    def __init__(self, sessions: SessionFactory, chain: ChainGateway) -> None:
        self._sessions = sessions
        self._chain = chain
        self._receipts: dict[str, TransactionResult] = {}
        self._settled: tuple[int, list[SettledRound]] | None = None  # (head block, rounds)
        self._head_seen = 0
        self._lock = threading.Lock()

    def _client(self) -> ChainClient:
        return self._chain.client()

    def rounds(self) -> list[ChainRound]:
        settled = self.settled_rounds()
        with self._sessions() as session:
            ours = {s.results_root.lower(): s for s in session.scalars(select(SettlementRow))}
        found = []
        for r in settled:
            mine = ours.get(r.results_root.lower())  # the results root names (experiment, round)
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

    def receipt(self, tx_hash: str) -> TransactionResult | None:
        """The mined transaction with its decoded events; None if the chain does not hold it (any more)."""
        with self._lock:
            cached = self._receipts.get(tx_hash)
        if cached is not None:
            return cached
        client = self._client()

        def fetch() -> TransactionResult | None:
            try:
                receipt = client.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:  # lost with its blocks: the reconciler sends its round again
                return None
            return client.result_of(receipt)

        result = _guard(lambda: translate_errors(client.rpc_url, client.decoder, fetch))
        if result is not None:
            with self._lock:
                self._receipts[tx_hash] = result
        return result

    def settled_rounds(self) -> list[SettledRound]:
        """Every round settled on chain with its rewards and slashes (read again when a block is added)."""
        client = self._client()
        head = _guard(client.head)
        with self._lock:
            if self._settled is not None and self._settled[0] == head:
                return self._settled[1]
        rounds = _guard(client.settled_rounds)
        with self._lock:
            self._settled = (head, rounds)
            if head < self._head_seen:  # the chain went back: cached receipts may be gone
                self._receipts.clear()
            self._head_seen = head
        return rounds

    def payouts(self, experiment_id: int) -> dict[str, tuple[int, int]]:
        """Wei rewarded and slashed per node in this experiment's rounds, as the chain holds them."""
        with self._sessions() as session:
            roots = {
                s.results_root.lower()
                for s in session.scalars(
                    select(SettlementRow).where(SettlementRow.experiment_id == experiment_id)
                )
            }
        totals: dict[str, tuple[int, int]] = {}
        for r in self.settled_rounds():
            if r.results_root.lower() not in roots:
                continue
            for address, wei in r.rewards.items():
                rewarded, slashed = totals.get(address, (0, 0))
                totals[address] = (rewarded + wei, slashed)
            for address, wei in r.slashes.items():
                rewarded, slashed = totals.get(address, (0, 0))
                totals[address] = (rewarded, slashed + wei)
        return totals

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
            result = self.receipt(tx_hash)
            if result is None:
                continue
            found.append(
                Transaction(
                    result,
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
