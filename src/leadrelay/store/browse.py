"""Reading leads for people and services: one lead's record, and pages of leads by filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from leadrelay.domain.lead import LEAD_FIELDS
from leadrelay.store.tables import leads

# What a listing shows of each lead: who it is and what became of it (not the whole trace).
_SUMMARY = (
    "id", "external_id", "email", "company", "received_at", "status", "owner", "team", "pool",
    "route", "strategy", "policy_revision", "decided_at", "score", "value_slab", "priority",
    "duplicate_of", "account",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LeadRecord:
    """A stored lead: its fields, custom attributes and where it stands now."""

    id: int
    fields: dict[str, Any]
    attributes: dict[str, Any]
    status: str
    owner: str | None
    team: str | None
    pool: str | None
    route: str | None
    strategy: str | None
    policy_revision: int
    decided_at: datetime
    score: float
    value_slab: str
    priority: str
    duplicate_of: int | None
    account: str | None


def lead_record(conn: Connection, lead_id: int) -> LeadRecord | None:
    row = conn.execute(select(leads).where(leads.c.id == lead_id)).first()
    return None if row is None else _record(row)


def list_leads(
    conn: Connection,
    *,
    status: str | None = None,
    owner: str | None = None,
    route: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Newest first; ``before`` (a lead id) pages on: pass the last id of the previous page."""
    stmt = select(*(leads.c[name] for name in _SUMMARY)).order_by(leads.c.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(leads.c.status == status)
    if owner is not None:
        stmt = stmt.where(leads.c.owner == owner)
    if route is not None:
        stmt = stmt.where(leads.c.route == route)
    if before is not None:
        stmt = stmt.where(leads.c.id < before)
    return [dict(row._mapping) for row in conn.execute(stmt)]


def _record(row: Row[Any]) -> LeadRecord:
    return LeadRecord(
        id=int(row.id),
        fields={name: getattr(row, name) for name in LEAD_FIELDS},
        attributes=dict(row.attributes or {}),
        status=row.status,
        owner=row.owner,
        team=row.team,
        pool=row.pool,
        route=row.route,
        strategy=row.strategy,
        policy_revision=int(row.policy_revision),
        decided_at=row.decided_at,
        score=float(row.score),
        value_slab=row.value_slab,
        priority=row.priority,
        duplicate_of=None if row.duplicate_of is None else int(row.duplicate_of),
        account=row.account,
    )
