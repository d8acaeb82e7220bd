"""Chain errors a person can act on: each message says what went wrong and what to check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ChainError(Exception):
    """Base of every error the chain client raises."""


class ChainUnreachable(ChainError):
    """The JSON-RPC endpoint did not answer."""

    def __init__(self, url: str, cause: str = "") -> None:
        self.url = url
        detail = f": {cause}" if cause else ""
        super().__init__(
            f"chain unreachable at {url}{detail}. Is the node running? (`fedshield chain up` starts a local anvil)"
        )


class WrongChain(ChainError):
    """The endpoint serves a different chain than the deployment file was written for."""

    def __init__(self, url: str, expected: int, actual: int) -> None:
        self.expected, self.actual = expected, actual
        super().__init__(
            f"{url} serves chain id {actual}, but the deployment file is for chain id {expected}: "
            "point FEDSHIELD_RPC_URL at the right chain or redeploy"
        )


class NoContractAtAddress(ChainError):
    """No code lives where the deployment file says a contract is."""

    def __init__(self, name: str, address: str, chain_id: int, deployment_file: str) -> None:
        self.name, self.address = name, address
        super().__init__(
            f"no {name} contract at {address} on chain {chain_id}: the deployment file {deployment_file} is "
            "stale or for another chain (a fresh anvil forgets its contracts; run `fedshield chain up`)"
        )


class NonceConflict(ChainError):
    """The node refused a transaction's nonce: spent already, or held by a pending one that pays more."""


class ReceiptTimeout(ChainError):
    """A sent transaction was not mined in time; it may still be, or the node may have dropped it."""


class DeploymentFileError(ChainError):
    """The deployment file is missing or malformed."""


class ContractReverted(ChainError):
    """A call reverted; ``error`` and ``args`` name the Solidity custom error when it could be decoded."""

    def __init__(self, error: str, args: Mapping[str, Any] | None = None, raw: str = "") -> None:
        self.error = error
        self.args_by_name: dict[str, Any] = dict(args or {})
        self.raw = raw
        rendered = ", ".join(f"{k}={_render(v)}" for k, v in self.args_by_name.items())
        super().__init__(f"reverted with {error}({rendered})")


class InsufficientFunds(ChainError):
    """The sender cannot pay: not enough ETH for gas, or not enough FLT / allowance for a transfer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return str(value)
