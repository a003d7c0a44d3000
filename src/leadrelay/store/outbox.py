"""The outbox: notifications written with the decision that caused them, delivered later.

``enqueue`` runs in the routing transaction, so a lead is never assigned without its message
nor told about without being assigned. Workers ``claim_due`` rows under a lease (PostgreSQL:
``FOR UPDATE SKIP LOCKED``, so several workers never take the same row), deliver them outside
any transaction, then mark each delivered or failed. A failure is retried with backoff,
forever: a message is dropped only by being delivered (at least once). A worker that dies
mid-delivery loses its lease and the row comes back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from leadrelay.notify.messages import Message
from leadrelay.store.tables import outbox

LEASE = timedelta(seconds=60)
_DELIVERY = "_delivery"
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    lead_id: int | None
    event: str
    channel: str
    target: str
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int  # including the one this claim is for


def enqueue(conn: Connection, lead_id: int, messages: Iterable[Message], now: datetime) -> int:
    rows = [
        {
            "lead_id": lead_id,
            "event": m.event,
            "channel": m.channel,
            "target": m.target,
            # how to deliver rides along with what to say; the worker strips it before sending
            "payload": m.payload
            | {"_delivery": {"subject": m.subject, "secret_env": m.secret_env}},
            "idempotency_key": m.idempotency_key,
            "created_at": now,
            "next_attempt_at": now,
        }
        for m in messages
    ]
    if rows:
        conn.execute(insert(outbox), rows)
    return len(rows)


def claim_due(
    conn: Connection, now: datetime, *, limit: int = 50, lease: timedelta = LEASE
) -> list[OutboxItem]:
    """Take up to ``limit`` due rows for ``lease``; each claim counts as an attempt."""
    due = and_(
        outbox.c.delivered_at.is_(None),
        outbox.c.next_attempt_at <= now,
        or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
    )
    ids = list(
        conn.scalars(
            select(outbox.c.id)
            .where(due)
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(ids))
        .values(claimed_until=now + lease, attempts=outbox.c.attempts + 1)
    )
    rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id))
    return [
        OutboxItem(
            id=int(r.id),
            lead_id=None if r.lead_id is None else int(r.lead_id),
            event=r.event,
            channel=r.channel,
            target=r.target,
            payload=dict(r.payload),
            idempotency_key=r.idempotency_key,
            attempts=int(r.attempts),
        )
        for r in rows
    ]


def mark_delivered(conn: Connection, item_id: int, now: datetime) -> None:
    conn.execute(
        update(outbox)
        .where(outbox.c.id == item_id)
        .values(delivered_at=now, claimed_until=None, last_error=None)
    )


def mark_failed(conn: Connection, item: OutboxItem, now: datetime, error: str) -> datetime:
    """Schedule the next attempt (1 s, 2 s, 4 s ... at most an hour apart); returns when."""
    backoff = min(timedelta(seconds=2 ** min(item.attempts - 1, 20)), MAX_BACKOFF)
    retry_at = now + backoff
    conn.execute(
        update(outbox)
        .where(outbox.c.id == item.id)
        .values(next_attempt_at=retry_at, claimed_until=None, last_error=error[:2000])
    )
    return retry_at


def pending_count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).where(outbox.c.delivered_at.is_(None))) or 0)
