"""Sending one lead on again: a rep declines it, a manager reassigns it, a rep leaves.

The lead is decided again by the same ``decide``, on a snapshot built in the live routing
transaction (``LiveCache``, as ``route_lead``), with ``Snapshot.barred`` holding every rep who
held it before and lost it (declined, missed a deadline, reassigned away): a lead never
bounces back. The new decision is applied atomically: the active assignment ends with a
conditional update (only the holder the caller saw; a lost race is a 409-style conflict), the
new one starts within its rep's caps (claimed as live routing claims them, so a race decides
again), the stored decision is replaced, and events, SLA timers and a message to the new owner
are written (``follow_up``). A lead nobody else can take goes to the manual queue with why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, exists, insert, select, update

from leadrelay.domain.decision import Decision, Status
from leadrelay.domain.snapshot import period_starts
from leadrelay.errors import Problem, StoreError
from leadrelay.pipeline.decide import decide
from leadrelay.policy.compiled import CompiledPolicy, CompiledRoute
from leadrelay.store.engine import safe_url
from leadrelay.store.leads import assignment_row, get_lead
from leadrelay.store.org import load_org, save_reps
from leadrelay.store.policies import active_policy_text, save_policy
from leadrelay.store.routing import add_open, advance_route, note_rotation, take_capacity
from leadrelay.store.sla import cancel_open
from leadrelay.store.snapshot import LiveView
from leadrelay.store.tables import assignments, decisions, events, leads
from leadrelay.workflow.follow_up import follow_up
from leadrelay.workflow.handoff import (
    HELD,
    Handoff,
    HandoffError,
    accepted_since,
    active_since,
    assign,
    lead_row,
    record_event,
)
from leadrelay.workflow.retry import LostRaceError, routing_transaction

CLOSING = ("won", "lost")
# Why a previous holder may not get the lead again, by how their assignment ended.
_BAR_REASONS = {
    "declined": "declined this lead",
    "sla_breached": "missed a deadline on this lead",
    "handoff_missed": "missed the hand-off deadline on this lead",
}


def decline(
    engine: Engine,
    lead_id: int,
    rep_id: str,
    reason: str,
    *,
    policy: CompiledPolicy | None = None,
    now: datetime | None = None,
) -> Handoff:
    """``rep_id`` turns down a lead assigned to it: the lead goes to the next eligible rep
    (events ``declined``, then ``reassigned``), and never comes back to ``rep_id``."""
    why = _reason(reason)
    at = now or datetime.now(UTC)

    def work(conn: Connection, live: LiveView) -> Handoff:
        row = lead_row(conn, lead_id)
        if row.status != "assigned" or row.owner != rep_id:
            raise HandoffError(f"lead {lead_id} is not {rep_id}'s to decline", conflict=True)
        _not_closed(conn, lead_id)
        if accepted_since(conn, lead_id, rep_id, active_since(conn, lead_id)):
            raise HandoffError(
                f"lead {lead_id} was accepted already: ask a manager to reassign it",
                conflict=True,
            )
        record_event(conn, lead_id, "declined", at, {"by": rep_id, "reason": why})
        return send_on(
            conn, live, _policy(conn, policy), row, at,
            kind="reassigned", end_reason="declined",
            data={"by": rep_id, "reason": why, "after": "declined"},
            bar={rep_id: _BAR_REASONS["declined"]},
        )  # fmt: skip

    return routing_transaction(engine, work, what="move a lead")


def reassign(
    engine: Engine,
    lead_id: int,
    by: str,
    reason: str,
    *,
    to: str | None = None,
    policy: CompiledPolicy | None = None,
    now: datetime | None = None,
) -> Handoff:
    """A manager moves a lead: to ``to``, or (``to`` None) to whoever the policy picks now,
    never its current or a previous holder. Event ``reassigned`` with who, why and from whom."""
    why = _reason(reason)
    if to is not None:
        if policy is None:
            with engine.connect() as conn:
                policy = _policy(conn, None)
        return assign(engine, lead_id, to, reason=why, by=by, policy=policy, now=now)
    at = now or datetime.now(UTC)

    def work(conn: Connection, live: LiveView) -> Handoff:
        row = lead_row(conn, lead_id)
        return _reroute_held(conn, live, _policy(conn, policy), row, at, by, why)

    return routing_transaction(engine, work, what="move a lead")


@dataclass(slots=True)
class BulkReassign:
    """What ``reassign_rep`` did: each lead moved, and each it could not move and why."""

    rep: str
    deactivated: bool = False
    moved: list[Handoff] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        by_status: dict[str, int] = {}
        for done in self.moved:
            by_status[done.status] = by_status.get(done.status, 0) + 1
        return by_status


def reassign_rep(
    engine: Engine,
    rep_id: str,
    by: str,
    reason: str,
    *,
    deactivate: bool = False,
    policy: CompiledPolicy | None = None,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> BulkReassign:
    """Every open lead assigned to ``rep_id`` (not won or lost) re-routed by the policy, one
    transaction per lead, oldest first; with ``deactivate`` the rep is first marked inactive
    (e.g. they left), so no new lead goes to them either."""
    why = _reason(reason)
    at = now or datetime.now(UTC)
    report = BulkReassign(rep_id)
    with engine.begin() as conn:
        rep = load_org(conn).reps.get(rep_id)
        if rep is None:
            raise HandoffError(f"no rep {rep_id!r}", field="rep", missing=True)
        if deactivate and rep.active:
            save_reps(conn, [replace(rep, active=False)])
            report.deactivated = True
        lead_ids = open_leads_of(conn, rep_id)
        policy = _policy(conn, policy)
    bar = {rep_id: f"{rep_id}'s leads are being handed on: {why}"}
    for lead_id in lead_ids:

        def work(conn: Connection, live: LiveView, lead_id: int = lead_id) -> Handoff:
            row = lead_row(conn, lead_id)
            if row.status != "assigned" or row.owner != rep_id:
                raise HandoffError(f"lead {lead_id} is no longer {rep_id}'s", conflict=True)
            return _reroute_held(conn, live, policy, row, at, by, why, bar=bar, bulk=True)

        try:
            report.moved.append(routing_transaction(engine, work, what="move a lead"))
        except HandoffError as exc:
            report.failed.append((lead_id, exc.problems[0].message))
        if progress is not None:
            progress(1)
    return report


def open_leads_of(conn: Connection, rep_id: str) -> list[int]:
    """Leads assigned to the rep now that are not closed (won or lost), oldest first."""
    closed = exists().where(events.c.lead_id == leads.c.id, events.c.kind.in_(CLOSING))
    query = (
        select(leads.c.id)
        .where(leads.c.owner == rep_id, leads.c.status == "assigned", ~closed)
        .order_by(leads.c.id)
    )
    return [int(i) for i in conn.scalars(query)]


def _reroute_held(
    conn: Connection,
    live: LiveView,
    policy: CompiledPolicy,
    row: Any,
    at: datetime,
    by: str,
    why: str,
    *,
    bar: Mapping[str, str] | None = None,
    bulk: bool = False,
) -> Handoff:
    if row.status not in HELD:
        raise HandoffError(f"lead {row.id} is {row.status}: nobody works it", field="lead")
    _not_closed(conn, row.id)
    barred = dict(bar or {})
    if row.status == "assigned" and row.owner:
        barred.setdefault(row.owner, "was reassigned away from this lead")
    data: dict[str, Any] = {"by": by, "reason": why}
    if bulk:
        data["bulk"] = True
    return send_on(
        conn, live, policy, row, at, kind="reassigned", end_reason="reassigned",
        data=data, bar=barred,
    )  # fmt: skip


def send_on(
    conn: Connection,
    live: LiveView,
    policy: CompiledPolicy,
    row: Any,
    at: datetime,
    *,
    kind: str,
    end_reason: str,
    data: Mapping[str, Any],
    bar: Mapping[str, str] | None = None,
    route: CompiledRoute | None = None,
    manual: str | None = None,
) -> Handoff:
    """Decide the lead ``row`` again and apply the decision (see the module docstring).

    ``route``: decide by that one route instead of the policy's; ``manual``: do not decide,
    queue the lead for a manager with this reason. Raises ``LostRaceError`` (decide again) and
    ``HandoffError`` (the lead moved meanwhile).
    """
    if policy.revision == 0:
        policy = policy.with_revision(save_policy(conn, policy))
    org, snapshot = live.read(conn, at)
    lead = get_lead(conn, row.id)
    barred = previous_holders(conn, row.id)
    barred.update(bar or {})
    snapshot.barred = barred
    if manual is not None:
        decision = _queued(lead.seed_key, at, policy, manual, row.route)
    else:
        decision = decide(lead, snapshot, policy if route is None else _one_route(policy, route))
        if decision.status not in (Status.ASSIGNED, Status.TEAM, Status.POOL, Status.MANUAL):
            # the policy changed since the lead came in, and would not take it now
            why = f"routed again, the policy says {decision.status.value}: {decision.reason}"
            decision = _queued(lead.seed_key, at, policy, why, row.route)

    _end_active(conn, row, at, end_reason)
    cancel_open(conn, row.id, at)
    if row.status == "assigned" and row.owner:
        add_open(conn, row.owner, -1)
    given = decision.owner if decision.status is Status.ASSIGNED else None
    seq, starts = 0, dict[str, date]()
    if given is not None:
        seq, starts = _claim_slot(conn, decision, given, snapshot.route_seq, org.reps, policy, at)
    conn.execute(insert(assignments).values(assignment_row(row.id, decision)))
    conn.execute(
        update(leads)
        .where(leads.c.id == row.id)
        .values(
            status=decision.status.value, owner=decision.owner, team=decision.team,
            pool=decision.pool, route=decision.route, strategy=decision.strategy,
        )
    )  # fmt: skip
    conn.execute(
        update(decisions).where(decisions.c.lead_id == row.id).values(body=decision.to_stored())
    )
    record_event(
        conn, row.id, kind, at,
        {
            **data, "from": row.owner, "from_status": row.status, "to": decision.owner,
            "status": decision.status.value, "route": decision.route,
            "strategy": decision.strategy, "why": decision.reason,
            "barred": sorted(barred),
        },
    )  # fmt: skip
    follow_up(conn, [(lead, row.id, decision)], policy, org.reps, again=f"{kind}@{at.isoformat()}")
    if given is not None:
        # mirrors advance_route/note_rotation/take_capacity in the cached view; the view is
        # not sealed (add_open above is not mirrored), so its next use reads counters again
        live.given(decision.route, given, seq, starts)
    return Handoff(row.id, decision.status.value, decision.owner, row.owner, kind)


def previous_holders(conn: Connection, lead_id: int) -> dict[str, str]:
    """Reps who held the lead and lost it, each with why it may not go back to them."""
    rows = conn.execute(
        select(assignments.c.owner, assignments.c.end_reason).where(
            assignments.c.lead_id == lead_id,
            assignments.c.status == "assigned",
            assignments.c.ended_at.is_not(None),
            assignments.c.owner.is_not(None),
        )
    )
    return {
        owner: _BAR_REASONS.get(reason or "", "held this lead before") for owner, reason in rows
    }


def _claim_slot(
    conn: Connection,
    decision: Decision,
    rep_id: str,
    route_seq: Mapping[str, int],
    reps: Mapping[str, Any],
    policy: CompiledPolicy,
    at: datetime,
) -> tuple[int, dict[str, date]]:
    """The route's next place and a slot under each of the rep's caps, as live routing
    claims them; ``LostRaceError`` if either moved since the snapshot."""
    seq = 0
    if decision.route is not None:
        claimed = advance_route(conn, decision.route, route_seq.get(decision.route, 0))
        if claimed is None:
            raise LostRaceError
        seq = claimed
    rep = reps.get(rep_id)
    starts = period_starts(at, rep.timezone if rep else "UTC")
    caps = rep.effective_caps(policy.default_caps) if rep else policy.default_caps
    if not take_capacity(conn, rep_id, starts, caps):
        raise LostRaceError
    if decision.route is not None:
        note_rotation(conn, decision.route, rep_id, seq, at)
    return seq, starts


def _end_active(conn: Connection, row: Any, at: datetime, reason: str) -> None:
    owner = assignments.c.owner
    ended = conn.execute(
        update(assignments)
        .where(
            assignments.c.lead_id == row.id,
            assignments.c.ended_at.is_(None),
            assignments.c.status == row.status,
            owner.is_(None) if row.owner is None else owner == row.owner,
        )
        .values(ended_at=at, end_reason=reason)
    ).rowcount
    if ended != 1:
        raise HandoffError(f"lead {row.id} was moved by someone else first", conflict=True)


def _queued(
    lead_key: str, at: datetime, policy: CompiledPolicy, reason: str, route: str | None
) -> Decision:
    return Decision(
        lead_key=lead_key,
        status=Status.MANUAL,
        reason=f"manual: {reason}",
        decided_at=at,
        policy_version=policy.revision,
        route=route,
        strategy="manual",
    )


_ONE_ROUTE: dict[tuple[int, int], tuple[CompiledPolicy, CompiledRoute, CompiledPolicy]] = {}
_ONE_ROUTE_LOCK = threading.Lock()


def _one_route(policy: CompiledPolicy, route: CompiledRoute) -> CompiledPolicy:
    """``policy`` deciding by ``route`` alone (its screening kept): one object per pair, so
    ``decide``'s per-policy plan is made once."""
    key = (id(policy), id(route))
    known = _ONE_ROUTE.get(key)
    if known is not None and known[0] is policy and known[1] is route:
        return known[2]
    made = replace(policy, routes=(route,), experiments=(), existing_account_owner=False)
    with _ONE_ROUTE_LOCK:
        if len(_ONE_ROUTE) >= 64:
            _ONE_ROUTE.clear()
        _ONE_ROUTE[key] = (policy, route, made)
    return made


def _not_closed(conn: Connection, lead_id: int) -> None:
    closed = conn.scalar(
        select(events.c.kind)
        .where(events.c.lead_id == lead_id, events.c.kind.in_(CLOSING))
        .limit(1)
    )
    if closed is not None:
        raise HandoffError(f"lead {lead_id} is {closed} already: it stays closed", conflict=True)


def _reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise HandoffError("say why: a reason is required", field="reason")
    return reason.strip()


_POLICIES: dict[tuple[str, int], CompiledPolicy] = {}


def _policy(conn: Connection, given: CompiledPolicy | None) -> CompiledPolicy:
    """``given``, else the store's active policy (compiled once per revision)."""
    if given is not None:
        return given
    return active_policy(conn)


def active_policy(conn: Connection) -> CompiledPolicy:
    """The store's active policy, compiled once per database and revision."""
    from leadrelay.policy import load_policy_text

    found = active_policy_text(conn)
    if found is None:
        raise StoreError(Problem("no policy is active: activate one first (leadrelay policy"
                                 " activate P.yaml, or PUT /v1/policy)"))  # fmt: skip
    revision, text = found
    key = (safe_url(conn.engine.url), revision)
    known = _POLICIES.get(key)
    if known is None:
        known = load_policy_text(text, source=f"policy version {revision}").with_revision(revision)
        if len(_POLICIES) >= 16:
            _POLICIES.clear()
        _POLICIES[key] = known
    return known
