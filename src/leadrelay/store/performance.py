"""Measured results of given leads, read from the store for the smart strategies.

A lead counts for the rep who held it when it closed (the outcome event names that owner), else
for its current owner while open. Live routing reads the tallies through a short-lived cache:
outcomes arrive at human speed, and the Decision states the counts it used, so a few seconds
of staleness is visible and harmless; bulk runs and dry runs read them fresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping

from sqlalchemy import Connection, and_, select

from leadrelay.domain.performance import SEGMENT_FIELDS, GivenLead, Performance, segment_key
from leadrelay.domain.rep import Rep, skill_slug
from leadrelay.store.org import cache_key
from leadrelay.store.tables import events, leads

# lead sources that mean the rep found the lead itself (earn_it's self-sourced wins)
SELF_SOURCES = frozenset({"self", "self-sourced", "outbound", "prospecting", "rep"})
CACHE_SECONDS = 30.0


def given_leads(conn: Connection, reps: Mapping[str, Rep]) -> Iterator[GivenLead]:
    closing = (
        select(events.c.lead_id, events.c.kind, events.c.data)
        .where(events.c.kind.in_(["won", "lost"]))
        .subquery()
    )
    columns = [leads.c[name] for name in SEGMENT_FIELDS]
    stmt = (
        select(leads.c.owner, closing.c.kind, closing.c.data, *columns)
        .outerjoin(closing, closing.c.lead_id == leads.c.id)
        .where(and_(leads.c.status == "assigned", leads.c.owner.is_not(None)))
        .order_by(leads.c.id)
    )
    for row in conn.execute(stmt.execution_options(yield_per=10_000)):
        data = row.data or {}
        owner = data.get("owner") or row.owner
        rep = reps.get(owner)
        source = row.source
        yield GivenLead(
            owner=owner,
            teams=rep.teams if rep is not None else (),
            segments=tuple(
                segment_key(name, value)
                for name in SEGMENT_FIELDS
                if (value := getattr(row, name)) not in (None, "")
            ),
            outcome=row.kind,
            value=float(data.get("value") or 0.0),
            self_sourced=source is not None and skill_slug(source) in SELF_SOURCES,
        )


def load_performance(conn: Connection, reps: Mapping[str, Rep]) -> Performance:
    return Performance.from_given(given_leads(conn, reps))


_cache: dict[str, tuple[float, Performance]] = {}
_lock = threading.Lock()


def cached_performance(conn: Connection, reps: Mapping[str, Rep]) -> Performance:
    """``load_performance``, read again at most every ``CACHE_SECONDS`` per database."""
    key = cache_key(conn)
    held = _cache.get(key)
    now = time.monotonic()
    if held is not None and now - held[0] < CACHE_SECONDS:
        return held[1]
    found = load_performance(conn, reps)
    with _lock:
        _cache[key] = (now, found)
    return found
