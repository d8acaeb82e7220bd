"""The signed message a node sends with every update: EIP-712 typed data [EIP-712, Bloemen et al., 2017].

A node signs `Update {experiment, round, baseModelHash, updateHash, numSamples}` under the domain
`{name: "FedShield", version: "1", chainId, verifyingContract: <staking contract>}`. Binding the chain and
the staking contract into the domain keeps a signature made for one deployment from being replayed on
another; binding the base model hash and the round keeps it from being replayed in a later round.

Signatures are checked the way OpenZeppelin's `ECDSA.recover` checks them (65 bytes r || s || v, v in
{27, 28}, s in the lower half of the curve order), so a signature accepted here is one the staking
contract would accept too.

Nodes only ever sign this one type: `eip712_domain_from_dict` takes the chain id and contract from an
orchestrator's task but refuses any other domain name or version, and the types are always `UPDATE_TYPES`,
so a hostile orchestrator cannot get a node to sign, say, a token permit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_hex_address, to_checksum_address

DOMAIN_NAME = "FedShield"
DOMAIN_VERSION = "1"
PRIMARY_TYPE: Final = "Update"
UPDATE_TYPES: dict[str, list[dict[str, str]]] = {
    "Update": [
        {"name": "experiment", "type": "uint256"},
        {"name": "round", "type": "uint256"},
        {"name": "baseModelHash", "type": "bytes32"},
        {"name": "updateHash", "type": "bytes32"},
        {"name": "numSamples", "type": "uint256"},
    ]
}
EIP712_DOMAIN_TYPE: list[dict[str, str]] = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
# The JSON field names, in the order of the struct.
MESSAGE_FIELDS = tuple(f["name"] for f in UPDATE_TYPES["Update"])

UINT256_MAX = 2**256 - 1
# secp256k1 group order; OpenZeppelin's ECDSA refuses s above half of it (malleable signatures).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_BYTES32 = re.compile(r"0x[0-9a-fA-F]{64}")
_HEX = re.compile(r"[0-9a-fA-F]*")


class MessageError(ValueError):
    """An update message that is not well formed; the text names the field and what was wrong."""


class SignatureError(ValueError):
    """A signature that cannot be used at all (as opposed to one that recovers another address)."""


@dataclass(frozen=True)
class UpdateMessage:
    """What a node signs. Hashes are "0x" + 64 lowercase hex digits."""

    experiment: int  # experiment id
    round: int  # the round the update was trained for
    base_model_hash: str  # keccak256 of the global model the node started from
    update_hash: str  # keccak256 of the safetensors bytes of the update
    num_samples: int  # local training samples, the FedAvg weight

    def __post_init__(self) -> None:
        for name, value in (
            ("experiment", self.experiment),
            ("round", self.round),
            ("numSamples", self.num_samples),
        ):
            _check_uint256(name, value)
        object.__setattr__(self, "base_model_hash", _bytes32("baseModelHash", self.base_model_hash))
        object.__setattr__(self, "update_hash", _bytes32("updateHash", self.update_hash))

    def to_eip712(self) -> dict[str, Any]:
        """The message as EIP-712 typed data values (camelCase keys)."""
        return {
            "experiment": self.experiment,
            "round": self.round,
            "baseModelHash": self.base_model_hash,
            "updateHash": self.update_hash,
            "numSamples": self.num_samples,
        }

    def to_json(self) -> str:
        """Compact JSON with the struct's camelCase field names, the form posted as `message`."""
        return json.dumps(self.to_eip712(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> UpdateMessage:
        """Parses and checks a posted message; MessageError names the first problem found."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MessageError(f"message is not UTF-8 text (bad byte at offset {exc.start})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MessageError(
                f"message is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: object) -> UpdateMessage:
        if not isinstance(data, dict):
            raise MessageError(
                f"message must be a JSON object with fields {list(MESSAGE_FIELDS)}, found {_kind(data)}"
            )
        missing = [f for f in MESSAGE_FIELDS if f not in data]
        extra = sorted(str(k) for k in data if k not in MESSAGE_FIELDS)
        if missing:
            raise MessageError(f"message is missing field(s) {missing}")
        if extra:
            raise MessageError(f"message has unexpected field(s) {extra} (fields: {list(MESSAGE_FIELDS)})")
        return cls(
            experiment=data["experiment"],
            round=data["round"],
            base_model_hash=data["baseModelHash"],
            update_hash=data["updateHash"],
            num_samples=data["numSamples"],
        )


def eip712_domain(chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The FedShield domain for a chain and its staking contract (address checksummed)."""
    _check_uint256("chainId", chain_id)
    if not isinstance(verifying_contract, str) or not is_hex_address(verifying_contract):
        raise MessageError(f"verifyingContract must be a 20-byte 0x address, found {verifying_contract!r}")
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(verifying_contract),
    }


def eip712_domain_from_dict(data: object) -> dict[str, Any]:
    """A domain received from an orchestrator, checked to be FedShield's and nothing else."""
    if not isinstance(data, dict):
        raise MessageError(f"EIP-712 domain must be an object, found {_kind(data)}")
    expected = {f["name"] for f in EIP712_DOMAIN_TYPE}
    if set(data) != expected:
        raise MessageError(
            f"EIP-712 domain must have exactly the fields {sorted(expected)}, found {sorted(data)}"
        )
    if data["name"] != DOMAIN_NAME or data["version"] != DOMAIN_VERSION:
        raise MessageError(
            f"refusing to sign for domain {data['name']!r} version {data['version']!r}: "
            f"only {DOMAIN_NAME!r} version {DOMAIN_VERSION!r} is FedShield's"
        )
    return eip712_domain(data["chainId"], data["verifyingContract"])


def typed_data(domain: dict[str, Any], message: UpdateMessage) -> dict[str, Any]:
    """The full EIP-712 document (what `eth_signTypedData_v4` takes) for `message` under `domain`."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **UPDATE_TYPES},
        "primaryType": PRIMARY_TYPE,
        "domain": domain,
        "message": message.to_eip712(),
    }


def sign_update(private_key: str | bytes, domain: dict[str, Any], message: UpdateMessage) -> str:
    """The node's 65-byte signature of `message`, as 0x hex."""
    signed = Account.sign_typed_data(private_key, domain, UPDATE_TYPES, message.to_eip712())
    return "0x" + bytes(signed.signature).hex()


def recover_signer(domain: dict[str, Any], message: UpdateMessage, signature: str) -> str:
    """The checksummed address that signed `message` under `domain`; SignatureError if unusable."""
    raw = parse_signature(signature)
    signable = encode_typed_data(domain, UPDATE_TYPES, message.to_eip712())
    try:
        return str(Account.recover_message(signable, signature=raw))
    except Exception as exc:  # eth-keys raises BadSignature and a few ValueErrors for points off the curve
        raise SignatureError(f"signature does not recover any address ({exc})") from None


def parse_signature(signature: object) -> bytes:
    """65 raw bytes r || s || v from 0x hex, checked as OpenZeppelin's ECDSA.recover would."""
    if not isinstance(signature, str):
        raise SignatureError(f"signature must be a 0x hex string, found {_kind(signature)}")
    text = signature.strip()
    if not text.startswith(("0x", "0X")):
        raise SignatureError("signature must start with 0x")
    digits = text[2:]
    if not _HEX.fullmatch(digits):
        raise SignatureError("signature holds characters that are not hex digits")
    if len(digits) != 130:
        raise SignatureError(f"signature must be 65 bytes (130 hex digits), found {len(digits) / 2:g} bytes")
    raw = bytes.fromhex(digits)
    r, s, v = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]
    if v not in (27, 28):
        raise SignatureError(f"signature v must be 27 or 28, found {v}")
    if not 0 < r < SECP256K1_N or not 0 < s < SECP256K1_N:
        raise SignatureError("signature r and s must lie in 1..n-1 of secp256k1")
    if s > SECP256K1_N // 2:
        raise SignatureError("signature s is in the upper half of the curve order (malleable form)")
    return raw


def checksum(address: str) -> str:
    """An address in EIP-55 form; MessageError if it is not a 20-byte 0x address."""
    if not isinstance(address, str) or not is_hex_address(address):
        raise MessageError(f"not a 20-byte 0x address: {address!r}")
    return str(to_checksum_address(address))


def _check_uint256(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MessageError(f"{name} must be an integer, found {_kind(value)} {value!r}")
    if not 0 <= value <= UINT256_MAX:
        raise MessageError(f"{name} must be a uint256 (0 to 2**256-1), found {value}")


def _bytes32(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise MessageError(f"{name} must be a 0x-prefixed 32-byte hex string, found {_kind(value)}")
    if not _BYTES32.fullmatch(value):
        raise MessageError(f"{name} must be 0x followed by 64 hex digits, found {_shorten(value)!r}")
    return value.lower()


def _kind(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
