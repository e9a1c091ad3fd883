"""feedback monitors, their webhook deliveries, and leases for one evaluator and sender

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("feedback_name", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("operator", sa.String(length=4), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("window_s", sa.BigInteger(), nullable=False),
        sa.Column("min_rated", sa.BigInteger(), nullable=False),
        sa.Column("filter", sa.Text(), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=False),
        sa.Column("webhook_secret", sa.Text(), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("rated", sa.BigInteger(), nullable=False),
        sa.Column("evaluated_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("transitions", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitors")),
    )
    op.create_index(op.f("ix_monitors_org_id"), "monitors", ["org_id"], unique=False)
    op.create_table(
        "monitor_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("monitor_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("next_attempt_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_deliveries")),
    )
    op.create_index(
        "ix_monitor_deliveries_org_monitor", "monitor_deliveries", ["org_id", "monitor_id", "created_at_ms"]
    )
    op.create_index(
        "ix_monitor_deliveries_status_next", "monitor_deliveries", ["status", "next_attempt_at_ms"]
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_index("ix_monitor_deliveries_status_next", table_name="monitor_deliveries")
    op.drop_index("ix_monitor_deliveries_org_monitor", table_name="monitor_deliveries")
    op.drop_table("monitor_deliveries")
    op.drop_index(op.f("ix_monitors_org_id"), table_name="monitors")
    op.drop_table("monitors")
