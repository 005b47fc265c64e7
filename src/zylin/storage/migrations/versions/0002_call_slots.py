"""Concurrent-call slots shared by every worker process of a box.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "call_slots",
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("call_sid", name=op.f("pk_call_slots")),
    )
    op.create_index(op.f("ix_call_slots_expires_at"), "call_slots", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_call_slots_expires_at"), table_name="call_slots")
    op.drop_table("call_slots")
