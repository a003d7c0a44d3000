"""What happened to a lead after routing: contacted, qualified, won (with value), lost (with a
reason). Each is an event in the lead's history, with the owner at that moment, so performance
is measured on the leads reps were *given*. Won and lost close the lead: once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from leadrelay.errors import Problem, UnknownNameError
from leadrelay.store.tables import events, leads

OUTCOMES = ("contacted", "qualified", "won", "lost")
CLOSING = frozenset({"won", "lost"})
_HELD = ("assigned", "team", "pool", "manual")


class OutcomeError(UnknownNameError):
    """An outcome that cannot be recorded: unknown kind, no such lead, or a closed lead."""


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    lead_id: int
    kind: str
    at: datetime
    data: dict[str, Any]


def record_outcome(
    conn: Connection,
    lead_id: int,
    kind: str,
    at: datetime,
    *,
    value: float | None = None,
    reason: str | None = None,
    by: str | None = None,
) -> Event:
    if kind not in OUTCOMES:
        raise OutcomeError(
            Problem(f"unknown outcome {kind!r}; use one of {', '.join(OUTCOMES)}", field="kind")
        )
    if value is not None and kind != "won":
        raise OutcomeError(Problem("only a won outcome has a value", field="value"))
    row = conn.execute(select(leads.c.status, leads.c.owner).where(leads.c.id == lead_id)).first()
    if row is None:
        raise OutcomeError(Problem(f"no lead {lead_id}", field="lead_id"))
    if row.status not in _HELD:
        raise OutcomeError(
            Problem(f"lead {lead_id} is {row.status}: nobody works it, so it has no outcomes")
        )
    if kind in CLOSING:
        closed = conn.scalar(
            select(events.c.kind)
            .where(events.c.lead_id == lead_id, events.c.kind.in_(sorted(CLOSING)))
            .limit(1)
        )
        if closed is not None:
            raise OutcomeError(Problem(f"lead {lead_id} is already {closed}", field="kind"))
    data = {"owner": row.owner, "value": value, "reason": reason, "by": by}
    event_id = conn.execute(
        insert(events).values(lead_id=lead_id, kind=kind, at=at, data=data).returning(events.c.id)
    ).scalar_one()
    return Event(int(event_id), lead_id, kind, at, data)


def lead_events(conn: Connection, lead_id: int) -> list[Event]:
    """The lead's history, oldest first: routed, outcomes, and later workflow steps."""
    return [
        Event(int(r.id), int(r.lead_id), r.kind, r.at, dict(r.data or {}))
        for r in conn.execute(
            select(events).where(events.c.lead_id == lead_id).order_by(events.c.at, events.c.id)
        )
    ]
