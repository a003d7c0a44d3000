"""What storing a decision sets in motion, in the same transaction: the lead's duplicate keys
(if it now holds an owner, later copies of it are linked to it), its SLA timers (the route's
deadlines for the new holder) and its notifications (the outbox; the worker delivers them and
runs the timers). Shared by live and bulk routing and by every later hand-off.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from leadrelay.domain.business_time import NoWorkingTimeError, add_business
from leadrelay.domain.decision import Decision, Status
from leadrelay.domain.lead import Lead
from leadrelay.domain.rep import Rep
from leadrelay.notify.messages import Message, messages_for
from leadrelay.pipeline.duplicates import keys_for
from leadrelay.policy.compiled import CompiledPolicy, CompiledSla
from leadrelay.store.dedupe import save_keys
from leadrelay.store.outbox import enqueue
from leadrelay.store.sla import NewTimer, schedule
from leadrelay.store.tables import leads

HOLDS = frozenset({Status.ASSIGNED, Status.TEAM, Status.POOL, Status.MANUAL})


def follow_up(
    conn: Connection,
    stored: Sequence[tuple[Lead, int, Decision]],
    policy: CompiledPolicy,
    reps: Mapping[str, Rep],
    *,
    keys: Mapping[int, tuple[str, ...]] | None = None,
    again: str | None = None,
) -> None:
    """Record keys, schedule deadlines and enqueue messages for leads just stored (``keys``:
    lead id -> its duplicate keys when the caller worked them out already).

    ``again`` marks a later step for a lead stored before (a hand-off, a re-route): its keys
    are stored already, and its messages get idempotency keys of their own, made with it.
    """
    slas = route_slas(policy)
    if slas:
        schedule(conn, timers_for(stored, slas, reps))
    if again is None and policy.model.matching.duplicates is not None:
        rows = [
            (lead_id, key, lead.received_at)
            for lead, lead_id, decision in stored
            if decision.status in HOLDS
            for key in (keys[lead_id] if keys is not None else keys_for(lead, policy))
        ]
        save_keys(conn, rows)
    settings = policy.model.notifications
    if not settings.email and not settings.webhooks:
        return
    emails = {rep_id: rep.email for rep_id, rep in reps.items()}
    originals = _owners(conn, [d.duplicate_of for _, _, d in stored if d.duplicate_of])
    now = datetime.now(UTC)
    for lead, lead_id, decision in stored:
        owner = originals.get(decision.duplicate_of) if decision.duplicate_of else None
        messages = messages_for(lead, lead_id, decision, settings, emails, original_owner=owner)
        if again is not None:
            messages = [_rekeyed(m, again) for m in messages]
        enqueue(conn, lead_id, messages, now)


def _rekeyed(message: Message, salt: str) -> Message:
    key = hashlib.sha256(f"{message.idempotency_key}:{salt}".encode()).hexdigest()[:32]
    return replace(message, idempotency_key=key, payload=message.payload | {"idempotency_key": key})


# The statuses a route's deadlines watch, and the deadlines that apply to each.
WATCHED: Mapping[Status, tuple[str, ...]] = {
    Status.ASSIGNED: ("accept", "contact"),
    Status.POOL: ("claim",),
    Status.TEAM: ("handoff",),
}


def timers_for(
    stored: Sequence[tuple[Lead, int, Decision]],
    slas: Mapping[str, CompiledSla],
    reps: Mapping[str, Rep],
) -> list[NewTimer]:
    """The deadlines each decision starts: its route's, for the status it left the lead in,
    counted in the holder's business hours when the SLA says so (else wall time)."""
    out: list[NewTimer] = []
    for _, lead_id, decision in stored:
        sla = slas.get(decision.route) if decision.route is not None else None
        kinds = WATCHED.get(decision.status)
        if sla is None or kinds is None:
            continue
        at = decision.decided_at
        holder = decision.owner
        rep = reps.get(holder) if holder is not None else None
        for kind in kinds:
            within = sla.within(kind)
            if within is None:
                continue
            due = at + within
            if sla.business_hours and rep is not None:
                with contextlib.suppress(NoWorkingTimeError):
                    due = add_business(
                        at, within, rep.working_hours, rep.timezone, rep.out_of_office
                    )
            status = decision.status.value
            out.append(NewTimer(lead_id, kind, status, holder, decision.route, at, due))
    return out


_SLAS: dict[int, tuple[CompiledPolicy, dict[str, CompiledSla]]] = {}


def route_slas(policy: CompiledPolicy) -> Mapping[str, CompiledSla]:
    """Route name -> its SLA, for the routes that have one (a route's ``then`` fallback shares
    its route's); remembered per policy object, as ``decide`` remembers its plans."""
    known = _SLAS.get(id(policy))
    if known is not None and known[0] is policy:
        return known[1]
    found: dict[str, CompiledSla] = {}
    for route in policy.routes:
        if route.sla is not None:
            found[route.name] = route.sla
            if route.sla.fallback is not None:
                found[route.sla.fallback.name] = route.sla
    if len(_SLAS) >= 16:
        _SLAS.clear()
    _SLAS[id(policy)] = (policy, found)
    return found


def _owners(conn: Connection, lead_ids: list[int]) -> dict[int, str | None]:
    if not lead_ids:
        return {}
    rows = conn.execute(select(leads.c.id, leads.c.owner).where(leads.c.id.in_(lead_ids)))
    return {int(lead_id): owner for lead_id, owner in rows}
