"""Duplicate keys of stored leads (email, phone, name + company).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lead_keys",
        sa.Column("key", sa.String(320), nullable=False),
        sa.Column("lead_id", BigId, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name="fk_lead_keys_lead_id_leads"),
        sa.PrimaryKeyConstraint("key", "lead_id", name="pk_lead_keys"),
    )


def downgrade() -> None:
    op.drop_table("lead_keys")
