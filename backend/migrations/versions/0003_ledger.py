"""ledger: every settlement attempt persisted, re-queue count and finality time of settlements

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requeues", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "settlement_attempts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("settlement_id", _ID, nullable=False),
        sa.Column("nonce", _ID, nullable=False),
        sa.Column("chain_round_id", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("raw_tx", sa.Text(), nullable=False),
        sa.Column("max_fee_per_gas", _ID, nullable=False),
        sa.Column("max_priority_fee_per_gas", _ID, nullable=False),
        sa.Column("gas_limit", _ID, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("block_number", _ID, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlements.id"],
            name=op.f("fk_settlement_attempts_settlement_id_settlements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_attempts")),
    )
    with op.batch_alter_table("settlement_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_settlement_attempts_settlement_id"), ["settlement_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_settlement_attempts_tx_hash"), ["tx_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_settlement_attempts_state"), ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("settlement_attempts")
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("requeues")
