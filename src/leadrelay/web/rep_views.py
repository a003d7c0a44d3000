"""What a rep sees: their open leads by priority (the inbox), and the pool leads they may claim."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from leadrelay.domain.rep import Caps
from leadrelay.pipeline.eligibility import exclusion
from leadrelay.store import build_snapshot, load_org
from leadrelay.store.browse import list_leads
from leadrelay.store.outcomes import CLOSING, lead_events
from leadrelay.store.sla import Timer, open_timers

PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}
MAX_LISTED = 500


@dataclass(frozen=True, slots=True)
class LeadLine:
    """One row of a list of leads, with what has happened to it since it was routed."""

    id: int
    company: str
    email: str
    priority: str
    score: float
    value_slab: str
    received_at: datetime
    route: str | None
    pool: str | None = None
    accepted: bool = False
    contacted: bool = False
    closed: str | None = None  # won | lost
    history: tuple[str, ...] = field(default_factory=tuple)
    due_at: datetime | None = None  # the earliest open SLA deadline on the lead
    due_kind: str | None = None  # accept | contact | claim | handoff

    @property
    def who(self) -> str:
        return self.company or self.email or f"lead {self.id}"


def lead_line(row: dict[str, Any], kinds: list[str], timers: Sequence[Timer] = ()) -> LeadLine:
    closed = next((k for k in kinds if k in CLOSING), None)
    first = timers[0] if timers and closed is None else None
    return LeadLine(
        id=int(row["id"]),
        company=row["company"] or "",
        email=row["email"] or "",
        priority=row["priority"],
        score=float(row["score"]),
        value_slab=row["value_slab"],
        received_at=row["received_at"],
        route=row["route"],
        pool=row["pool"] or row["team"],
        accepted="accepted" in kinds,
        contacted="contacted" in kinds,
        closed=closed,
        history=tuple(kinds),
        due_at=first.due_at if first else None,
        due_kind=first.kind if first else None,
    )


def _worked(conn: Connection, row: dict[str, Any]) -> LeadLine:
    """A row with its history and open SLA deadlines (earliest first)."""
    lead_id = int(row["id"])
    return lead_line(row, [e.kind for e in lead_events(conn, lead_id)], open_timers(conn, lead_id))


def by_priority(lines: list[LeadLine]) -> list[LeadLine]:
    return sorted(lines, key=lambda x: (PRIORITY_RANK.get(x.priority, 3), x.received_at, x.id))


def inbox(conn: Connection, rep_id: str) -> list[LeadLine]:
    """The rep's assigned leads not yet won or lost: high priority first, oldest first within."""
    rows = list_leads(conn, status="assigned", owner=rep_id, limit=MAX_LISTED)
    lines = [_worked(conn, row) for row in rows]
    return by_priority([line for line in lines if line.closed is None])


def inbox_line(conn: Connection, rep_id: str, lead_id: int) -> LeadLine | None:
    """One lead of the rep's as an inbox row (closed ones too: the row shows what was logged)."""
    rows = list_leads(conn, owner=rep_id, before=lead_id + 1, limit=1)
    if not rows or int(rows[0]["id"]) != lead_id:
        return None
    return _worked(conn, rows[0])


@dataclass(frozen=True, slots=True)
class PoolView:
    leads: list[LeadLine]
    pools: tuple[str, ...]
    blocked: str | None  # why the rep may not take a lead now (caps, hours, away), if so


def claimable(conn: Connection, rep_id: str, default_caps: Caps, now: datetime) -> PoolView:
    """Leads open in the pools of the rep's teams, and whether the rep may take one now."""
    org = load_org(conn)
    rep = org.reps.get(rep_id)
    if rep is None:
        return PoolView([], (), f"rep {rep_id} is no longer in the roster")
    pools = rep.teams
    rows = [
        row
        for row in list_leads(conn, status="pool", limit=MAX_LISTED)
        if (row["team"] or row["pool"]) in pools
    ]
    blocked = exclusion(rep, build_snapshot(conn, org, now), default_caps)
    lines = [lead_line(row, [], open_timers(conn, int(row["id"]))) for row in rows]
    return PoolView(by_priority(lines), pools, blocked)
