"""validate_submission: one test per rejection, each asserting the status and that the reason names the problem."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import torch
from eth_account import Account

from backend.engine.intake import SubmissionContext, SubmissionRejected, ValidatedUpdate, validate_submission
from workers.models import ModelSpec, build_model
from workers.protocol import UpdateMessage, eip712_domain, sign_update
from workers.tensors import state_of, tensor_layout
from workers.wire import encode_tensors, model_hash, payload_limit

NODE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
NODE = Account.from_key(NODE_KEY).address
STRANGER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
STAKING = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
DOMAIN = eip712_domain(31337, STAKING)
SPEC = ModelSpec("mlp", (4,), 3, (8,))
GLOBAL = state_of(build_model(SPEC, seed=0))
LAYOUT = tensor_layout(GLOBAL)
BASE_HASH = model_hash(encode_tensors(GLOBAL))
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _delta(scale: float = 0.01) -> dict[str, torch.Tensor]:
    return {name: torch.full_like(t, scale) for name, t in GLOBAL.items()}


def _context(**changes: Any) -> SubmissionContext:
    base = SubmissionContext(
        experiment_id=7,
        round=3,
        base_model_hash=BASE_HASH,
        layout=LAYOUT,
        max_update_bytes=payload_limit(LAYOUT),
        domain=DOMAIN,
        is_registered=lambda address: address == NODE,
        is_staked=lambda address: address == NODE,
        already_submitted=lambda address: False,
        deadline=NOW + timedelta(seconds=30),
        clock=lambda: NOW,
    )
    return dataclasses.replace(base, **changes)


def _submission(
    raw: bytes | None = None,
    *,
    key: str = NODE_KEY,
    sign: Callable[[UpdateMessage], str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    raw = encode_tensors(_delta()) if raw is None else raw
    values = {
        "experiment": 7,
        "round": 3,
        "base_model_hash": BASE_HASH,
        "update_hash": model_hash(raw),
        "num_samples": 40,
    }
    message = UpdateMessage(**(values | fields))
    signature = sign(message) if sign else sign_update(key, DOMAIN, message)
    return {"raw_update": raw, "message_json": message.to_json(), "signature": signature}


def _rejected(
    submission: dict[str, Any], context: SubmissionContext | None = None, **kw: Any
) -> SubmissionRejected:
    with pytest.raises(SubmissionRejected) as info:
        validate_submission(**submission, expected=context or _context(), **kw)
    return info.value


def test_a_valid_update_is_decoded_with_its_signer() -> None:
    submission = _submission()
    result = validate_submission(**submission, expected=_context(), address=NODE)
    assert isinstance(result, ValidatedUpdate)
    assert result.address == NODE
    assert result.num_samples == 40
    assert result.update_hash == model_hash(submission["raw_update"])
    assert result.signature == submission["signature"]
    assert set(result.delta) == set(LAYOUT)
    assert all(torch.equal(result.delta[n], t) for n, t in _delta().items())


def test_oversized_update_is_413() -> None:
    raw = encode_tensors(_delta())
    err = _rejected(_submission(raw), _context(max_update_bytes=len(raw) - 1))
    assert err.status_code == 413
    assert f"update is {len(raw)} bytes, over the limit of {len(raw) - 1}" in err.reason


def test_oversized_message_is_413() -> None:
    submission = _submission() | {"message_json": "{" + " " * 5000 + "}"}
    err = _rejected(submission)
    assert err.status_code == 413 and "message is 5002 bytes" in err.reason


@pytest.mark.parametrize(
    ("message_json", "expected"),
    [
        ("not json", "message: Invalid JSON"),
        (
            '{"experiment": 7, "round": 3}',
            "baseModelHash: Field required; updateHash: Field required; numSamples",
        ),
        (None, "message: round: Input should be a valid integer"),
    ],
    ids=["not-json", "missing-fields", "wrong-type"],
)
def test_malformed_message_is_422(message_json: str | None, expected: str) -> None:
    submission = _submission()
    if message_json is None:
        message_json = json.dumps(json.loads(submission["message_json"]) | {"round": "3"})
    err = _rejected(submission | {"message_json": message_json})
    assert err.status_code == 422 and expected in err.reason


def test_message_for_another_experiment_is_422() -> None:
    err = _rejected(_submission(experiment=8))
    assert err.status_code == 422
    assert "message is for experiment 8 but was posted to experiment 7" in err.reason


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_missing_signature_is_401(signature: str | None) -> None:
    err = _rejected(_submission() | {"signature": signature})
    assert err.status_code == 401 and "signature is missing" in err.reason


def test_malformed_signature_is_422() -> None:
    err = _rejected(_submission() | {"signature": "0x1234"})
    assert err.status_code == 422
    assert "malformed signature: signature must be 65 bytes" in err.reason


def test_signature_by_another_key_than_the_claimed_sender_is_401() -> None:
    stranger = Account.from_key(STRANGER_KEY).address
    err = _rejected(_submission(key=STRANGER_KEY), address=NODE)
    assert err.status_code == 401
    assert f"signature recovers {stranger}, which is not the sender {NODE}" in err.reason


def test_message_altered_after_signing_is_401_when_the_sender_is_claimed() -> None:
    submission = _submission()
    altered = json.loads(submission["message_json"]) | {"numSamples": 4000}
    err = _rejected(submission | {"message_json": json.dumps(altered)}, address=NODE)
    assert err.status_code == 401 and "which is not the sender" in err.reason and "altered" in err.reason


def test_signer_not_registered_is_403() -> None:
    stranger = Account.from_key(STRANGER_KEY).address
    err = _rejected(_submission(key=STRANGER_KEY))
    assert err.status_code == 403
    assert f"signer {stranger} is not a registered node of experiment 7" in err.reason


def test_signer_without_stake_is_403() -> None:
    err = _rejected(_submission(), _context(is_staked=lambda address: False))
    assert err.status_code == 403 and f"signer {NODE} has no eligible stake on chain" in err.reason


def test_update_for_another_round_is_409() -> None:
    err = _rejected(_submission(round=2))
    assert err.status_code == 409 and err.reason == "update for round 2 but round 3 is open"


def test_update_from_a_stale_base_model_is_409() -> None:
    stale = "0x" + "00" * 32
    err = _rejected(_submission(base_model_hash=stale))
    assert err.status_code == 409
    assert f"trained from model {stale} but round 3 started from {BASE_HASH}" in err.reason
    assert "replayed" in err.reason


def test_update_hash_not_matching_the_bytes_is_422() -> None:
    raw = encode_tensors(_delta())
    swapped = encode_tensors(_delta(0.02))
    submission = _submission(raw) | {"raw_update": swapped}
    err = _rejected(submission)
    assert err.status_code == 422
    assert f"does not match keccak256 of the uploaded bytes {model_hash(swapped)}" in err.reason


def test_update_after_the_deadline_is_410() -> None:
    err = _rejected(_submission(), _context(clock=lambda: NOW + timedelta(minutes=1)))
    assert err.status_code == 410
    assert "round 3 closed at 2026-01-01T12:00:30Z; the update arrived at 2026-01-01T12:01:00Z" in err.reason


def test_second_update_in_a_round_is_409() -> None:
    err = _rejected(_submission(), _context(already_submitted=lambda address: address == NODE))
    assert err.status_code == 409 and f"{NODE} already submitted an update for round 3" in err.reason


def test_zero_samples_is_422() -> None:
    err = _rejected(_submission(num_samples=0))
    assert err.status_code == 422 and "numSamples must be positive, found 0" in err.reason


def _payload_with(**changes: torch.Tensor | None) -> bytes:
    tensors = _delta()
    for name, tensor in changes.items():
        if tensor is None:
            del tensors[name.replace("__", ".")]
        else:
            tensors[name.replace("__", ".")] = tensor
    return encode_tensors(tensors)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"\x00" * 12, "not safetensors"),
        (_payload_with(head__bias=None), "tensor names do not match the model: missing ['head.bias']"),
        (_payload_with(extra=torch.zeros(2)), "unexpected ['extra']"),
        (_payload_with(head__bias=torch.zeros(4)), "tensor 'head.bias' has shape (4,), expected (3,)"),
        (
            _payload_with(head__bias=torch.zeros(3, dtype=torch.float64)),
            "tensor 'head.bias' has dtype float64",
        ),
        (
            _payload_with(head__bias=torch.tensor([0.0, float("nan"), 0.0])),
            "'head.bias' holds 1 NaN and 0 Inf",
        ),
        (
            _payload_with(head__bias=torch.tensor([float("inf"), 0.0, 0.0])),
            "'head.bias' holds 0 NaN and 1 Inf",
        ),
    ],
    ids=["not-safetensors", "missing", "extra", "shape", "dtype", "nan", "inf"],
)
def test_payloads_the_wire_refuses_are_422_with_its_reason(raw: bytes, expected: str) -> None:
    err = _rejected(_submission(raw))
    assert err.status_code == 422
    assert err.reason.startswith("update rejected: ") and expected in err.reason


def test_checks_run_cheapest_first_an_unsigned_oversized_update_is_413() -> None:
    raw = encode_tensors(_delta())
    err = _rejected(_submission(raw) | {"signature": None}, _context(max_update_bytes=10))
    assert err.status_code == 413


def test_pickled_bytes_are_never_unpickled() -> None:
    import pickle

    class Boom:
        def __reduce__(self) -> tuple[Any, ...]:
            return (pytest.fail, ("a payload was unpickled",))

    err = _rejected(_submission(pickle.dumps(Boom())))
    assert err.status_code == 422 and "not safetensors" in err.reason
