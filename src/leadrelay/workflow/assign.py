"""Live routing: one lead, one transaction, correct under any number of concurrent routers.

``route_lead`` takes the routing lock (PostgreSQL: exclusively, ``lock_routing``), builds a
snapshot inside the transaction, calls ``decide``, then claims what the decision used with
conditional writes: a compare-and-set on the route's sequence (the rotation did not move since
the snapshot) and a capped increment of each period counter (the rep is still under every cap).
If either finds the world changed, the transaction rolls back and the lead is decided again from
a fresh snapshot. Lead, decision, assignment, ledger, counters and the audit event commit
together or not at all.

The snapshot comes from the engine's ``LiveCache`` (``store/snapshot.py``) instead of reading
the whole ledger and every counter per lead: what the routing tables held after this process's
last routing transaction, proven exact in this transaction before use (on SQLite with nothing
written since, at the cost of one PRAGMA; otherwise by the route sequences, which move with
every ledger change, and a fresh read of the current counters). The claims above are unchanged
and still decide every race, so the cache can make routing faster but never let it overshoot a
cap or skip a place in a rotation; a lost race puts the view back to be checked again, any
other failure drops it. The writes run on the driver's cursor (``DriverSQL``), and on
PostgreSQL those after the lead row go in one round trip (``pipelined``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from leadrelay.domain.decision import Decision, Status
from leadrelay.domain.lead import Lead
from leadrelay.domain.rep import Caps
from leadrelay.domain.snapshot import period_starts
from leadrelay.observe.routing import observed_route
from leadrelay.pipeline.decide import decide
from leadrelay.pipeline.duplicates import keys_for, window
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store.dedupe import find_originals
from leadrelay.store.engine import pipelined, reader
from leadrelay.store.leads import (
    find_by_external_id,
    get_decision,
    insert_lead,
    insert_outcomes,
)
from leadrelay.store.org import Org, company_index
from leadrelay.store.policies import save_policy
from leadrelay.store.routing import claim_all, note_rotation
from leadrelay.store.smart_inputs import add_smart_inputs
from leadrelay.store.snapshot import LiveView
from leadrelay.workflow.follow_up import follow_up
from leadrelay.workflow.retry import LostRaceError, routing_transaction


@dataclass(frozen=True, slots=True)
class RouteResult:
    """What became of one lead: its stored id (None in a dry run), the decision, and whether
    this call routed it (False: it was stored already under the same external id)."""

    lead_id: int | None
    decision: Decision
    created: bool


@observed_route
def route_lead(engine: Engine, lead: Lead, policy: CompiledPolicy) -> RouteResult:
    """Decide and store one lead in one transaction; idempotent on ``lead.external_id``."""

    def stored_first(clash: IntegrityError) -> RouteResult:
        # Another router stored the same external id first: theirs is the result.
        if not lead.external_id:
            raise clash
        with reader(engine).connect() as conn:
            stored = stored_result(conn, lead.external_id)
        if stored is None:
            raise clash
        return stored

    return routing_transaction(
        engine,
        lambda conn, live: _route_once(conn, lead, policy, live),
        what=f"route lead {lead.seed_key}",
        on_integrity=stored_first,
    )


def stored_result(conn: Connection, external_id: str) -> RouteResult | None:
    """The result of routing the lead stored under ``external_id``, if there is one."""
    lead_id = find_by_external_id(conn, external_id)
    if lead_id is None:
        return None
    return RouteResult(lead_id, get_decision(conn, lead_id), created=False)


def uses_names(policy: CompiledPolicy) -> bool:
    """Whether the policy matches accounts by company name (then routing needs the index)."""
    rules = policy.model.matching.accounts
    return rules is not None and rules.fuzzy_name is not None


def rep_caps(org: Org, rep_id: str, policy: CompiledPolicy) -> Caps:
    """The caps that apply to a rep: their own, else the policy's default."""
    rep = org.reps.get(rep_id)
    if rep is None:
        return Caps()
    return rep.effective_caps(policy.default_caps)


def _route_once(
    conn: Connection, lead: Lead, policy: CompiledPolicy, live: LiveView
) -> RouteResult:
    if policy.revision == 0:
        policy = policy.with_revision(save_policy(conn, policy))
    if lead.external_id:
        stored = stored_result(conn, lead.external_id)
        if stored is not None:
            return stored

    at = lead.received_at
    org, snapshot = live.read(conn, at)
    if uses_names(policy):
        snapshot.account_index = company_index(conn, org)
    add_smart_inputs(conn, snapshot, org, policy, fresh=False)
    keys = keys_for(lead, policy)
    if keys:  # the same person arriving twice at once: the routing lock makes one wait
        span = window(policy)
        assert span is not None
        snapshot.originals = find_originals(conn, keys, since=at - span)
    decision = decide(lead, snapshot, policy)

    # A lead given to a rep claims its route's next place and a slot under each of the rep's
    # caps; team, pool and manual outcomes claim nothing (Snapshot.record does the same).
    route = decision.ledger_route
    given = decision.owner if decision.status is Status.ASSIGNED else None
    seq = 0
    starts: dict[str, date] = {}
    if given is not None:
        rep = org.reps.get(given)
        starts = period_starts(at, rep.timezone if rep else "UTC")
        claimed = claim_all(  # PostgreSQL: both claims in one round trip
            conn,
            [(route, snapshot.route_seq.get(route, 0), 1)] if route is not None else [],
            [(given, starts, rep_caps(org, given, policy), 1)],
        )
        if claimed is None:
            raise LostRaceError
        if route is not None:
            seq = claimed[route]

    lead_id = insert_lead(conn, lead, decision)
    with pipelined(conn):  # PostgreSQL: the rest of the writes in one round trip
        insert_outcomes(conn, [lead_id], [decision])
        if given is not None and route is not None:
            note_rotation(conn, route, given, seq, at)
    follow_up(conn, [(lead, lead_id, decision)], policy, org.reps, keys={lead_id: keys})
    if given is not None:
        live.given(route, given, seq, starts)
    # Last: seal notes the connection's change count, so the next lead on it trusts the cache.
    # Any write to route_state, rr_ledger or rep_load above must be mirrored by live.given.
    live.seal(conn)
    return RouteResult(lead_id, decision, created=True)
