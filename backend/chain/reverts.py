"""Turn raw revert data into the Solidity custom error it encodes, by name and arguments."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from backend.chain.errors import ChainError, ContractReverted, InsufficientFunds

# OpenZeppelin's ERC-20 errors that mean "not enough tokens or allowance": a person fixes these by
# funding or approving, so they surface as InsufficientFunds rather than a generic revert.
_FUNDS_ERRORS = {"ERC20InsufficientBalance", "ERC20InsufficientAllowance"}
_PANIC_SELECTOR = "4e487b71"
_ERROR_STRING_SELECTOR = "08c379a0"


@dataclass(frozen=True)
class _ErrorAbi:
    name: str
    arg_names: tuple[str, ...]
    arg_types: tuple[str, ...]


def _canonical_type(item: dict[str, Any]) -> str:
    kind: str = item["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_canonical_type(c) for c in item["components"]) + ")" + kind[len("tuple") :]
    return kind


class RevertDecoder:
    """Decodes revert data against the custom errors of a set of ABIs."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._errors: dict[str, _ErrorAbi] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = tuple(_canonical_type(i) for i in item.get("inputs", []))
                names = tuple(i.get("name") or f"arg{n}" for n, i in enumerate(item.get("inputs", [])))
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4].hex()
                self._errors[selector] = _ErrorAbi(item["name"], names, types)

    def decode(self, data: str | bytes | None) -> ChainError:
        """The error that ``data`` (0x-prefixed hex or bytes) encodes, or a generic revert naming the bytes."""
        raw = _as_hex(data)
        selector, payload = raw[:8], bytes.fromhex(raw[8:]) if len(raw) > 8 else b""
        if selector == _ERROR_STRING_SELECTOR:
            (message,) = abi_decode(["string"], payload)
            return ContractReverted("Error", {"message": message}, raw="0x" + raw)
        if selector == _PANIC_SELECTOR:
            (code,) = abi_decode(["uint256"], payload)
            return ContractReverted("Panic", {"code": hex(code)}, raw="0x" + raw)
        known = self._errors.get(selector)
        if known is None:
            return ContractReverted("unknown error", {"data": "0x" + raw}, raw="0x" + raw)
        values = abi_decode(list(known.arg_types), payload) if known.arg_types else ()
        values = tuple(
            to_checksum_address(v) if t == "address" else v
            for t, v in zip(known.arg_types, values, strict=True)
        )
        args = dict(zip(known.arg_names, values, strict=True))
        reverted = ContractReverted(known.name, args, raw="0x" + raw)
        if known.name in _FUNDS_ERRORS:
            return InsufficientFunds(f"{reverted}: fund the account with FLT or approve the staking contract")
        return reverted


def _as_hex(data: str | bytes | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.hex()
    return data[2:] if data.startswith("0x") else data
