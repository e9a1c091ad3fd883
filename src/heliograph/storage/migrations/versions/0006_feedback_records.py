"""feedback records of many raters and the configs of their values

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Every session rating already stored becomes the `rating` record of rater `api`, which is what the seed's
endpoint writes from now on.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The same namespace and key as heliograph.domain.feedback_values.feedback_id (copied: a migration
# must not change when the code does).
_ID_NAMESPACE = uuid.UUID("5f1d3c38-7f0e-4f8c-9d59-4c1b0f7a2e61")


def upgrade() -> None:
    records = op.create_table(
        "feedback_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=256), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("rater", sa.String(length=256), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Float(), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_records")),
        sa.UniqueConstraint(
            "org_id",
            "session_id",
            "request_id",
            "name",
            "rater",
            name=op.f("uq_feedback_records_org_id_session_id_request_id_name_rater"),
        ),
    )
    op.create_index(
        "ix_feedback_records_org_name_updated", "feedback_records", ["org_id", "name", "updated_at_ms"]
    )
    op.create_index("ix_feedback_records_org_updated", "feedback_records", ["org_id", "updated_at_ms"])
    op.create_table(
        "feedback_configs",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("max_value", sa.Float(), nullable=True),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "name", name=op.f("pk_feedback_configs")),
    )
    rated = op.get_bind().execute(
        sa.text(
            "SELECT org_id, session_id, feedback, feedback_at_ms FROM sessions WHERE feedback IS NOT NULL"
        )
    )
    rows = [
        {
            "id": str(uuid.uuid5(_ID_NAMESPACE, "\x00".join((org, session, "", "rating", "api")))),
            "org_id": org,
            "session_id": session,
            "request_id": "",
            "name": "rating",
            "rater": "api",
            "source": "api",
            "kind": "boolean",
            "number": float(rating),
            "label": None,
            "comment": None,
            "created_at_ms": at_ms or 0,
            "updated_at_ms": at_ms or 0,
        }
        for org, session, rating, at_ms in rated
    ]
    if rows:
        op.bulk_insert(records, rows)


def downgrade() -> None:
    op.drop_table("feedback_configs")
    op.drop_index("ix_feedback_records_org_updated", table_name="feedback_records")
    op.drop_index("ix_feedback_records_org_name_updated", table_name="feedback_records")
    op.drop_table("feedback_records")
