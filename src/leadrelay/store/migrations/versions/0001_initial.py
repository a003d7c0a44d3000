"""Initial schema: org, policies, leads with decisions and assignments, routing state, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_meta"),
    )
    op.create_table(
        "reps",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("teams", sa.Text(), server_default="", nullable=False),
        sa.Column("role", sa.String(16), server_default="rep", nullable=False),
        sa.Column("timezone", sa.String(64), server_default="UTC", nullable=False),
        sa.Column("working_hours", sa.Text(), server_default="", nullable=False),
        sa.Column("out_of_office", sa.Text(), server_default="", nullable=False),
        sa.Column("weight", sa.Float(), server_default="1", nullable=False),
        sa.Column("max_per_day", sa.Integer(), nullable=True),
        sa.Column("max_per_week", sa.Integer(), nullable=True),
        sa.Column("max_per_month", sa.Integer(), nullable=True),
        sa.Column("skills", sa.Text(), server_default="", nullable=False),
        sa.Column("regions", sa.Text(), server_default="", nullable=False),
        sa.Column("seniority", sa.String(16), server_default="mid", nullable=False),
        sa.Column("office_lat", sa.Float(), nullable=True),
        sa.Column("office_lon", sa.Float(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reps"),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_teams"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("domain", sa.String(255), nullable=True),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
    )
    op.create_index("ix_accounts_domain", "accounts", ["domain"])
    op.create_table(
        "policies",
        sa.Column("revision", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("revision", name="pk_policies"),
        sa.UniqueConstraint("digest", name="uq_policies_digest"),
    )
    op.create_index(
        "uq_policies_one_active",
        "policies",
        ["active"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "leads",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("domain", sa.Text(), nullable=True),
        sa.Column("industry", sa.Text(), nullable=True),
        sa.Column("company_type", sa.Text(), nullable=True),
        sa.Column("employees", sa.BigInteger(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("postal_code", sa.Text(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("product", sa.Text(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("received_at", Moment, nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("team", sa.String(128), nullable=True),
        sa.Column("pool", sa.String(128), nullable=True),
        sa.Column("route", sa.String(128), nullable=True),
        sa.Column("strategy", sa.String(64), nullable=True),
        sa.Column("policy_revision", sa.Integer(), nullable=False),
        sa.Column("decided_at", Moment, nullable=False),
        sa.Column("score", sa.Float(), server_default="0", nullable=False),
        sa.Column("value_slab", sa.String(32), server_default="low", nullable=False),
        sa.Column("priority", sa.String(32), server_default="low", nullable=False),
        sa.Column("duplicate_of", sa.BigInteger(), nullable=True),
        sa.Column("account", sa.String(128), nullable=True),
        sa.Column("experiment", sa.String(128), nullable=True),
        sa.Column("arm", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_leads"),
        sa.UniqueConstraint("external_id", name="uq_leads_external_id"),
    )
    op.create_index("ix_leads_owner", "leads", ["owner"])
    op.create_index("ix_leads_status", "leads", ["status"])
    op.create_table(
        "decisions",
        sa.Column("lead_id", BigId, nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name="fk_decisions_lead_id_leads"),
        sa.PrimaryKeyConstraint("lead_id", name="pk_decisions"),
    )
    op.create_table(
        "assignments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("lead_id", BigId, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("team", sa.String(128), nullable=True),
        sa.Column("pool", sa.String(128), nullable=True),
        sa.Column("route", sa.String(128), nullable=True),
        sa.Column("strategy", sa.String(64), nullable=True),
        sa.Column("policy_revision", sa.Integer(), nullable=False),
        sa.Column("assigned_at", Moment, nullable=False),
        sa.Column("ended_at", Moment, nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name="fk_assignments_lead_id_leads"),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
    )
    op.create_index("ix_assignments_owner", "assignments", ["owner"])
    # DESIGN invariant 2: at most one active owner per lead, held by the database.
    op.create_index(
        "uq_assignments_active_lead",
        "assignments",
        ["lead_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "rr_ledger",
        sa.Column("route", sa.String(128), nullable=False),
        sa.Column("rep_id", sa.String(128), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_assigned_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("route", "rep_id", name="pk_rr_ledger"),
    )
    op.create_table(
        "route_state",
        sa.Column("route", sa.String(128), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("route", name="pk_route_state"),
    )
    op.create_table(
        "rep_load",
        sa.Column("rep_id", sa.String(128), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("rep_id", "period", "period_start", name="pk_rep_load"),
    )
    op.create_table(
        "events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("lead_id", BigId, nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", Moment, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name="fk_events_lead_id_leads"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_lead_id", "events", ["lead_id"])


def downgrade() -> None:
    for table in (
        "events",
        "rep_load",
        "route_state",
        "rr_ledger",
        "assignments",
        "decisions",
        "leads",
        "policies",
        "accounts",
        "teams",
        "reps",
        "meta",
    ):
        op.drop_table(table)
