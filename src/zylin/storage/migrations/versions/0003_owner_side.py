"""The owner's side: cost on each call, messages marked handled, and an audit of owner actions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("cost_usd", sa.Float(), nullable=True))
        batch.add_column(sa.Column("usage", sa.JSON(), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("handled_at", UTC_TS, nullable=True))
        batch.add_column(sa.Column("handled_by", sa.String(length=100), nullable=True))
    op.create_table(
        "owner_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owner_actions")),
    )
    op.create_index(op.f("ix_owner_actions_target"), "owner_actions", ["target"])
    op.create_index(op.f("ix_owner_actions_created_at"), "owner_actions", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_owner_actions_created_at"), table_name="owner_actions")
    op.drop_index(op.f("ix_owner_actions_target"), table_name="owner_actions")
    op.drop_table("owner_actions")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("handled_by")
        batch.drop_column("handled_at")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("usage")
        batch.drop_column("cost_usd")
