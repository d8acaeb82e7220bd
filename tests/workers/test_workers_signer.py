"""Intake's signer recovery on libsecp256k1 answers exactly as eth-account does, refusals included."""

from __future__ import annotations

import os
import random

import pytest
from coincurve import PublicKey
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys import KeyAPI
from eth_keys.backends import NativeECCBackend

from workers import protocol
from workers.protocol import (
    SECP256K1_N,
    UPDATE_TYPES,
    SignatureError,
    UpdateMessage,
    eip712_domain,
    sign_update,
)

RNG = random.Random(10)
STAKING = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


def random_message() -> UpdateMessage:
    return UpdateMessage(
        experiment=RNG.randrange(1, 2**31),
        round=RNG.randrange(1, 10_000),
        base_model_hash="0x" + RNG.randbytes(32).hex(),
        update_hash="0x" + RNG.randbytes(32).hex(),
        num_samples=RNG.randrange(1, 2**31),
    )


def _eth_account_signer(domain: dict[str, object], message: UpdateMessage, signature: str) -> str:
    signable = encode_typed_data(domain, UPDATE_TYPES, message.to_eip712())
    return str(Account.recover_message(signable, signature=bytes.fromhex(signature[2:])))


def test_recovery_equals_eth_account_on_random_keys_and_messages() -> None:
    for _ in range(25):
        key = "0x" + os.urandom(32).hex()
        domain = eip712_domain(RNG.randrange(1, 2**32), STAKING)
        message = random_message()
        signature = sign_update(key, domain, message)
        assert protocol.recover_signer(domain, message, signature) == Account.from_key(key).address
        other = random_message()  # a message it did not sign recovers someone else, the same one in both
        assert protocol.recover_signer(domain, other, signature) == _eth_account_signer(
            domain, other, signature
        )


def _with(signature: str, *, r: int | None = None, s: int | None = None, v: int | None = None) -> str:
    raw = bytearray(bytes.fromhex(signature[2:]))
    if r is not None:
        raw[:32] = r.to_bytes(32, "big")
    if s is not None:
        raw[32:64] = s.to_bytes(32, "big")
    if v is not None:
        raw[64] = v
    return "0x" + raw.hex()


def _off_curve_r() -> int:
    """An ``r`` that is no point's x-coordinate: no public key recovers from it."""
    for r in range(1, 1000):
        try:
            PublicKey.from_signature_and_message(
                r.to_bytes(32, "big") + (1).to_bytes(32, "big") + b"\0", b"\1" * 32, hasher=None
            )
        except ValueError:
            return r
    raise AssertionError("no off-curve r below 1000")


@pytest.mark.parametrize(
    "make",
    [
        lambda sig: sig[:-2],  # 64 bytes
        lambda sig: sig + "00",  # 66 bytes
        lambda sig: sig[2:],  # no 0x
        lambda sig: _with(sig, v=0),
        lambda sig: _with(sig, v=29),
        lambda sig: _with(sig, s=SECP256K1_N - int(sig[66:130], 16)),  # the malleable high-s twin
        lambda sig: _with(sig, r=0),
        lambda sig: _with(sig, r=SECP256K1_N),
        lambda sig: _with(sig, r=_off_curve_r()),
    ],
    ids=["short", "long", "no-0x", "v-0", "v-29", "high-s", "zero-r", "r-n", "off-curve-r"],
)
def test_malformed_signatures_are_refused_with_a_reason(make: object) -> None:
    key = "0x" + os.urandom(32).hex()
    domain, message = eip712_domain(31337, STAKING), random_message()
    signature = make(sign_update(key, domain, message))  # type: ignore[operator]
    with pytest.raises(SignatureError, match="signature"):
        protocol.recover_signer(domain, message, signature)


def test_recovery_matches_eth_keys_pure_python_backend() -> None:
    key = "0x" + os.urandom(32).hex()
    domain, message = eip712_domain(31337, STAKING), random_message()
    raw = protocol.parse_signature(sign_update(key, domain, message))
    digest = protocol.update_digest(domain, message)
    native = KeyAPI(NativeECCBackend)
    sig = native.Signature(signature_bytes=raw[:64] + bytes([raw[64] - 27]))
    assert native.ecdsa_recover(digest, sig).to_checksum_address() == protocol.recover_address(digest, raw)
