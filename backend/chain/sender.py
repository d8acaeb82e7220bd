"""One nonce-safe sender per key: concurrent callers share a lock and a local nonce counter.

web3.py fills nonces from ``get_transaction_count(addr, "pending")``; two threads sending on one key at
once would read the same nonce and one transaction would be dropped. Here the nonce is assigned, the
transaction signed and handed to the node under one lock, and only the wait for the receipt runs outside it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError, Web3RPCError
from web3.types import TxReceipt

from backend.chain.errors import ChainError, ChainUnreachable, ContractReverted, InsufficientFunds
from backend.chain.reverts import RevertDecoder

T = TypeVar("T")
RECEIPT_TIMEOUT_S = 120.0


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
    except Web3RPCError as exc:
        message = str(exc)
        if "insufficient funds" in message.lower():
            raise InsufficientFunds(f"not enough ETH to pay for gas: {message}") from None
        raise ChainError(f"RPC error from {rpc_url}: {message}") from None


def _revert_data(exc: Exception) -> str | None:
    data: Any = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return data
    message = exc.args[0] if exc.args else None
    if isinstance(message, str) and message.startswith("0x"):
        return message
    return None


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

    def send(self, call: ContractFunction, *, gas: int | None = None) -> TxReceipt:
        """Send ``call`` and wait for its receipt; a revert raises the decoded custom error."""
        tx_hash = translate_errors(self._rpc_url, self._decoder, lambda: self._submit(call, gas))
        receipt = translate_errors(
            self._rpc_url,
            self._decoder,
            lambda: self._w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S),
        )
        if receipt["status"] != 1:
            raise self._explain_failure(call, receipt)
        return receipt

    def send_value(self, to: str, amount: int) -> TxReceipt:
        """Send ``amount`` wei of ETH to ``to`` and wait for the receipt."""

        def submit() -> HexBytes:
            return self._submit_tx(
                {"to": to, "value": amount, "gas": 21_000, "chainId": self._w3.eth.chain_id}
            )

        tx_hash = translate_errors(self._rpc_url, self._decoder, submit)
        return translate_errors(
            self._rpc_url,
            self._decoder,
            lambda: self._w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S),
        )

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

    def _explain_failure(self, call: ContractFunction, receipt: TxReceipt) -> ChainError:
        """Replay a mined-but-failed transaction as a call at its block to recover the revert reason."""
        try:
            call.call({"from": self._account.address}, block_identifier=receipt["blockNumber"])
        except (ContractCustomError, ContractLogicError, ContractPanicError) as exc:
            data = _revert_data(exc)
            if data:
                return self._decoder.decode(data)
            return ContractReverted("revert", {"message": str(exc)})
        return ContractReverted("revert", {"transaction": receipt["transactionHash"].hex()})
