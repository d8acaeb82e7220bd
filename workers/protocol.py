"""The signed message a node sends with every update: EIP-712 typed data [EIP-712, Bloemen et al., 2017].

A node signs `Update {experiment, round, baseModelHash, updateHash, numSamples}` under the domain
`{name: "FedShield", version: "1", chainId, verifyingContract: <staking contract>}`. Binding the chain and
the staking contract into the domain keeps a signature made for one deployment from being replayed on
another; binding the base model hash and the round keeps it from being replayed in a later round.

Signatures are checked the way OpenZeppelin's `ECDSA.recover` checks them (65 bytes r || s || v, v in
{27, 28}, s in the lower half of the curve order), so a signature accepted here is one the staking
contract would accept too.

A node proves it holds its wallet's key when it registers, by signing `Register {experimentId, node, nonce}`
under the same domain (`nonce`: the Unix time of signing; the orchestrator takes it within
`REGISTER_MAX_AGE_S`), so nobody can register someone else's staked wallet.

Nodes only ever sign these two types: `eip712_domain_from_dict` takes the chain id and contract from an
orchestrator's task but refuses any other domain name or version, and the types are always `UPDATE_TYPES`,
so a hostile orchestrator cannot get a node to sign, say, a token permit.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from coincurve import PublicKey
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_hex_address, keccak, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from workers.validation import validation_text

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
REGISTER_PRIMARY_TYPE: Final = "Register"
REGISTER_TYPES: dict[str, list[dict[str, str]]] = {
    "Register": [
        {"name": "experimentId", "type": "uint256"},
        {"name": "node", "type": "address"},
        {"name": "nonce", "type": "uint256"},
    ]
}
# A registration's nonce is its signing time: it is taken this long either side of the orchestrator's clock.
REGISTER_MAX_AGE_S = 600
# The `types` of the full EIP-712 document: the domain's and the one struct a node signs per update.
TYPED_DATA_TYPES: dict[str, list[dict[str, str]]] = {"EIP712Domain": EIP712_DOMAIN_TYPE, **UPDATE_TYPES}

UINT256_MAX = 2**256 - 1
# secp256k1 group order; OpenZeppelin's ECDSA refuses s above half of it (malleable signatures).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
Uint256 = Annotated[int, Field(strict=True, ge=0, le=UINT256_MAX)]
Bytes32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{64}$", to_lower=True)]
_HEX = re.compile(r"[0-9a-fA-F]*")


class MessageError(ValueError):
    """An update message that is not well formed; the text names the field and what was wrong."""


class SignatureError(ValueError):
    """A signature that cannot be used at all (as opposed to one that recovers another address)."""


class UpdateMessage(BaseModel):
    """What a node signs. Hashes are "0x" + 64 lowercase hex digits; the JSON names are the struct's (camelCase)."""

    # Python code builds it by field name; the wire takes the camelCase names only (`from_json`).
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", validate_by_name=True)

    experiment: Uint256  # experiment id
    round: Uint256  # the round the update was trained for
    # keccak256 of the global model the node started from
    base_model_hash: Bytes32 = Field(validation_alias="baseModelHash", serialization_alias="baseModelHash")
    # keccak256 of the safetensors bytes of the update
    update_hash: Bytes32 = Field(validation_alias="updateHash", serialization_alias="updateHash")
    # local training samples, the FedAvg weight
    num_samples: Uint256 = Field(validation_alias="numSamples", serialization_alias="numSamples")

    def to_eip712(self) -> dict[str, Any]:
        """The message as EIP-712 typed data values (camelCase keys, in the order of the struct)."""
        return self.model_dump(by_alias=True)

    def to_json(self) -> str:
        """Compact JSON with the struct's camelCase field names, the form posted as `message`."""
        return self.model_dump_json(by_alias=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> UpdateMessage:
        """Parses and checks a posted message; MessageError names every field at fault."""
        try:
            return cls.model_validate_json(text, by_alias=True, by_name=False)
        except ValidationError as exc:
            raise MessageError(f"message: {validation_text(exc.errors())}") from None


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
        "types": dict(TYPED_DATA_TYPES),
        "primaryType": PRIMARY_TYPE,
        "domain": domain,
        "message": message.to_eip712(),
    }


def sign_update(private_key: str | bytes, domain: dict[str, Any], message: UpdateMessage) -> str:
    """The node's 65-byte signature of `message`, as 0x hex."""
    signed = Account.sign_typed_data(private_key, domain, UPDATE_TYPES, message.to_eip712())
    return "0x" + bytes(signed.signature).hex()


def sign_registration(
    private_key: str | bytes, domain: dict[str, Any], experiment_id: int, nonce: int
) -> str:
    """The node's 65-byte signature of `Register {experimentId, node: its own address, nonce}`, as 0x hex."""
    node = Account.from_key(private_key).address
    message = {"experimentId": experiment_id, "node": node, "nonce": nonce}
    signed = Account.sign_typed_data(private_key, domain, REGISTER_TYPES, message)
    return "0x" + bytes(signed.signature).hex()


def registration_body(
    private_key: str | bytes,
    domain: dict[str, Any],
    experiment_id: int,
    *,
    now_s: float,
    kind: str | None = None,
) -> dict[str, Any]:
    """The JSON body of `POST /api/experiments/{id}/nodes` for the key's wallet, signed at `now_s` (Unix time)."""
    nonce = int(now_s)
    body: dict[str, Any] = {
        "address": Account.from_key(private_key).address,
        "nonce": nonce,
        "signature": sign_registration(private_key, domain, experiment_id, nonce),
    }
    if kind is not None:
        body["kind"] = kind
    return body


def recover_registrant(
    domain: dict[str, Any], experiment_id: int, node: str, nonce: int, signature: str
) -> str:
    """The checksummed address that signed `Register {experimentId, node, nonce}`; SignatureError if unusable."""
    _check_uint256("experimentId", experiment_id)
    _check_uint256("nonce", nonce)
    message = {"experimentId": experiment_id, "node": checksum(node), "nonce": nonce}
    signable = encode_typed_data(domain, REGISTER_TYPES, message)
    digest = bytes(keccak(b"\x19" + signable.version + signable.header + signable.body))
    return recover_address(digest, parse_signature(signature))


def update_digest(domain: dict[str, Any], message: UpdateMessage) -> bytes:
    """The 32 bytes an update's signature signs: keccak256(0x19 || version || domain hash || struct hash)."""
    signable = encode_typed_data(domain, UPDATE_TYPES, message.to_eip712())
    return bytes(keccak(b"\x19" + signable.version + signable.header + signable.body))


def recover_address(digest: bytes, signature: bytes) -> str:
    """The checksummed address whose key made the 65-byte ``r || s || v`` signature (v 27 or 28) of ``digest``.

    libsecp256k1's ``ecdsa_recover`` (``coincurve``): tens of microseconds, where eth-keys' pure-Python
    backend takes milliseconds, and intake recovers every posted update. The address is the last 20 bytes of
    the keccak256 of the uncompressed public key. SignatureError when no key recovers (``r`` is no point's x).
    """
    recoverable = signature[:64] + bytes([signature[64] - 27])
    try:
        public = PublicKey.from_signature_and_message(recoverable, digest, hasher=None)
    except ValueError as exc:
        raise SignatureError(f"signature does not recover any address ({exc})") from None
    return str(to_checksum_address(keccak(public.format(compressed=False)[1:])[-20:]))


def recover_signer(domain: dict[str, Any], message: UpdateMessage, signature: str) -> str:
    """The checksummed address that signed `message` under `domain`; SignatureError if unusable.

    The signature's form is checked first, as OpenZeppelin's ``ECDSA.recover`` checks it.
    """
    return recover_address(update_digest(domain, message), parse_signature(signature))


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


def _kind(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
