"""Tables of the orchestrator: what must survive a restart.

Experiments own their nodes, rounds, submissions (updates waiting for the round to close), verdicts and
settlements (the outbox). Events are the live stream's durable log; their integer ids are the SSE ids.
Global models are files named by their keccak hash; the table only indexes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from backend.db.base import Base, BigId, UTCDateTime, utcnow
from backend.db.statuses import AttemptState, ExperimentStatus, RoundStatus, SettlementStatus, StatusColumn

HASH_LEN = 66  # "0x" + 64 hex digits
ADDRESS_LEN = 42


class NodeRoundKey:
    """One row per node per round of an experiment: the unique key is what keeps it to one."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[UniqueConstraint]:
        return (UniqueConstraint("experiment_id", "round", "node_address"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    node_address: Mapped[str] = mapped_column(String(ADDRESS_LEN))


class DatasetRow(Base):
    """An uploaded dataset (the built-in ones are not stored)."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(300))  # inside the upload folder
    label_column: Mapped[str | None] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # DatasetSpec.to_dict()
    num_samples: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExperimentRow(Base):
    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    dataset_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[ExperimentStatus] = mapped_column(
        StatusColumn(ExperimentStatus), default=ExperimentStatus.CREATED, index=True
    )
    rounds: Mapped[int] = mapped_column(Integer)
    current_round: Mapped[int] = mapped_column(Integer, default=0)  # last round opened (0: none yet)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)  # the ExperimentCreate as given, defaults filled
    attack: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the AttackPlan in force
    model_spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    initial_model_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    reward_flt: Mapped[str] = mapped_column(String(40))
    slash_flt: Mapped[str] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class NodeRow(Base):
    """A wallet registered for an experiment; simulated nodes hold a data slot (their partition index)."""

    __tablename__ = "nodes"
    __table_args__ = (UniqueConstraint("experiment_id", "address"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    label: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # "simulated" | "external"
    slot: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # counts towards the round's quorum
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoundRow(Base):
    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("experiment_id", "round"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    status: Mapped[RoundStatus] = mapped_column(StatusColumn(RoundStatus))
    base_model_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    model_hash: Mapped[str | None] = mapped_column(String(HASH_LEN))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accuracy: Mapped[float | None] = mapped_column(Float)
    loss: Mapped[float | None] = mapped_column(Float)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)  # excluded + slashed
    excluded: Mapped[int] = mapped_column(Integer, default=0)
    slashed: Mapped[int] = mapped_column(Integer, default=0)
    tp: Mapped[int] = mapped_column(Integer, default=0)
    fp: Mapped[int] = mapped_column(Integer, default=0)
    tn: Mapped[int] = mapped_column(Integer, default=0)
    fn: Mapped[int] = mapped_column(Integer, default=0)
    defense: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # DefenseConfig in force
    attack: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # AttackPlan in force
    reward_flt: Mapped[str | None] = mapped_column(String(40))
    slash_flt: Mapped[str | None] = mapped_column(String(40))


class SubmissionRow(NodeRoundKey, Base):
    """A validated update waiting for its round to close; the unique key enforces one per node per round."""

    __tablename__ = "submissions"

    num_samples: Mapped[int] = mapped_column(Integer)
    update_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    signature: Mapped[str] = mapped_column(String(200))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VerdictRow(NodeRoundKey, Base):
    __tablename__ = "verdicts"

    node_label: Mapped[str] = mapped_column(String(100))
    accepted: Mapped[bool] = mapped_column(Boolean)  # outcome == "accepted"
    outcome: Mapped[str] = mapped_column(String(16))  # backend.engine.shield.Outcome
    rule: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    features: Mapped[dict[str, float]] = mapped_column(JSON)
    malicious: Mapped[bool | None] = mapped_column(Boolean)  # ground truth, known for simulated nodes


class SettlementRow(Base):
    """The outbox: one `settleRound` per experiment round, sent (and reconciled) by the settlement worker."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("experiment_id", "round"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    status: Mapped[SettlementStatus] = mapped_column(
        StatusColumn(SettlementStatus), default=SettlementStatus.PENDING, index=True
    )
    chain_round_id: Mapped[int | None] = mapped_column(Integer)
    model_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    results_root: Mapped[str] = mapped_column(String(HASH_LEN))
    accepted: Mapped[list[str]] = mapped_column(JSON)
    slashed: Mapped[list[str]] = mapped_column(JSON)
    tx_hash: Mapped[str | None] = mapped_column(String(HASH_LEN))
    block_number: Mapped[int | None] = mapped_column(BigId)
    gas_used: Mapped[int | None] = mapped_column(BigId)
    # What the chain actually paid and took, by address: {"0x…": {"rewarded": "10", "slashed": "0"}} in FLT.
    payouts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Times it went back to pending: its transaction vanished from the chain, or its nonce or round id was
    # taken by another transaction (migration 0003).
    requeues: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its rewards and slashes were announced (wallet.rewarded / wallet.slashed): once per settlement
    # ever, however often a re-queue or a restart confirms it again (migration 0004).
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SettlementAttemptRow(Base):
    """Every signed `settleRound` transaction of a settlement, persisted before it is broadcast.

    state: `AttemptState`.
    """

    __tablename__ = "settlement_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id", ondelete="CASCADE"), index=True)
    nonce: Mapped[int] = mapped_column(BigId)
    chain_round_id: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(String(HASH_LEN), index=True)
    raw_tx: Mapped[str] = mapped_column(Text)  # the signed bytes (no key), to broadcast again
    max_fee_per_gas: Mapped[int] = mapped_column(BigId)
    max_priority_fee_per_gas: Mapped[int] = mapped_column(BigId)
    gas_limit: Mapped[int] = mapped_column(BigId)
    state: Mapped[AttemptState] = mapped_column(
        StatusColumn(AttemptState), default=AttemptState.UNCONFIRMED, index=True
    )
    block_number: Mapped[int | None] = mapped_column(BigId)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ModelRow(Base):
    """A global model file, named by the keccak256 of its safetensors bytes."""

    __tablename__ = "models"

    hash: Mapped[str] = mapped_column(String(HASH_LEN), primary_key=True)
    # The experiment that first produced it (equal seeds and specs give equal initial models).
    experiment_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)  # v1 is the initial model; round r aggregates v(r+1)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    experiment_id: Mapped[int | None] = mapped_column(Integer, index=True)
    round: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
