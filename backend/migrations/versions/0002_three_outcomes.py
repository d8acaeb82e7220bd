"""three outcomes: verdicts say accepted, excluded or slashed; rounds count each

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Verdicts recorded before three outcomes were accepted or rejected-and-slashed.
    with op.batch_alter_table("verdicts") as batch:
        batch.add_column(
            sa.Column("outcome", sa.String(length=16), nullable=False, server_default="accepted")
        )
    op.execute("UPDATE verdicts SET outcome = CASE WHEN accepted THEN 'accepted' ELSE 'slashed' END")
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("excluded", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("slashed", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE rounds SET slashed = rejected")


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("slashed")
        batch.drop_column("excluded")
    with op.batch_alter_table("verdicts") as batch:
        batch.drop_column("outcome")
