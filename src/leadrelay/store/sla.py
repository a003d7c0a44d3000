"""SLA timers in the store: scheduled with the assignment they watch, claimed by workers.

``schedule`` runs in the transaction that made the assignment, so a lead is never held without
its deadlines. Workers ``claim_due`` timers under a lease (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``, so several workers never take the same one), then handle each in its own transaction,
which first ``finish``es it conditionally: a timer is handled once even if a lease ran out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from leadrelay.store.tables import sla_timers

LEASE = timedelta(seconds=60)
MET, BREACHED, MOVED = "met", "breached", "moved"  # how a timer ended


@dataclass(frozen=True, slots=True)
class Timer:
    id: int
    lead_id: int
    kind: str  # accept | contact | claim | handoff
    status: str  # the lead status it watches: assigned | pool | team
    holder: str | None
    route: str | None
    since: datetime  # assigned_at of the watched assignment
    due_at: datetime


@dataclass(frozen=True, slots=True)
class NewTimer:
    lead_id: int
    kind: str
    status: str
    holder: str | None
    route: str | None
    since: datetime
    due_at: datetime


def schedule(conn: Connection, timers: Sequence[NewTimer]) -> None:
    if timers:
        conn.execute(
            insert(sla_timers),
            [
                {
                    "lead_id": t.lead_id, "kind": t.kind, "status": t.status,
                    "holder": t.holder, "route": t.route, "since": t.since, "due_at": t.due_at,
                }
                for t in timers
            ],
        )  # fmt: skip


def claim_due(
    conn: Connection, now: datetime, *, limit: int = 50, lease: timedelta = LEASE
) -> list[Timer]:
    """Take up to ``limit`` timers due at ``now`` for ``lease``, earliest first."""
    due = and_(
        sla_timers.c.done_at.is_(None),
        sla_timers.c.due_at <= now,
        or_(sla_timers.c.claimed_until.is_(None), sla_timers.c.claimed_until < now),
    )
    ids = list(
        conn.scalars(
            select(sla_timers.c.id)
            .where(due)
            .order_by(sla_timers.c.due_at, sla_timers.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    conn.execute(
        update(sla_timers).where(sla_timers.c.id.in_(ids)).values(claimed_until=now + lease)
    )
    rows = conn.execute(
        select(sla_timers).where(sla_timers.c.id.in_(ids)).order_by(sla_timers.c.due_at)
    )
    return [_timer(row) for row in rows]


def finish(conn: Connection, timer_id: int, now: datetime, outcome: str) -> bool:
    """Mark the timer done; False if it was done already (another worker had it)."""
    done = conn.execute(
        update(sla_timers)
        .where(sla_timers.c.id == timer_id, sla_timers.c.done_at.is_(None))
        .values(done_at=now, outcome=outcome, claimed_until=None)
    ).rowcount
    return bool(done == 1)


def settle(conn: Connection, lead_id: int, kinds: Iterable[str], now: datetime) -> int:
    """The watched step happened (accepted, contacted): the lead's open timers of ``kinds``
    are met. Timers the worker holds are left to it; it finds the step done when it looks."""
    return int(
        conn.execute(
            update(sla_timers)
            .where(
                sla_timers.c.lead_id == lead_id,
                sla_timers.c.kind.in_(list(kinds)),
                sla_timers.c.done_at.is_(None),
                or_(sla_timers.c.claimed_until.is_(None), sla_timers.c.claimed_until < now),
            )
            .values(done_at=now, outcome=MET)
        ).rowcount
    )


def cancel_open(conn: Connection, lead_id: int, now: datetime) -> int:
    """The lead's assignment ended: its open timers watch nothing any more (outcome moved)."""
    return int(
        conn.execute(
            update(sla_timers)
            .where(sla_timers.c.lead_id == lead_id, sla_timers.c.done_at.is_(None))
            .values(done_at=now, outcome=MOVED, claimed_until=None)
        ).rowcount
    )


def open_timers(conn: Connection, lead_id: int | None = None) -> list[Timer]:
    """Timers not done yet (of one lead, or all), earliest due first."""
    query = select(sla_timers).where(sla_timers.c.done_at.is_(None))
    if lead_id is not None:
        query = query.where(sla_timers.c.lead_id == lead_id)
    return [_timer(r) for r in conn.execute(query.order_by(sla_timers.c.due_at))]


def next_due(conn: Connection) -> datetime | None:
    """When the earliest open timer is due (for a worker deciding how long to sleep)."""
    found: datetime | None = conn.scalar(
        select(sla_timers.c.due_at)
        .where(sla_timers.c.done_at.is_(None))
        .order_by(sla_timers.c.due_at)
        .limit(1)
    )
    return found


def _timer(r: Any) -> Timer:
    return Timer(int(r.id), int(r.lead_id), r.kind, r.status, r.holder, r.route, r.since, r.due_at)
