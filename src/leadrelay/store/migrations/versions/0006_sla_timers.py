"""SLA timers: one deadline per watched assignment, run by the worker.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sla_timers",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("lead_id", BigId, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("holder", sa.String(128), nullable=True),
        sa.Column("route", sa.String(128), nullable=True),
        sa.Column("since", Moment, nullable=False),
        sa.Column("due_at", Moment, nullable=False),
        sa.Column("claimed_until", Moment, nullable=True),
        sa.Column("done_at", Moment, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name="fk_sla_timers_lead_id_leads"),
        sa.PrimaryKeyConstraint("id", name="pk_sla_timers"),
    )
    op.create_index("ix_sla_timers_lead_id", "sla_timers", ["lead_id"])
    op.create_index("ix_sla_timers_due", "sla_timers", ["done_at", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_sla_timers_due", table_name="sla_timers")
    op.drop_index("ix_sla_timers_lead_id", table_name="sla_timers")
    op.drop_table("sla_timers")
