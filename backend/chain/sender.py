"""One nonce-safe sender per key, that heals itself when the chain and its local nonce disagree.

web3.py fills nonces from ``get_transaction_count(addr, "pending")``; two threads sending on one key at
once would read the same nonce and one transaction would be dropped. Here the nonce is assigned, the
transaction signed and handed to the node under one lock, and only the wait for the receipt runs outside it.

The local nonce counter is a cache of the chain's pending nonce, never the truth: on any nonce error
("nonce too low", "replacement underpriced", "already known"), on a receipt timeout and on a restart it is
thrown away and read again from the chain. Another process spending the same key therefore costs one retry,
not a stall.

For senders that must persist every attempt before it leaves the process (the settlement outbox), the
steps are separate: `sign` (nonce and fees chosen, nothing sent), `broadcast` (the signed bytes, again if
need be), `mined_nonce` / `pending_nonce` (what the chain says), and `bump` (same nonce, higher fees).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    TimeExhausted,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import TxReceipt

from backend.chain.errors import (
    ChainError,
    ChainUnreachable,
    ContractReverted,
    InsufficientFunds,
    NonceConflict,
    ReceiptTimeout,
)
from backend.chain.reverts import RevertDecoder

T = TypeVar("T")
RECEIPT_TIMEOUT_S = 120.0
NONCE_RETRIES = 3
# A replacement must pay at least 10% more on both fee fields (geth's and anvil's rule); 12.5% clears it.
BUMP_NUMERATOR, BUMP_DENOMINATOR = 9, 8
# Node error texts that mean "this nonce is not free": our local counter is stale or another process
# spent the key. Matched in lower case; geth, anvil, erigon and nitro use these words.
_NONCE_ERRORS = (
    "nonce too low",
    "nonce has already been used",
    "already known",
    "known transaction",
    "replacement transaction underpriced",
    "transaction underpriced",
    "invalid nonce",
)


def translate_errors(rpc_url: str, decoder: RevertDecoder, action: Callable[[], T]) -> T:
    """Run ``action``, turning web3/requests failures into the client's actionable errors."""
    try:
        return action()
    except (requests.ConnectionError, requests.Timeout, ConnectionError) as exc:
        raise ChainUnreachable(rpc_url, type(exc).__name__) from None
    except (ContractCustomError, ContractPanicError) as exc:
        raise decoder.decode(_revert_data(exc)) from None
    except ContractLogicError as exc:
        data = _revert_data(exc)
        if data:
            raise decoder.decode(data) from None
        raise ContractReverted("revert", {"message": str(exc)}) from None
    except TimeExhausted as exc:
        raise ReceiptTimeout(str(exc)) from None
    except TransactionNotFound as exc:
        raise ChainError(f"transaction not found on {rpc_url}: {exc}") from None
    except Web3RPCError as exc:
        message = str(exc)
        lowered = message.lower()
        if "insufficient funds" in lowered:
            raise InsufficientFunds(f"not enough ETH to pay for gas: {message}") from None
        if any(text in lowered for text in _NONCE_ERRORS):
            raise NonceConflict(message) from None
        raise ChainError(f"RPC error from {rpc_url}: {message}") from None


def _revert_data(exc: Exception) -> str | None:
    data: Any = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return data
    message = exc.args[0] if exc.args else None
    if isinstance(message, str) and message.startswith("0x"):
        return message
    return None


@dataclass(frozen=True)
class Fees:
    """EIP-1559 fee caps of one attempt, in wei."""

    max_fee_per_gas: int
    max_priority_fee_per_gas: int

    def bumped(self, current: Fees) -> Fees:
        """At least 12.5% more on both fields than these, and no less than ``current`` market fees."""

        def up(value: int) -> int:
            return max(value + 1, math.ceil(value * BUMP_NUMERATOR / BUMP_DENOMINATOR))

        priority = max(up(self.max_priority_fee_per_gas), current.max_priority_fee_per_gas)
        return Fees(max(up(self.max_fee_per_gas), current.max_fee_per_gas, priority), priority)


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction, ready to (re)broadcast; holds no key."""

    nonce: int
    tx_hash: str
    raw: str  # 0x-hex of the signed bytes
    fees: Fees
    gas: int


class TransactionSender:
    """Signs and sends the transactions of one account, never reusing or skipping a nonce."""

    def __init__(self, w3: Web3, account: LocalAccount, decoder: RevertDecoder, rpc_url: str) -> None:
        self._w3 = w3
        self._account = account
        self._decoder = decoder
        self._rpc_url = rpc_url
        self._lock = threading.Lock()
        self._next_nonce: int | None = None

    @property
    def address(self) -> str:
        return str(self._account.address)

    # -- the chain's view of this account ----------------------------------------------------------------

    def pending_nonce(self) -> int:
        """The nonce the node would give the next transaction (mined ones plus those in its pool)."""
        return int(self._call(lambda: self._w3.eth.get_transaction_count(self._account.address, "pending")))

    def mined_nonce(self) -> int:
        """How many transactions of this account are mined: any attempt below it is settled for good."""
        return int(self._call(lambda: self._w3.eth.get_transaction_count(self._account.address, "latest")))

    def resync(self) -> None:
        """Forget the local nonce; the next send reads the chain's pending nonce again."""
        with self._lock:
            self._next_nonce = None

    def market_fees(self) -> Fees:
        gas_price = int(self._call(lambda: self._w3.eth.gas_price))
        return Fees(2 * gas_price, 0)

    # -- one-shot sends (wait for the receipt) ------------------------------------------------------------

    def send(self, call: ContractFunction, *, gas: int | None = None) -> TxReceipt:
        """Send ``call`` and wait for its receipt; a revert raises the decoded custom error."""
        tx_hash = self._with_nonce_retries(lambda: self._submit(call, gas))
        receipt = self._wait(tx_hash)
        if receipt["status"] != 1:
            raise self.explain_failure(call, receipt["blockNumber"], receipt["transactionHash"])
        return receipt

    def send_value(self, to: str, amount: int) -> TxReceipt:
        """Send ``amount`` wei of ETH to ``to`` and wait for the receipt."""

        def submit() -> HexBytes:
            return self._submit_tx({"to": to, "value": amount, "gas": 21_000, "chainId": self._chain_id()})

        return self._wait(self._with_nonce_retries(submit))

    def _wait(self, tx_hash: HexBytes) -> TxReceipt:
        try:
            return self._call(
                lambda: self._w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S)
            )
        except ReceiptTimeout:
            self.resync()  # the node may have dropped it: the next send asks the chain again
            raise

    def _with_nonce_retries(self, submit: Callable[[], HexBytes]) -> HexBytes:
        for attempt in range(1, NONCE_RETRIES + 1):
            try:
                return self._call(submit)
            except NonceConflict:
                self.resync()
                if attempt == NONCE_RETRIES:
                    raise
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def _submit_tx(self, tx: dict[str, Any]) -> HexBytes:
        with self._lock:
            if self._next_nonce is None:
                self._next_nonce = self._w3.eth.get_transaction_count(self._account.address, "pending")
            tx = tx | {"nonce": self._next_nonce}
            fee = self._w3.eth.gas_price
            tx.setdefault("maxFeePerGas", 2 * fee)
            tx.setdefault("maxPriorityFeePerGas", 0)
            signed = self._account.sign_transaction(tx)
            try:
                tx_hash = self._w3.eth.send_raw_transaction(signed.raw_transaction)
            except Exception:
                self._next_nonce = None
                raise
            self._next_nonce += 1
            return tx_hash

    def _submit(self, call: ContractFunction, gas: int | None) -> HexBytes:
        params: dict[str, Any] = {"from": self._account.address}
        if gas is not None:
            params["gas"] = gas
        # Built (and gas estimated) outside the lock; the nonce is assigned under it in _submit_tx.
        tx = call.build_transaction(params)  # type: ignore[arg-type]
        return self._submit_tx(dict(tx))

    # -- persisted attempts (sign, then broadcast) --------------------------------------------------------

    def sign(self, call: ContractFunction, *, gas_margin: float = 1.25) -> SignedTx:
        """Build (gas estimated: a call that would revert raises its decoded error here), take the chain's
        pending nonce and sign, without sending. The caller persists the result, then broadcasts it."""
        built = self._build(call, {"from": self._account.address})
        tx = {k: v for k, v in built.items() if k not in ("nonce", "maxFeePerGas", "maxPriorityFeePerGas")}
        tx["gas"] = int(int(built["gas"]) * gas_margin)
        fees = self.market_fees()
        with self._lock:
            self._next_nonce = self.pending_nonce()  # a fresh send trusts the chain, not the cache
            nonce = self._next_nonce
            self._next_nonce += 1
        return self._signed(tx, nonce, fees)

    def sign_value(self, to: str, amount: int, *, nonce: int, fees: Fees) -> SignedTx:
        """A plain ETH transfer at a given nonce (a zero transfer to self cancels whatever holds it)."""
        tx = {"to": Web3.to_checksum_address(to), "value": amount, "gas": 21_000, "chainId": self._chain_id()}
        return self._signed(tx, nonce, fees)

    def resign(self, call: ContractFunction, *, nonce: int, gas: int, fees: Fees) -> SignedTx:
        """``call`` signed at a given nonce, gas limit and fees, without estimating: a replacement."""
        params = {
            "from": self._account.address,
            "gas": gas,
            "nonce": nonce,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
        }
        built = self._build(call, params)
        tx = {k: v for k, v in built.items() if k not in ("nonce", "maxFeePerGas", "maxPriorityFeePerGas")}
        return self._signed(tx, nonce, fees)

    def _build(self, call: ContractFunction, params: dict[str, Any]) -> dict[str, Any]:
        built: dict[str, Any] = self._call(lambda: dict(call.build_transaction(params)))  # type: ignore[arg-type]
        return built

    def broadcast(self, raw: str) -> str:
        """Hand signed bytes to the node; NonceConflict when the nonce is spent or held by a pricier tx."""
        try:
            tx_hash = self._call(lambda: self._w3.eth.send_raw_transaction(HexBytes(raw)))
        except NonceConflict:
            self.resync()
            raise
        return "0x" + bytes(tx_hash).hex()

    def known(self, tx_hash: str) -> bool:
        """Whether the node holds ``tx_hash`` at all (in its pool or mined)."""
        try:
            self._call(lambda: self._w3.eth.get_transaction(tx_hash))  # type: ignore[arg-type]
        except ChainUnreachable:
            raise
        except ChainError:
            return False
        return True

    def _signed(self, tx: dict[str, Any], nonce: int, fees: Fees) -> SignedTx:
        fields = tx | {
            "nonce": nonce,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
            "type": 2,
        }
        fields.pop("gasPrice", None)
        signed = self._account.sign_transaction(fields)
        return SignedTx(
            nonce=nonce,
            tx_hash="0x" + bytes(signed.hash).hex(),
            raw="0x" + bytes(signed.raw_transaction).hex(),
            fees=fees,
            gas=int(fields["gas"]),
        )

    # -- plumbing -----------------------------------------------------------------------------------------

    def _chain_id(self) -> int:
        return int(self._w3.eth.chain_id)

    def _call(self, action: Callable[[], T]) -> T:
        return translate_errors(self._rpc_url, self._decoder, action)

    def explain_failure(self, call: ContractFunction, block_number: int, tx_hash: Any) -> ChainError:
        """Replay a mined-but-failed transaction as a call at its block to recover the revert reason."""
        try:
            call.call({"from": self._account.address}, block_identifier=block_number)
        except (ContractCustomError, ContractLogicError, ContractPanicError) as exc:
            data = _revert_data(exc)
            if data:
                return self._decoder.decode(data)
            return ContractReverted("revert", {"message": str(exc)})
        except Exception as exc:  # the node cannot replay it (pruned state): say so, keep the hash
            return ContractReverted("revert", {"transaction": str(tx_hash), "replay": type(exc).__name__})
        return ContractReverted("revert", {"transaction": HexBytes(tx_hash).hex()})
