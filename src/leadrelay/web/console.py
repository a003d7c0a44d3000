"""What a manager sees: the manual queue, each team's load against caps, who is available."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from leadrelay.domain.rep import Caps
from leadrelay.pipeline.eligibility import exclusion
from leadrelay.store import build_snapshot, load_org
from leadrelay.store.browse import lead_record, list_leads
from leadrelay.store.sla import open_timers
from leadrelay.store.tables import events, leads
from leadrelay.web.rep_views import MAX_LISTED, LeadLine, by_priority, lead_line

PERIODS = (("day", "today"), ("week", "this week"), ("month", "this month"))


@dataclass(frozen=True, slots=True)
class Counter:
    label: str
    given: int
    cap: int | None

    @property
    def full(self) -> bool:
        return self.cap is not None and self.given >= self.cap

    @property
    def share(self) -> float:
        """How full, 0..1 (0 without a cap): for the load bar."""
        return 0.0 if not self.cap else min(self.given / self.cap, 1.0)


@dataclass(frozen=True, slots=True)
class RepLoad:
    id: str
    name: str
    active: bool
    timezone: str
    local_time: str
    working_hours: str
    out_of_office: tuple[str, ...]
    away_now: bool
    working_now: bool
    available: str | None  # None: may take a lead now; else why not, in routing's words
    open_leads: int
    counters: tuple[Counter, ...]


@dataclass(frozen=True, slots=True)
class TeamLoad:
    id: str
    name: str
    owner: str | None
    reps: tuple[RepLoad, ...]


def manual_queue(conn: Connection) -> list[LeadLine]:
    return by_priority(
        [lead_line(r, []) for r in list_leads(conn, status="manual", limit=MAX_LISTED)]
    )


def team_loads(conn: Connection, default_caps: Caps, now: datetime) -> list[TeamLoad]:
    """Every team with its members' load, then reps in no team (as team "(no team)")."""
    org = load_org(conn)
    snap = build_snapshot(conn, org, now)
    loads: dict[str, RepLoad] = {}
    for rep in org.reps.values():
        caps = rep.effective_caps(default_caps)
        local = rep.local_time(now)
        away = any(local.date() in days for days in rep.out_of_office)
        loads[rep.id] = RepLoad(
            id=rep.id,
            name=rep.name or rep.id,
            active=rep.active,
            timezone=rep.timezone,
            local_time=local.strftime("%a %H:%M"),
            working_hours=rep.working_hours.text or "always",
            out_of_office=tuple(str(days) for days in rep.out_of_office),
            away_now=away,
            working_now=rep.working_hours.covers(local),
            available=exclusion(rep, snap, default_caps),
            open_leads=snap.open_leads.get(rep.id, 0),
            counters=tuple(
                Counter(label, snap.count(rep, period), dict(caps.items())[period])
                for period, label in PERIODS
            ),
        )
    teams = [
        TeamLoad(
            t.id,
            t.name or t.id,
            t.owner,
            tuple(loads[m] for m in org.team_members.get(t.id, ()) if m in loads),
        )
        for t in org.teams.values()
    ]
    placed = {r.id for t in teams for r in t.reps}
    loose = tuple(load for rep_id, load in loads.items() if rep_id not in placed)
    if loose:
        teams.append(TeamLoad("", "(no team)", None, loose))
    return teams


@dataclass(frozen=True, slots=True)
class Overdue:
    """An SLA deadline that passed and the worker has not handled yet."""

    lead_id: int
    who: str
    kind: str
    holder: str | None
    due_at: datetime


def overdue(conn: Connection, now: datetime) -> list[Overdue]:
    found = []
    for timer in open_timers(conn):
        if timer.due_at > now:
            break  # earliest due first
        record = lead_record(conn, timer.lead_id)
        who = (record.fields.get("company") or record.fields.get("email")) if record else None
        found.append(
            Overdue(
                timer.lead_id,
                who or f"lead {timer.lead_id}",
                timer.kind,
                timer.holder,
                timer.due_at,
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class Breach:
    """A deadline the worker found missed: what it did about it is in the lead's history."""

    lead_id: int
    kind: str
    holder: str | None
    at: datetime
    now_owner: str | None
    now_status: str


BREACHES_SHOWN = 50


def recent_breaches(conn: Connection, since: datetime) -> list[Breach]:
    """The newest handled breaches since ``since`` (events ``sla_breached``), newest first."""
    rows = conn.execute(
        select(events.c.lead_id, events.c.at, events.c.data, leads.c.owner, leads.c.status)
        .join(leads, leads.c.id == events.c.lead_id)
        .where(events.c.kind == "sla_breached", events.c.at >= since)
        .order_by(events.c.at.desc(), events.c.id.desc())
        .limit(BREACHES_SHOWN)
    )
    return [
        Breach(
            int(r.lead_id),
            str((r.data or {}).get("kind", "")),
            (r.data or {}).get("holder"),
            _aware(r.at),
            r.owner,
            r.status,
        )
        for r in rows
    ]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def rep_choices(conn: Connection) -> list[tuple[str, str]]:
    """Active reps as (id, label) for an assign form."""
    return [(r.id, r.name or r.id) for r in load_org(conn).reps.values() if r.active]
