"""One row of facts per lead for measurement: what it was, where it went, what happened.

Read in one pass with three grouped sub-queries (first owner, outcome times, SLA timers), so
KPIs over a million leads are one scan, not a query per lead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, select

from leadrelay.store.tables import assignments, events, leads, sla_timers


@dataclass(frozen=True, slots=True)
class LeadFacts:
    id: int
    received_at: datetime
    status: str
    owner: str | None
    team: str | None
    route: str | None
    product: str | None
    source: str | None
    value_slab: str
    priority: str
    score: float
    experiment: str | None
    arm: str | None
    first_owned_at: datetime | None  # when a person first became accountable
    first_contact_at: datetime | None
    accepted_at: datetime | None
    won_at: datetime | None
    won_value: float | None
    lost_at: datetime | None
    sla_met: int = 0  # the lead's SLA timers whose step happened in time
    sla_breached: int = 0  # ... that ran out (the worker's verdict, or overdue and still open)
    qualified_at: datetime | None = None


def lead_facts(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
    experiment: str | None = None,
) -> Iterator[LeadFacts]:
    """Every lead's facts (only those that entered ``experiment``, when given); with ``now``,
    an open SLA timer already due counts as breached (the worker has not reached it yet, but
    the deadline has passed)."""
    owned = (
        select(assignments.c.lead_id, func.min(assignments.c.assigned_at).label("first_owned"))
        .where(assignments.c.owner.is_not(None))
        .group_by(assignments.c.lead_id)
        .subquery()
    )

    def first(kind: str) -> ColumnElement[Any]:
        return func.min(case((events.c.kind == kind, events.c.at)))

    outcomes = (
        select(
            events.c.lead_id,
            first("contacted").label("contacted"),
            first("accepted").label("accepted"),
            first("qualified").label("qualified"),
            first("won").label("won"),
            first("lost").label("lost"),
        )
        .where(events.c.kind.in_(["contacted", "accepted", "qualified", "won", "lost"]))
        .group_by(events.c.lead_id)
        .subquery()
    )
    won_value = select(events.c.lead_id, events.c.data).where(events.c.kind == "won").subquery()
    late = sla_timers.c.outcome == "breached"
    if now is not None:
        late = late | (sla_timers.c.done_at.is_(None) & (sla_timers.c.due_at <= now))
    timers = (
        select(
            sla_timers.c.lead_id,
            func.sum(case((sla_timers.c.outcome == "met", 1), else_=0)).label("met"),
            func.sum(case((late, 1), else_=0)).label("breached"),
        )
        .group_by(sla_timers.c.lead_id)
        .subquery()
    )
    stmt = (
        select(
            leads.c.id,
            leads.c.received_at,
            leads.c.status,
            leads.c.owner,
            leads.c.team,
            leads.c.route,
            leads.c.product,
            leads.c.source,
            leads.c.value_slab,
            leads.c.priority,
            leads.c.score,
            leads.c.experiment,
            leads.c.arm,
            owned.c.first_owned,
            outcomes.c.contacted,
            outcomes.c.accepted,
            outcomes.c.qualified,
            outcomes.c.won,
            outcomes.c.lost,
            won_value.c.data,
            timers.c.met,
            timers.c.breached,
        )
        .outerjoin(owned, owned.c.lead_id == leads.c.id)
        .outerjoin(outcomes, outcomes.c.lead_id == leads.c.id)
        .outerjoin(won_value, won_value.c.lead_id == leads.c.id)
        .outerjoin(timers, timers.c.lead_id == leads.c.id)
        .order_by(leads.c.id)
    )
    conditions = []
    if since is not None:
        conditions.append(leads.c.received_at >= since)
    if until is not None:
        conditions.append(leads.c.received_at < until)
    if experiment is not None:
        conditions.append(leads.c.experiment == experiment)
    if conditions:
        stmt = stmt.where(and_(*conditions))
    for row in conn.execute(stmt.execution_options(yield_per=10_000)):
        data = row.data or {}
        yield LeadFacts(
            id=int(row.id),
            received_at=row.received_at,
            status=row.status,
            owner=row.owner,
            team=row.team,
            route=row.route,
            product=row.product,
            source=row.source,
            value_slab=row.value_slab,
            priority=row.priority,
            score=float(row.score),
            experiment=row.experiment,
            arm=row.arm,
            first_owned_at=_utc(row.first_owned),
            first_contact_at=_utc(row.contacted),
            accepted_at=_utc(row.accepted),
            won_at=_utc(row.won),
            won_value=None if data.get("value") is None else float(data["value"]),
            lost_at=_utc(row.lost),
            sla_met=int(row.met or 0),
            sla_breached=int(row.breached or 0),
            qualified_at=_utc(row.qualified),
        )


def _utc(value: object) -> datetime | None:
    """Aggregates lose the column type: SQLite hands back text, PostgreSQL an aware datetime."""
    from datetime import UTC

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def assigned_by_route(conn: Connection) -> dict[str, dict[str, int]]:
    """Leads each route gave each rep (first routing decisions, as stored on the lead)."""
    rows = conn.execute(
        select(leads.c.route, leads.c.owner, func.count())
        .where(leads.c.status == "assigned", leads.c.route.is_not(None))
        .group_by(leads.c.route, leads.c.owner)
    )
    out: dict[str, dict[str, int]] = {}
    for route, owner, count in rows:
        out.setdefault(route, {})[owner] = int(count)
    return out
