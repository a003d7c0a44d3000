"""SLA timers at work: a deadline that passed is a breach, reassigned and escalated.

``run_due_timers`` claims due timers (``store/sla.py``: a lease, ``SKIP LOCKED`` on
PostgreSQL), then handles each in its own live routing transaction: it checks the lead is
still in the state the timer watches (same assignment, not accepted / contacted / claimed /
handed on, not closed); if not, the timer is met. Otherwise, atomically: the timer is finished
(conditionally, so two workers never both handle it), event ``sla_breached``, the escalation
(event ``escalated`` and a message to the team owner, a manager or a named rep), and the lead
moves on (``reroute.send_on``): for a missed accept or first contact to the next eligible rep
by the policy, never back to a previous holder; an unclaimed pool lead or a team lead not handed
on goes to the SLA's ``then`` target (default: the members of the pool's or team's team, round
robin). A lead nobody can take goes to the manual queue.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from leadrelay.domain.rep import Rep, Role
from leadrelay.errors import LeadRelayError
from leadrelay.notify.messages import Message
from leadrelay.observe import worker as observed
from leadrelay.pipeline.strategies.registry import STRATEGIES
from leadrelay.policy.compiled import CompiledPolicy, CompiledRoute, CompiledSla, Target
from leadrelay.store.org import Org, load_org
from leadrelay.store.outbox import enqueue
from leadrelay.store.sla import BREACHED, MET, MOVED, Timer, claim_due, finish
from leadrelay.store.snapshot import LiveView
from leadrelay.store.tables import assignments, events
from leadrelay.workflow.follow_up import route_slas
from leadrelay.workflow.handoff import lead_row, record_event
from leadrelay.workflow.reroute import CLOSING, active_policy, send_on
from leadrelay.workflow.retry import routing_transaction

Clock = Callable[[], datetime]
FAILED = "failed"
# The events that meet each kind of deadline (a closed lead meets them all).
_MEETS = {"accept": ("accepted",), "contact": ("contacted", "qualified", *CLOSING)}
_WORDS = {
    "accept": "accept",
    "contact": "first contact",
    "claim": "claim",
    "handoff": "hand-off",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class TimerReport:
    breached: int = 0
    met: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.breached + self.met + self.failed


def run_due_timers(
    engine: Engine,
    clock: Clock = utc_now,
    *,
    policy: CompiledPolicy | None = None,
    limit: int = 50,
) -> TimerReport:
    """One round: claim the timers due now, handle each (see the module docstring).

    ``policy``: the policy to re-route by; default the store's active one.
    """
    report = TimerReport()
    with engine.begin() as conn:
        timers = claim_due(conn, clock(), limit=limit)
        if timers and policy is None:
            policy = active_policy(conn)
    for timer in timers:
        assert policy is not None
        try:
            outcome = handle_timer(engine, timer, policy, clock())
        except LeadRelayError as exc:
            # a breach that cannot be handled (e.g. the lead moved under us twice) is not
            # retried forever: the timer ends as failed, with why, and the lead stays put
            with engine.begin() as conn:
                finish(conn, timer.id, clock(), FAILED)
            report.failed += 1
            report.errors.append(f"timer {timer.id} (lead {timer.lead_id}): {exc}")
            continue
        if outcome == BREACHED:
            observed.breached(timer)
            report.breached += 1
        elif outcome is not None:
            report.met += 1
    return report


def handle_timer(engine: Engine, timer: Timer, policy: CompiledPolicy, now: datetime) -> str | None:
    """Handle one due timer; its outcome (``met``/``moved``/``breached``), or None if another
    worker handled it first."""

    def work(conn: Connection, live: LiveView) -> str | None:
        row = lead_row(conn, timer.lead_id)
        if not _still_watched(conn, timer, row):
            outcome = MET if row.status == timer.status else MOVED
            return outcome if finish(conn, timer.id, now, outcome) else None
        if not finish(conn, timer.id, now, BREACHED):
            return None
        _breach(conn, live, timer, row, policy, now)
        return BREACHED

    return routing_transaction(engine, work, what="move a lead")


def _breach(
    conn: Connection,
    live: LiveView,
    timer: Timer,
    row: Any,
    policy: CompiledPolicy,
    now: datetime,
) -> None:
    sla = route_slas(policy).get(timer.route) if timer.route is not None else None
    word = _WORDS.get(timer.kind, timer.kind)
    data = {
        "kind": timer.kind, "holder": timer.holder, "route": timer.route,
        "due_at": timer.due_at.isoformat(), "status": timer.status,
    }  # fmt: skip
    record_event(conn, timer.lead_id, "sla_breached", now, data)
    org = load_org(conn)
    escalate_to = sla.escalate_to if sla is not None else "team_owner"
    if escalate_to is not None:
        _escalate(conn, org, policy, timer, row, escalate_to, now)
    bar = {}
    if timer.holder and timer.kind in ("accept", "contact", "handoff"):
        bar[timer.holder] = f"missed the {word} deadline on this lead"
    reason = f"missed the {word} deadline ({timer.due_at.isoformat()})"
    common: dict[str, Any] = {
        "kind": "reassigned",
        "end_reason": "handoff_missed" if timer.kind == "handoff" else "sla_breached",
        "data": {"by": "sla", "reason": reason, "after": "sla_breached"},
        "bar": bar,
    }
    action = sla.action if sla is not None else "reassign"
    if action == "manual":
        why = f"{reason}; sent to the manager queue"
        send_on(conn, live, policy, row, now, manual=why, **common)
    elif action == "route" or timer.kind in ("claim", "handoff"):
        route = _fallback(sla, row, timer.route)
        if route is None:
            why = f"{reason}; no team to hand it to"
            send_on(conn, live, policy, row, now, manual=why, **common)
        else:
            send_on(conn, live, policy, row, now, route=route, **common)
    else:
        send_on(conn, live, policy, row, now, **common)


def _still_watched(conn: Connection, timer: Timer, row: Any) -> bool:
    """The lead still holds the assignment the timer watches, and the step it waits for has
    not happened."""
    if row.status != timer.status or row.owner != timer.holder:
        return False
    active = conn.execute(
        select(assignments.c.assigned_at).where(
            assignments.c.lead_id == timer.lead_id, assignments.c.ended_at.is_(None)
        )
    ).first()
    if active is None or active.assigned_at != timer.since:
        return False
    meets = (*_MEETS.get(timer.kind, ()), *CLOSING)
    done = conn.scalar(
        select(events.c.id)
        .where(
            events.c.lead_id == timer.lead_id,
            events.c.kind.in_(meets),
            events.c.at >= timer.since,
        )
        .limit(1)
    )
    return done is None


def _fallback(sla: CompiledSla | None, row: Any, route_name: str | None) -> CompiledRoute | None:
    """Where a lead goes when a pool or team deadline passes: the SLA's ``then`` target, or
    (no target given) the members of the lead's team, by ``then``'s strategy (round robin)."""
    given = sla.fallback if sla is not None else None
    target = given.target if given is not None else Target()
    if not (target.rep or target.reps or target.team or target.teams):
        if not row.team:
            return None
        target = Target(team=row.team)
    if given is not None and given.target == target:
        return given
    name = given.name if given is not None else f"{route_name or 'sla'}:then"
    strategy = given.strategy if given is not None else "round_robin"
    params = given.params if given is not None else STRATEGIES["round_robin"].Params()
    return _route(name, target, strategy, params)


_ROUTES: dict[tuple[str, Target, str, str], CompiledRoute] = {}


def _route(name: str, target: Target, strategy: str, params: Any) -> CompiledRoute:
    # one object per shape: decide plans per policy object (see reroute._one_route)
    key = (name, target, strategy, params.model_dump_json())
    known = _ROUTES.get(key)
    if known is None:
        if len(_ROUTES) >= 256:
            _ROUTES.clear()
        known = _ROUTES[key] = CompiledRoute(name, None, target, strategy, params)
    return known


def escalation_target(org: Org, timer: Timer, row: Any, escalate_to: str) -> Rep | None:
    """Who hears of a breach: the team owner (the lead's team, else the holder's first team
    with an owner other than the holder), a manager (sharing a team with the holder, else any),
    or the rep named; None when there is nobody."""
    reps = org.reps
    if escalate_to not in ("team_owner", "manager"):
        return reps.get(escalate_to)
    holder = reps.get(timer.holder) if timer.holder else None
    teams = [t for t in (row.team, *(holder.teams if holder else ())) if t]
    if escalate_to == "team_owner":
        for team_id in teams:
            team = org.teams.get(team_id)
            owner = reps.get(team.owner) if team and team.owner else None
            if owner is not None and owner.id != timer.holder:
                return owner
    managers = [r for r in reps.values() if r.role is Role.MANAGER and r.id != timer.holder]
    for manager in managers:
        if any(t in manager.teams for t in teams):
            return manager
    return managers[0] if managers else None


def _escalate(
    conn: Connection,
    org: Org,
    policy: CompiledPolicy,
    timer: Timer,
    row: Any,
    escalate_to: str,
    now: datetime,
) -> None:
    to = escalation_target(org, timer, row, escalate_to)
    word = _WORDS.get(timer.kind, timer.kind)
    text = (
        f"Lead {timer.lead_id}: {timer.holder or 'nobody'} missed the {word} deadline"
        f" ({timer.due_at.isoformat()}) on route {timer.route}; it is being reassigned."
    )
    data = {
        "to": to.id if to else None, "kind": timer.kind, "holder": timer.holder,
        "rule": escalate_to, "text": text,
    }  # fmt: skip
    record_event(conn, timer.lead_id, "escalated", now, data)
    enqueue(conn, timer.lead_id, escalation_messages(policy, timer, to, text), now)


def escalation_messages(
    policy: CompiledPolicy, timer: Timer, to: Rep | None, text: str
) -> list[Message]:
    """An email to whoever the breach escalates to (when the policy emails reps) and the
    escalation on every webhook that hears of assignments."""
    settings = policy.model.notifications
    subject = text.split(";", maxsplit=1)[0]
    payload: dict[str, Any] = {
        "event": "escalated", "lead_id": timer.lead_id, "recipient": to.id if to else None,
        "sla": {"kind": timer.kind, "holder": timer.holder, "route": timer.route,
                "due_at": timer.due_at.isoformat()},
        "text": text,
    }  # fmt: skip
    out: list[Message] = []
    if settings.email and to is not None and to.email:
        out.append(_message("email", to.email, subject, text, payload, timer))
    for hook in settings.webhooks:
        if "assigned" in hook.events:
            message = _message("webhook", hook.url, subject, text, payload, timer)
            out.append(replace(message, secret_env=hook.secret_env))
    return out


def _message(
    channel: str, target: str, subject: str, text: str, payload: Mapping[str, Any], timer: Timer
) -> Message:
    key = hashlib.sha256(
        f"{timer.lead_id}:escalated:{timer.id}:{channel}:{target}".encode()
    ).hexdigest()[:32]
    body = dict(payload) | {"idempotency_key": key}
    return Message("escalated", channel, target, subject, text, body, key)
