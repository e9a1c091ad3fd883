"""indexes for session metrics: request count, cost and duration per organization

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sessions_org_request_count", "sessions", ["org_id", "request_count"], unique=False)
    op.create_index("ix_sessions_org_cost", "sessions", ["org_id", "cost_nano_usd"], unique=False)
    # Spelled as schema.session_duration_ms is, so that queries on the duration can use it.
    op.create_index(
        "ix_sessions_org_duration",
        "sessions",
        ["org_id", sa.text("(last_created_at_ms - first_created_at_ms)")],
        unique=False,
    )
    # Statistics, so that SQLite (which plans without them by guessing that `org_id = ?` selects a few
    # rows) does not take a metric index for a scan of every session of an organization: with them,
    # an organization-wide total is one table scan instead of an index walk plus a random row read
    # per session (at 100,000 sessions: 63 ms instead of 630 ms). PostgreSQL keeps its own up to date.
    op.execute("ANALYZE sessions")


def downgrade() -> None:
    op.drop_index("ix_sessions_org_duration", table_name="sessions")
    op.drop_index("ix_sessions_org_cost", table_name="sessions")
    op.drop_index("ix_sessions_org_request_count", table_name="sessions")
