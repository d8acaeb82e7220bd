"""settlements: when their payouts were announced, so each is announced once

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True))
    # Settlements confirmed before this migration were announced when they were confirmed.
    op.execute("UPDATE settlements SET announced_at = confirmed_at WHERE confirmed_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.drop_column("announced_at")
