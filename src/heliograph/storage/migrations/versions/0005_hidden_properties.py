"""property keys an organization hid from its property lists

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hidden_properties",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("hidden_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "key", name=op.f("pk_hidden_properties")),
    )


def downgrade() -> None:
    op.drop_table("hidden_properties")
