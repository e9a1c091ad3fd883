"""dashboard sign-ins kept on the server, so that signing out ends them

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sign_ins",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_sign_ins")),
    )
    op.create_index(
        op.f("ix_dashboard_sign_ins_last_seen_at_ms"), "dashboard_sign_ins", ["last_seen_at_ms"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_dashboard_sign_ins_last_seen_at_ms"), table_name="dashboard_sign_ins")
    op.drop_table("dashboard_sign_ins")
