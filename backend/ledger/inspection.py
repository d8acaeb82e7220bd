"""Chain inspection: settled rounds, mined transactions and wallets as the chain holds them, cached per block.

What the dashboard shows of them beside the database (`backend.orchestrator.queries`) is built from these reads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from backend.chain.client import ChainClient, DecodedEvent, NodeStatus, SettledRound, TransactionResult
from backend.chain.errors import ChainError
from backend.ledger.chain_gateway import ChainGateway
from backend.orchestrator.errors import ChainUnavailable, InvalidInput
from workers.protocol import MessageError, checksum

T = TypeVar("T")


class ChainInspector:
    """Reads the chain for the dashboard; what it caches is kept only while the head it was read at is still
    on the chain. A reorg replaces that block (at any depth below it too, the chain being linked), so comparing
    its hash now with the hash seen tells whether anything cached may be gone."""

    def __init__(self, chain: ChainGateway) -> None:
        self._chain = chain
        self._receipts: dict[str, TransactionResult] = {}
        self._settled: tuple[str, list[SettledRound]] | None = None  # (head block hash, rounds)
        self._head_seen: tuple[int, str] | None = None  # (number, hash) of the newest head read
        self._lock = threading.Lock()

    def _client(self) -> ChainClient:
        return self._chain.client()

    def receipt(self, tx_hash: str) -> TransactionResult | None:
        """The mined transaction with its decoded events; None if the chain does not hold it (any more)."""
        with self._lock:
            cached = self._receipts.get(tx_hash)
        if cached is not None:
            return cached
        client = self._client()
        # None: lost with its blocks (the reconciler sends its round again)
        result = _guard(lambda: client.transaction(tx_hash))
        if result is not None:
            with self._lock:
                self._receipts[tx_hash] = result
        return result

    def follow_head(self) -> str:
        """The head block's hash now; cached receipts and rounds are dropped if the head seen before left the
        chain (a reorg, or a chain restarted without its last blocks)."""
        client = self._client()
        number = _guard(client.head)
        head_hash = _guard(lambda: client.block_hash(number)) or ""
        with self._lock:
            seen = self._head_seen
        if seen is not None and seen != (number, head_hash):
            still = head_hash if seen[0] == number else _guard(lambda: client.block_hash(seen[0]))
            if still != seen[1]:
                with self._lock:
                    self._receipts.clear()
                    self._settled = None
        with self._lock:
            self._head_seen = (number, head_hash)
        return head_hash

    def settled_rounds(self) -> list[SettledRound]:
        """Every round settled on chain with its rewards and slashes (read again when the head changes)."""
        head = self.follow_head()
        with self._lock:
            if self._settled is not None and self._settled[0] == head:
                return self._settled[1]
        rounds = _guard(self._client().settled_rounds)
        with self._lock:
            self._settled = (head, rounds)
        return rounds

    def wallet(self, address: str) -> tuple[NodeStatus, list[DecodedEvent]]:
        """The wallet's status on chain and its history; InvalidInput unless ``address`` is one."""
        checksummed = checked_address(address)
        return _guard(lambda: self._client().node_status(checksummed)), self.wallet_history(checksummed)

    def wallet_history(self, address: str) -> list[DecodedEvent]:
        return _guard(lambda: self._client().wallet_history(address))


def checked_address(address: str) -> str:
    """``address`` checksummed, or InvalidInput naming what is wrong with it."""
    try:
        return checksum(address)
    except MessageError as exc:
        raise InvalidInput(str(exc)) from None


def _guard(action: Callable[[], T]) -> T:
    try:
        return action()
    except ChainError as exc:
        raise ChainUnavailable(str(exc)) from None
