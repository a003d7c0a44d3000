"""Counters by period start: live routing reads the counters of a few period starts for every
group; without this index it read every row of ``rep_load``, which grows by a row per rep and
day, week and month.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_rep_load_start", "rep_load", ["period_start", "period"])


def downgrade() -> None:
    op.drop_index("ix_rep_load_start", table_name="rep_load")
