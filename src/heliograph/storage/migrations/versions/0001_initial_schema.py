"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("name", name=op.f("uq_organizations_name")),
    )
    op.create_table(
        "properties",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "request_id", "key", name=op.f("pk_properties")),
    )
    # Equality filters on properties test an indexed prefix of the value (see schema.py).
    op.create_index(
        "ix_properties_org_key_value",
        "properties",
        ["org_id", "key", sa.text("substr(value, 1, 128)")],
        unique=False,
    )
    op.create_table(
        "requests",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("response_created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms", sa.BigInteger(), nullable=False),
        sa.Column("time_to_first_token_ms", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("request_model", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Text(), nullable=True),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("total_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_nano_usd", sa.BigInteger(), nullable=False),
        sa.Column("cost_known", sa.Boolean(), nullable=False),
        sa.Column("target_url", sa.Text(), nullable=False),
        sa.Column("session_id", sa.String(length=256), nullable=True),
        sa.Column("session_path", sa.Text(), nullable=True),
        sa.Column("request_body", sa.Text(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "request_id", name=op.f("pk_requests")),
    )
    op.create_index(
        "ix_requests_org_created", "requests", ["org_id", "created_at_ms", "request_id"], unique=False
    )
    op.create_index(
        "ix_requests_org_session",
        "requests",
        ["org_id", "session_id", "created_at_ms", "request_id"],
        unique=False,
    )
    op.create_table(
        "scores",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "request_id", "key", name=op.f("pk_scores")),
    )
    op.create_index("ix_scores_org_key_value", "scores", ["org_id", "key", "value"], unique=False)
    op.create_table(
        "session_tags",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=256), nullable=False),
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("tagged_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "session_id", name=op.f("pk_session_tags")),
    )
    op.create_table(
        "session_users",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=256), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "session_id", "user_id", name=op.f("pk_session_users")),
    )
    op.create_table(
        "sessions",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=256), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("first_request_id", sa.String(length=36), nullable=False),
        sa.Column("first_created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("request_count", sa.BigInteger(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("total_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_nano_usd", sa.BigInteger(), nullable=False),
        sa.Column("latency_sum_ms", sa.BigInteger(), nullable=False),
        sa.Column("feedback", sa.SmallInteger(), nullable=True),
        sa.Column("feedback_at_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "session_id", name=op.f("pk_sessions")),
    )
    op.create_index(
        "ix_sessions_org_created", "sessions", ["org_id", "first_created_at_ms", "session_id"], unique=False
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_api_keys_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index("ix_api_keys_org_id", "api_keys", ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_api_keys_org_id", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index("ix_sessions_org_created", table_name="sessions")
    op.drop_table("sessions")
    op.drop_table("session_users")
    op.drop_table("session_tags")
    op.drop_index("ix_scores_org_key_value", table_name="scores")
    op.drop_table("scores")
    op.drop_index("ix_requests_org_session", table_name="requests")
    op.drop_index("ix_requests_org_created", table_name="requests")
    op.drop_table("requests")
    op.drop_index("ix_properties_org_key_value", table_name="properties")
    op.drop_table("properties")
    op.drop_table("organizations")
