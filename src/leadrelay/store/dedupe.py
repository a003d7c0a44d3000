"""Duplicate keys in the store: the originals a new lead may duplicate, and recording keys.

Only leads that hold an owner (assigned, team, pool, manual) are originals: a screened-out
lead or a duplicate never becomes the lead others are linked to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from leadrelay.domain.snapshot import Original
from leadrelay.store.tables import lead_keys, leads


def find_originals(
    conn: Connection, keys: Sequence[str], *, since: datetime
) -> dict[str, Original]:
    """For each key, the earliest stored original received at or after ``since``."""
    if not keys:
        return {}
    rows = conn.execute(
        select(lead_keys.c.key, leads.c.id, leads.c.owner, leads.c.received_at, leads.c.external_id)
        .join(leads, leads.c.id == lead_keys.c.lead_id)
        .where(lead_keys.c.key.in_(list(keys)), lead_keys.c.received_at >= since)
        .order_by(lead_keys.c.received_at, leads.c.id)
    )
    found: dict[str, Original] = {}
    for key, lead_id, owner, received_at, external_id in rows:
        found.setdefault(key, Original(int(lead_id), owner, received_at, external_id))
    return found


def save_keys(conn: Connection, rows: Iterable[tuple[int, str, datetime]]) -> None:
    """Record ``(lead_id, key, received_at)`` for leads that became originals."""
    batch = [{"lead_id": lead_id, "key": key, "received_at": at} for lead_id, key, at in rows]
    if batch:
        conn.execute(lead_keys.insert(), batch)


def all_originals(
    conn: Connection, keys: Iterable[str], *, since: datetime
) -> dict[str, list[Original]]:
    """Every stored original for each key since ``since``, oldest first (bulk routing)."""
    wanted = sorted(set(keys))
    found: dict[str, list[Original]] = {}
    for start in range(0, len(wanted), 5_000):
        chunk = wanted[start : start + 5_000]
        rows = conn.execute(
            select(
                lead_keys.c.key, leads.c.id, leads.c.owner, leads.c.received_at, leads.c.external_id
            )
            .join(leads, leads.c.id == lead_keys.c.lead_id)
            .where(lead_keys.c.key.in_(chunk), lead_keys.c.received_at >= since)
            .order_by(lead_keys.c.received_at, leads.c.id)
        )
        for key, lead_id, owner, received_at, external_id in rows:
            found.setdefault(key, []).append(
                Original(int(lead_id), owner, received_at, external_id)
            )
    return found
