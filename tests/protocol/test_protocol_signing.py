"""EIP-712 update messages: JSON round trip with precise errors, sign -> recover, and tamper evidence."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from workers.protocol import (
    SECP256K1_N,
    UPDATE_TYPES,
    MessageError,
    SignatureError,
    UpdateMessage,
    eip712_domain,
    eip712_domain_from_dict,
    recover_signer,
    sign_update,
    typed_data,
)

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil dev account 1
ADDRESS = Account.from_key(KEY).address
STAKING = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
DOMAIN = eip712_domain(31337, STAKING)
MESSAGE = UpdateMessage(
    experiment=7, round=3, base_model_hash="0x" + "ab" * 32, update_hash="0x" + "cd" * 32, num_samples=120
)


def test_sign_then_recover_returns_the_signer_checksummed() -> None:
    signature = sign_update(KEY, DOMAIN, MESSAGE)
    assert signature.startswith("0x") and len(signature) == 132
    assert recover_signer(DOMAIN, MESSAGE, signature) == ADDRESS


def test_signature_matches_eth_sign_typed_data_v4_of_the_full_document() -> None:
    # A wallet (MetaMask, viem) signs the full typed-data document; it must give the same signature.
    full = Account.sign_typed_data(KEY, full_message=typed_data(DOMAIN, MESSAGE))
    assert "0x" + bytes(full.signature).hex() == sign_update(KEY, DOMAIN, MESSAGE)
    assert (
        Account.recover_message(
            encode_typed_data(full_message=typed_data(DOMAIN, MESSAGE)), signature=full.signature
        )
        == ADDRESS
    )


@pytest.mark.parametrize(
    "change",
    [
        {"experiment": 8},
        {"round": 4},
        {"base_model_hash": "0x" + "ac" * 32},
        {"update_hash": "0x" + "ce" * 32},
        {"num_samples": 121},
    ],
    ids=lambda c: next(iter(c)),
)
def test_tampering_with_any_field_changes_the_recovered_signer(change: dict[str, object]) -> None:
    signature = sign_update(KEY, DOMAIN, MESSAGE)
    tampered = UpdateMessage(**(MESSAGE.model_dump() | change))
    assert recover_signer(DOMAIN, tampered, signature) != ADDRESS


@pytest.mark.parametrize(
    "domain",
    [eip712_domain(421614, STAKING), eip712_domain(31337, "0x" + "11" * 20)],
    ids=["other-chain", "other-contract"],
)
def test_a_signature_for_another_deployment_recovers_someone_else(domain: dict[str, object]) -> None:
    signature = sign_update(KEY, DOMAIN, MESSAGE)
    assert recover_signer(domain, MESSAGE, signature) != ADDRESS


def test_message_json_round_trip_uses_the_struct_field_names() -> None:
    text = MESSAGE.to_json()
    assert list(json.loads(text)) == ["experiment", "round", "baseModelHash", "updateHash", "numSamples"]
    assert list(json.loads(text)) == [f["name"] for f in UPDATE_TYPES["Update"]]  # the signed struct's order
    assert UpdateMessage.from_json(text) == MESSAGE
    assert UpdateMessage.from_json(text.encode()) == MESSAGE


def test_hashes_are_normalised_to_lowercase() -> None:
    upper = UpdateMessage(**(MESSAGE.model_dump() | {"base_model_hash": "0x" + "AB" * 32}))
    assert upper.base_model_hash == MESSAGE.base_model_hash


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"\xff\xfe", "message: Invalid JSON"),
        ("{", "message: Invalid JSON"),
        ("[1, 2]", "message: Input should be an object"),
        (
            '{"experiment": 7}',
            "round: Field required; baseModelHash: Field required; updateHash: Field required; numSamples: Field",
        ),
        ({"extra": 1}, "extra: Extra inputs are not permitted"),
        ({"base_model_hash": "0x" + "ab" * 32}, "base_model_hash: Extra inputs are not permitted"),
        ({"round": "3"}, "round: Input should be a valid integer"),
        ({"round": 3.0}, "round: Input should be a valid integer"),
        ({"experiment": True}, "experiment: Input should be a valid integer"),
        ({"numSamples": -1}, "numSamples: Input should be greater than or equal to 0"),
        (
            {"round": 2**256},
            "round: Input should be less than or equal to 1157920892373161954235709850086879",
        ),
        ({"baseModelHash": "0x1234"}, "baseModelHash: String should match pattern '^0x[0-9a-fA-F]{64}$'"),
        ({"updateHash": "ab" * 32}, "updateHash: String should match pattern"),
        ({"updateHash": None}, "updateHash: Input should be a valid string"),
    ],
)
def test_malformed_messages_name_the_problem(payload: object, expected: str) -> None:
    if isinstance(payload, dict):
        payload = json.dumps(MESSAGE.to_eip712() | payload)
    with pytest.raises(MessageError) as info:
        UpdateMessage.from_json(payload)  # type: ignore[arg-type]
    assert expected in str(info.value)


def _with(signature: str, *, v: int | None = None, s: int | None = None) -> str:
    raw = bytearray(bytes.fromhex(signature[2:]))
    if s is not None:
        raw[32:64] = s.to_bytes(32, "big")
    if v is not None:
        raw[64] = v
    return "0x" + raw.hex()


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda sig: sig[2:], "must start with 0x"),
        (lambda sig: sig[:-2], "must be 65 bytes (130 hex digits), found 64 bytes"),
        (lambda sig: sig[:-1] + "z", "not hex digits"),
        (lambda sig: _with(sig, v=1), "v must be 27 or 28, found 1"),
        (lambda sig: _with(sig, s=0), "r and s must lie in 1..n-1"),
        # The malleable twin (n - s, flipped v) recovers the same key; OZ's ECDSA refuses it, so do we.
        (lambda sig: _with(sig, s=SECP256K1_N - int(sig[66:130], 16)), "upper half of the curve order"),
        (lambda sig: 42, "must be a 0x hex string, found integer"),
    ],
    ids=["no-0x", "short", "not-hex", "bad-v", "zero-s", "high-s", "not-a-string"],
)
def test_malformed_signatures_raise_signature_error(make: object, expected: str) -> None:
    signature = make(sign_update(KEY, DOMAIN, MESSAGE))  # type: ignore[operator]
    with pytest.raises(SignatureError) as info:
        recover_signer(DOMAIN, MESSAGE, signature)
    assert expected in str(info.value)


def test_nodes_refuse_to_sign_for_a_foreign_domain() -> None:
    assert eip712_domain_from_dict(dict(DOMAIN)) == DOMAIN
    with pytest.raises(MessageError, match="refusing to sign for domain 'USD Coin'"):
        eip712_domain_from_dict(DOMAIN | {"name": "USD Coin"})
    with pytest.raises(MessageError, match="exactly the fields"):
        eip712_domain_from_dict(DOMAIN | {"salt": "0x" + "00" * 32})
