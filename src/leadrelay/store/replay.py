"""Stored leads read back for re-deciding them (``route --dry-run --since``), and the routing
state as it was before they arrived.

The store keeps counters and the round-robin ledger as they are *now*; ``snapshot_before``
takes the window's own first routing decisions back out of them, so caps and loads are as they
were at the window's start. Rotation positions (who was served last) have no history and stay
as they are now; reassignments and claims inside the window are not taken out either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, select

from leadrelay.domain.lead import LEAD_FIELDS, Lead
from leadrelay.domain.snapshot import NEVER, Snapshot, period_starts
from leadrelay.store.org import Org
from leadrelay.store.snapshot import build_snapshot
from leadrelay.store.tables import leads


@dataclass(frozen=True, slots=True)
class StoredLead:
    """A stored lead as routing saw it (no store id, so seeds match), and what was decided."""

    lead_id: int
    lead: Lead
    status: str
    owner: str | None
    route: str | None
    strategy: str | None


def stored_leads(
    conn: Connection, *, since: datetime, until: datetime | None = None
) -> list[StoredLead]:
    """Leads received at or after ``since`` (and before ``until``), in arrival order."""
    stmt = select(leads).where(leads.c.received_at >= since)
    if until is not None:
        stmt = stmt.where(leads.c.received_at < until)
    out = []
    for row in conn.execute(stmt.order_by(leads.c.received_at, leads.c.id)):
        values = {name: getattr(row, name) for name in LEAD_FIELDS}
        out.append(
            StoredLead(
                lead_id=int(row.id),
                lead=Lead(**values, attributes=dict(row.attributes or {})),
                status=row.status,
                owner=row.owner,
                route=row.route,
                strategy=row.strategy,
            )
        )
    return out


def snapshot_before(
    conn: Connection, org: Org, since: datetime, window: Sequence[StoredLead], now: datetime
) -> Snapshot:
    """The routing state at ``since``: today's counters, open loads and ledger counts minus the
    leads of ``window`` given to reps (rotation positions stay today's)."""
    snapshot = build_snapshot(conn, org, since, through=max(now, since))
    counters, open_leads, ledger = snapshot.counters, snapshot.open_leads, snapshot.ledger
    for stored in window:
        owner = stored.owner
        if stored.status != "assigned" or owner is None:
            continue
        rep = org.reps.get(owner)
        if rep is not None:
            for period, start in period_starts(stored.lead.received_at, rep.timezone).items():
                key = (owner, period, start)
                if counters.get(key, 0) > 0:
                    counters[key] -= 1
        if open_leads.get(owner, 0) > 0:
            open_leads[owner] -= 1
        if stored.route is not None:
            entry = ledger.get((stored.route, owner), NEVER)
            if entry.count > 0:
                ledger[(stored.route, owner)] = replace(entry, count=entry.count - 1)
    return snapshot
