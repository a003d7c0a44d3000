"""People moving leads after routing: a rep claims from a pool, accepts, a team's owner hands a
lead to a member, or a manager assigns. (Declines and re-routes by the policy: ``reroute.py``.)

Each is one transaction that ends the lead's active assignment with a conditional update (only
the state the caller saw may be ended, so two reps claiming one lead at once: exactly one
wins) and starts the next, within the new owner's caps, with an event saying who did what and
why, and a message to the new owner. The database's one-active-assignment index backs it up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from leadrelay.domain.decision import Decision, Status
from leadrelay.domain.rep import Caps
from leadrelay.domain.snapshot import period_starts
from leadrelay.errors import Problem, UnknownNameError
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store.engine import lock_routing
from leadrelay.store.leads import get_lead
from leadrelay.store.org import Org, load_org
from leadrelay.store.routing import add_open, take_capacity
from leadrelay.store.sla import cancel_open, settle
from leadrelay.store.tables import assignments, events, leads
from leadrelay.workflow.follow_up import follow_up

HELD = ("assigned", "team", "pool", "manual")


class HandoffError(UnknownNameError):
    """The hand-off cannot happen: no such lead or rep, not allowed, or someone was first."""

    def __init__(
        self,
        message: str,
        *,
        conflict: bool = False,
        missing: bool = False,
        field: str | None = None,
    ) -> None:
        super().__init__(Problem(message, field=field))
        self.conflict = conflict  # True: the lead moved meanwhile (HTTP 409), not bad input
        self.missing = missing  # True: there is no such lead (HTTP 404)


@dataclass(frozen=True, slots=True)
class Handoff:
    lead_id: int
    status: str
    owner: str | None
    previous_owner: str | None
    event: str


def claim(
    engine: Engine,
    lead_id: int,
    rep_id: str,
    *,
    policy: CompiledPolicy | None = None,
    now: datetime | None = None,
) -> Handoff:
    """``rep_id`` takes a lead open in a pool it belongs to; 409-style error if it lost.
    With ``policy``: the new owner is told, and the route's deadlines start for them."""
    at = now or datetime.now(UTC)
    with engine.begin() as conn:
        lock_routing(conn, exclusive=False)  # a hand-off decides nothing
        org = load_org(conn)
        row = lead_row(conn, lead_id)
        if row.status != "pool":
            raise HandoffError(
                f"lead {lead_id} is not open in a pool (it is {row.status})", conflict=True
            )
        rep = _rep(org, rep_id)
        pool_team = row.team or row.pool
        if pool_team not in rep.teams:
            raise HandoffError(f"{rep_id} is not a member of pool {row.pool}", field="rep")
        return _move(
            conn, org, row, rep_id, at, "claimed", {"pool": row.pool}, expect="pool", policy=policy
        )


def hand(
    engine: Engine,
    lead_id: int,
    by: str,
    to: str,
    *,
    policy: CompiledPolicy | None = None,
    now: datetime | None = None,
) -> Handoff:
    """The owner of the team holding a lead hands it to a member (event ``handed_off``)."""
    at = now or datetime.now(UTC)
    with engine.begin() as conn:
        lock_routing(conn, exclusive=False)  # a hand-off decides nothing
        org = load_org(conn)
        row = lead_row(conn, lead_id)
        if row.status != "team":
            raise HandoffError(
                f"lead {lead_id} is not held by a team (it is {row.status})", conflict=True
            )
        if row.owner != by:
            raise HandoffError(
                f"only team {row.team}'s owner ({row.owner}) hands its leads on", field="by"
            )
        rep = _rep(org, to)
        if row.team not in rep.teams:
            raise HandoffError(f"{to} is not a member of team {row.team}", field="to")
        data = {"by": by, "team": row.team}
        return _move(conn, org, row, to, at, "handed_off", data, expect="team", policy=policy)


def assign(
    engine: Engine,
    lead_id: int,
    rep_id: str,
    *,
    reason: str,
    by: str,
    policy: CompiledPolicy | None = None,
    now: datetime | None = None,
) -> Handoff:
    """A manager gives the lead to ``rep_id`` (from the queue, a team, a pool, or another rep)."""
    if not reason.strip():
        raise HandoffError("say why: a reason is required", field="reason")
    at = now or datetime.now(UTC)
    with engine.begin() as conn:
        lock_routing(conn, exclusive=False)  # a hand-off decides nothing
        org = load_org(conn)
        row = lead_row(conn, lead_id)
        if row.status not in HELD:
            raise HandoffError(f"lead {lead_id} is {row.status}: nobody works it", field="lead")
        if row.status == "assigned" and row.owner == rep_id:
            raise HandoffError(f"lead {lead_id} is already {rep_id}'s", field="rep")
        _rep(org, rep_id)
        kind = "reassigned" if row.status == "assigned" else "assigned_manually"
        data = {"reason": reason.strip(), "by": by}
        return _move(conn, org, row, rep_id, at, kind, data, expect=row.status, policy=policy)


def accept(engine: Engine, lead_id: int, rep_id: str, *, now: datetime | None = None) -> Handoff:
    """The owner says they have it (time to accept is measured from here)."""
    at = now or datetime.now(UTC)
    with engine.begin() as conn:
        row = lead_row(conn, lead_id)
        if row.status != "assigned" or row.owner != rep_id:
            raise HandoffError(f"lead {lead_id} is not {rep_id}'s to accept", conflict=True)
        if accepted_since(conn, lead_id, rep_id, active_since(conn, lead_id)):
            raise HandoffError(f"lead {lead_id} was accepted already", conflict=True)
        record_event(conn, lead_id, "accepted", at, {"owner": rep_id})
        settle(conn, lead_id, ("accept",), at)
    return Handoff(lead_id, "assigned", rep_id, rep_id, "accepted")


def _move(
    conn: Connection,
    org: Org,
    row: Any,
    rep_id: str,
    at: datetime,
    kind: str,
    data: dict[str, Any],
    *,
    expect: str,
    policy: CompiledPolicy | None = None,
) -> Handoff:
    ended = conn.execute(
        update(assignments)
        .where(
            assignments.c.lead_id == row.id,
            assignments.c.ended_at.is_(None),
            assignments.c.status == expect,
        )
        .values(ended_at=at, end_reason=kind)
    ).rowcount
    if ended != 1:
        raise HandoffError(f"lead {row.id} was taken by someone else first", conflict=True)
    cancel_open(conn, row.id, at)
    rep = org.reps[rep_id]
    caps = rep.effective_caps(policy.default_caps if policy else Caps())
    if not take_capacity(conn, rep_id, period_starts(at, rep.timezone), caps):
        raise HandoffError(f"{rep_id} is at a cap: pick someone else", conflict=True, field="rep")
    if row.status == "assigned" and row.owner:
        add_open(conn, row.owner, -1)
    conn.execute(
        insert(assignments).values(
            lead_id=row.id,
            status="assigned",
            owner=rep_id,
            team=None,
            pool=None,
            route=row.route,
            strategy=kind,
            policy_revision=row.policy_revision,
            assigned_at=at,
        )
    )
    conn.execute(
        update(leads)
        .where(leads.c.id == row.id)
        .values(status="assigned", owner=rep_id, team=None, pool=None, strategy=kind)
    )
    record_event(conn, row.id, kind, at, {"from": row.owner, "to": rep_id, **data})
    if policy is not None:
        decision = Decision(
            lead_key=str(row.id),
            status=Status.ASSIGNED,
            decided_at=at,
            reason=f"{kind.replace('_', ' ')} to {rep_id}"
            + (f": {data['reason']}" if data.get("reason") else ""),
            policy_version=row.policy_revision,
            owner=rep_id,
            route=row.route,
            strategy=kind,
        )
        lead = get_lead(conn, row.id)
        follow_up(conn, [(lead, row.id, decision)], policy, org.reps, again=f"{kind}@{at}")
    return Handoff(row.id, "assigned", rep_id, row.owner, kind)


def lead_row(conn: Connection, lead_id: int) -> Any:
    row = conn.execute(
        select(
            leads.c.id,
            leads.c.status,
            leads.c.owner,
            leads.c.team,
            leads.c.pool,
            leads.c.route,
            leads.c.policy_revision,
        ).where(leads.c.id == lead_id)
    ).first()
    if row is None:
        raise HandoffError(f"no lead {lead_id}", missing=True, field="lead")
    return row


def _rep(org: Org, rep_id: str) -> Any:
    rep = org.reps.get(rep_id)
    if rep is None:
        raise HandoffError(f"no rep {rep_id!r}", field="rep")
    if not rep.active:
        raise HandoffError(f"{rep_id} is not active", field="rep")
    return rep


def accepted_since(conn: Connection, lead_id: int, rep_id: str, since: datetime | None) -> bool:
    """Whether ``rep_id`` accepted the lead during its current assignment (from ``since``)."""
    rows = conn.execute(
        select(events.c.at, events.c.data).where(
            events.c.lead_id == lead_id, events.c.kind == "accepted"
        )
    )
    return any(
        (data or {}).get("owner") == rep_id and (since is None or at >= since) for at, data in rows
    )


def active_since(conn: Connection, lead_id: int) -> datetime | None:
    """When the lead's active assignment started."""
    found: datetime | None = conn.scalar(
        select(assignments.c.assigned_at).where(
            assignments.c.lead_id == lead_id, assignments.c.ended_at.is_(None)
        )
    )
    return found


def record_event(
    conn: Connection, lead_id: int, kind: str, at: datetime, data: Mapping[str, Any]
) -> None:
    conn.execute(insert(events).values(lead_id=lead_id, kind=kind, at=at, data=data))
