"""The relationship graph (social proximity).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "relationships",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("a", sa.String(512), nullable=False),
        sa.Column("a_label", sa.Text(), server_default="", nullable=False),
        sa.Column("b", sa.String(512), nullable=False),
        sa.Column("b_label", sa.Text(), server_default="", nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("strength", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_relationships"),
    )
    op.create_index("ix_relationships_source", "relationships", ["source"])


def downgrade() -> None:
    op.drop_index("ix_relationships_source", table_name="relationships")
    op.drop_table("relationships")
