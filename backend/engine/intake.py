"""Screening of one submitted update before anything is stored (docs/ARCHITECTURE.md, step 4).

`validate_submission` runs every check a single update can fail on its own, cheapest and least revealing
first, and stops at the first failure with a `SubmissionRejected(status_code, reason)` whose reason names
what was wrong, so the update route can answer `{"detail": reason}` as is. Checks, in order:

  413 the update (or the message) is larger than allowed
  422 the message is not JSON, lacks a field, has a wrong type, or is for another experiment
  401 the signature is missing; 422 it is malformed
  401 it recovers an address other than the one the sender claims
  403 the signer is not registered for the experiment; 403 it is not staked on chain
  409 the round is not the open one; 409 the base model hash is not the current one (stale or replayed)
  422 updateHash is not keccak256 of the uploaded bytes
  410 the round's deadline has passed
  409 the signer already submitted this round
  422 numSamples is not a positive integer that fits the database (1 to 2**31-1)
  422 the bytes are not a safetensors update of the model's exact layout with finite values

Bytes from the network are only ever parsed as safetensors (workers.wire), never unpickled. The cohort
checks (norms, distances, cosine) come later, in the defense engine, once the round's updates are in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from workers.protocol import MessageError, SignatureError, UpdateMessage, checksum, recover_signer
from workers.tensors import Layout, Weights
from workers.wire import WireError, decode_tensors, model_hash

# A message is five small fields; anything much larger is not one.
MAX_MESSAGE_BYTES = 4096
# numSamples is signed as a uint256 but stored in a 32-bit integer column (PostgreSQL's INTEGER): larger is
# refused here, with its name, rather than failing the insert. No node trains on two billion samples.
MAX_NUM_SAMPLES = 2**31 - 1


class SubmissionRejected(Exception):
    """An update refused before storage: an HTTP status and a reason fit to show the node."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason

    def __repr__(self) -> str:
        return f"SubmissionRejected({self.status_code}, {self.reason!r})"


@dataclass(frozen=True)
class SubmissionContext:
    """What the orchestrator expects of an update to the open round of one experiment."""

    experiment_id: int
    round: int  # the round open for submissions
    base_model_hash: str  # "0x" + keccak256 of the round's global model
    layout: Layout  # name -> (shape, dtype) every update must match exactly
    max_update_bytes: int  # largest accepted update (workers.wire.payload_limit(layout) is a fair value)
    domain: dict[str, Any]  # EIP-712 domain: workers.protocol.eip712_domain(chain_id, staking_address)
    is_registered: Callable[[str], bool]  # checksummed address -> registered for this experiment
    is_staked: Callable[[str], bool]  # checksummed address -> staked (eligible) on chain; cache it
    already_submitted: Callable[[str], bool]  # checksummed address -> has an update in this round
    deadline: datetime | None = None  # timezone-aware; None: the round closes only at quorum
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class ValidatedUpdate:
    """An update that passed every individual check, ready to store and to screen with its cohort."""

    address: str  # checksummed signer
    delta: Weights  # float32 tensors in the model's layout, all finite
    num_samples: int
    update_hash: str  # keccak256 of the uploaded bytes, as signed
    message: UpdateMessage
    signature: str  # 0x hex, as posted; keep it with the update as the node's proof


def validate_submission(
    *,
    raw_update: bytes,
    message_json: str | bytes,
    signature: str | None,
    expected: SubmissionContext,
    address: str | None = None,
) -> ValidatedUpdate:
    """Checks one posted update; returns it decoded or raises SubmissionRejected for the first failure.

    `address` is the sender's claimed wallet (multipart field `address`, optional). With it, a signature
    that recovers someone else is a plain 401 naming both addresses; without it, a tampered message
    recovers an arbitrary address and fails as unregistered (403).
    """
    ctx = expected
    if len(raw_update) > ctx.max_update_bytes:
        raise SubmissionRejected(
            413, f"update is {len(raw_update)} bytes, over the limit of {ctx.max_update_bytes} bytes"
        )
    if len(message_json) > MAX_MESSAGE_BYTES:
        raise SubmissionRejected(
            413, f"message is {len(message_json)} bytes, over the limit of {MAX_MESSAGE_BYTES}"
        )

    try:
        message = UpdateMessage.from_json(message_json)
    except MessageError as exc:
        raise SubmissionRejected(422, str(exc)) from None
    if message.experiment != ctx.experiment_id:
        raise SubmissionRejected(
            422,
            f"message is for experiment {message.experiment} but was posted to experiment {ctx.experiment_id}",
        )

    if signature is None or not signature.strip():
        raise SubmissionRejected(
            401, "signature is missing: sign the message with EIP-712 and post it as `signature`"
        )
    try:
        signer = recover_signer(ctx.domain, message, signature)
    except SignatureError as exc:
        raise SubmissionRejected(422, f"malformed signature: {exc}") from None
    if address is not None:
        try:
            claimed = checksum(address.strip())
        except MessageError as exc:
            raise SubmissionRejected(422, f"address field: {exc}") from None
        if signer != claimed:
            raise SubmissionRejected(
                401,
                f"signature recovers {signer}, which is not the sender {claimed}: the message was altered "
                f"after signing, or it was signed with another key or for another chain / contract",
            )

    if not ctx.is_registered(signer):
        raise SubmissionRejected(
            403, f"signer {signer} is not a registered node of experiment {ctx.experiment_id}"
        )
    if not ctx.is_staked(signer):
        raise SubmissionRejected(
            403, f"signer {signer} has no eligible stake on chain: stake FLT to take part"
        )

    if message.round != ctx.round:
        raise SubmissionRejected(409, f"update for round {message.round} but round {ctx.round} is open")
    if message.base_model_hash != ctx.base_model_hash.lower():
        raise SubmissionRejected(
            409,
            f"update was trained from model {message.base_model_hash} but round {ctx.round} started from "
            f"{ctx.base_model_hash.lower()} (stale or replayed update)",
        )
    actual_hash = model_hash(raw_update)
    if message.update_hash != actual_hash:
        raise SubmissionRejected(
            422,
            f"updateHash {message.update_hash} does not match keccak256 of the uploaded bytes {actual_hash}",
        )

    if ctx.deadline is not None:
        now = ctx.clock()
        if now > ctx.deadline:
            raise SubmissionRejected(
                410, f"round {ctx.round} closed at {_iso(ctx.deadline)}; the update arrived at {_iso(now)}"
            )
    if ctx.already_submitted(signer):
        raise SubmissionRejected(409, f"{signer} already submitted an update for round {ctx.round}")
    if message.num_samples <= 0:
        raise SubmissionRejected(422, f"numSamples must be positive, found {message.num_samples}")
    if message.num_samples > MAX_NUM_SAMPLES:
        raise SubmissionRejected(
            422, f"numSamples must be at most {MAX_NUM_SAMPLES}, found {message.num_samples}"
        )

    try:
        delta = decode_tensors(raw_update, ctx.layout, max_bytes=ctx.max_update_bytes)
    except WireError as exc:
        raise SubmissionRejected(422, f"update rejected: {exc}") from None
    return ValidatedUpdate(
        address=signer,
        delta=delta,
        num_samples=message.num_samples,
        update_hash=actual_hash,
        message=message,
        signature=signature.strip(),
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
