"""Group commit: many independent leads routed live in one transaction.

A durable commit costs about as much for one lead as for fifty, so ``route_group`` routes a
group of leads (from different callers) in one transaction with the outcome of routing them one
by one with ``route_lead`` in the order given: each lead is decided on the snapshot as the
leads before it left it (``Snapshot.record``, as bulk routing does), at its own
``received_at``; an external id stored already gives the stored result, and the same id twice
in a group gives the second the first's result; a lead with the duplicate key of one earlier
in the group is linked to it.

The claims are route_lead's, made once per route and rep for the whole group: one
compare-and-set per route moving its sequence by the number of leads it gave, one capped
upsert per rep and period adding that rep's count. The transaction holds the routing lock
exclusively (PostgreSQL), so two groups never decide on the same state; the claims still
guard against anything else, and a lost claim rolls the whole group back to be decided again.
Rows are written a batch at a time (``insert_routed``). The cached view of the routing tables
(``LiveView``) gets each lead's writes (``given``) as the snapshot does; on any failure it is
dropped.

On PostgreSQL a group costs three round trips (pipeline mode, ``pipelined``): the lock with
what the group reads under it (stored external ids, ids for the new leads, the proof of the
cached routing state), then the claims with every row written, then the commit. More only
with duplicate matching (the originals), SLA timers or notifications (their rows), a lead in
other periods or a policy not saved yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from leadrelay.domain.decision import Decision, Status
from leadrelay.domain.lead import Lead
from leadrelay.domain.rep import Caps
from leadrelay.domain.snapshot import Original, Snapshot, period_starts
from leadrelay.observe.routing import observed_batch
from leadrelay.pipeline.decide import decide
from leadrelay.pipeline.duplicates import keys_for, window
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store.dedupe import all_originals
from leadrelay.store.engine import lock_routing, pipelined
from leadrelay.store.leads import (
    ask_external_ids,
    ask_lead_ids,
    get_decisions,
    insert_routed,
    lead_row,
)
from leadrelay.store.org import Org, company_index
from leadrelay.store.policies import save_policy
from leadrelay.store.routing import ask_claims, note_rotations
from leadrelay.store.smart_inputs import add_smart_inputs
from leadrelay.store.snapshot import LiveView, live_cache
from leadrelay.workflow.assign import (
    RouteResult,
    rep_caps,
    uses_names,
)
from leadrelay.workflow.follow_up import HOLDS, follow_up
from leadrelay.workflow.retry import LostRaceError, retrying

# A group whose insert breaks a unique index is tried again this many times: the first time
# another router stored one of its external ids meanwhile and the next try finds it; after
# that it is the data, and the caller routes the leads one by one to find whose.
_INTEGRITY_ATTEMPTS = 2


@observed_batch
def route_group(engine: Engine, leads: Sequence[Lead], policy: CompiledPolicy) -> list[RouteResult]:
    """Route ``leads`` live in one transaction; one result per lead, in the order given.

    The same results, rows and counters as ``route_lead`` on each lead in turn. A lost race
    decides the whole group again; any other failure fails the whole group (nothing stored).
    """
    if not leads:
        return []
    cache = live_cache(engine)
    clashes = 0

    def attempt() -> list[RouteResult]:
        with cache.routing() as live, engine.begin() as conn:
            return _route_once(conn, leads, policy, live)

    def again(clash: IntegrityError) -> None:
        # another router stored one of the external ids meanwhile: the next try reads it
        nonlocal clashes
        clashes += 1
        if clashes >= _INTEGRITY_ATTEMPTS:
            raise clash

    return retrying(
        engine, attempt, what=f"route a group of {len(leads)} leads", on_integrity=again
    )


@dataclass(slots=True)
class _Claims:
    """What the leads decided since the last write claim: leads per route, per rep and period
    starts, and each (route, rep) ledger row's new count, last sequence and moment."""

    routes: dict[str, int] = field(default_factory=dict)
    loads: dict[tuple[str, date, date, date], int] = field(default_factory=dict)
    ledger: dict[tuple[str, str], tuple[int, int, datetime]] = field(default_factory=dict)

    def add(
        self, route: str | None, rep_id: str, seq: int, starts: dict[str, date], at: datetime
    ) -> None:
        at_key = (rep_id, starts["day"], starts["week"], starts["month"])
        self.loads[at_key] = self.loads.get(at_key, 0) + 1
        if route is None:
            return
        self.routes[route] = self.routes.get(route, 0) + 1
        old = self.ledger.get((route, rep_id))
        self.ledger[(route, rep_id)] = (1 if old is None else old[0] + 1, seq, at)

    def clear(self) -> None:
        self.routes.clear()
        self.loads.clear()
        self.ledger.clear()


@dataclass(slots=True)
class _Pending:
    position: int
    lead_id: int
    lead: Lead
    decision: Decision
    keys: tuple[str, ...]


class _Originals:
    """The originals the group's leads may be linked to: stored ones (read once, under the
    routing lock) and leads held earlier in the group. ``for_lead`` gives, per key, what live
    routing's query gives: the earliest received at or after the lead's arrival minus the
    window (stored ones before the group's, as their ids are smaller)."""

    def __init__(self, stored: dict[str, list[Original]], span: timedelta) -> None:
        self._by_key = stored
        self._span = span

    def for_lead(self, keys: Sequence[str], at: datetime) -> dict[str, Original]:
        earliest = at - self._span
        found: dict[str, Original] = {}
        for key in keys:
            best: Original | None = None
            for original in self._by_key.get(key, ()):
                if original.received_at >= earliest and (
                    best is None or original.received_at < best.received_at
                ):
                    best = original
            if best is not None:
                found[key] = best
        return found

    def held(self, keys: Sequence[str], original: Original) -> None:
        for key in keys:
            self._by_key.setdefault(key, []).append(original)


def _route_once(
    conn: Connection, leads: Sequence[Lead], policy: CompiledPolicy, live: LiveView
) -> list[RouteResult]:
    now = leads[0].received_at
    # PostgreSQL: the lock, and once it is held the stored external ids, the ids of the new
    # leads and the proof of the cached routing state, in one round trip
    with pipelined(conn):
        lock_routing(conn, exclusive=True)
        stored = ask_external_ids(conn, [lead.external_id for lead in leads if lead.external_id])
        new_ids = ask_lead_ids(conn, len(leads))
        live.ask(conn, now)
    if policy.revision == 0:
        policy = policy.with_revision(save_policy(conn, policy))
    known = _stored(conn, stored())

    org, snapshot = live.read(conn, now)
    if uses_names(policy):
        snapshot.account_index = company_index(conn, org)
    add_smart_inputs(conn, snapshot, org, policy, fresh=False)
    keys_of = [keys_for(lead, policy) for lead in leads]
    originals: _Originals | None = None
    span = window(policy)
    every = sorted({key for keys in keys_of for key in keys})
    if span is not None and every:
        # the exclusive routing lock keeps out every other router meanwhile
        since = min(lead.received_at for lead in leads) - span
        originals = _Originals(all_originals(conn, every, since=since), span)

    group = _Group(conn, policy, org, snapshot, live, originals, new_ids())
    results: list[RouteResult | None] = [None] * len(leads)
    repeats: list[tuple[int, str]] = []
    for position, (lead, keys) in enumerate(zip(leads, keys_of, strict=True)):
        ext = lead.external_id
        if ext:
            earlier = known.get(ext)
            if earlier is not None:
                if earlier.created:
                    repeats.append((position, ext))
                results[position] = RouteResult(earlier.lead_id, earlier.decision, created=False)
                continue
        decision = group.decide(position, lead, keys)
        if ext:
            known[ext] = RouteResult(None, decision, created=True)
    group.flush()
    for position, lead_id in group.ids.items():
        decision = group.decisions[position]
        results[position] = RouteResult(lead_id, decision, created=True)
        ext = leads[position].external_id
        if ext:
            known[ext] = RouteResult(lead_id, decision, created=True)
    for position, ext in repeats:
        first = known[ext]
        results[position] = RouteResult(first.lead_id, first.decision, created=False)
    live.seal(conn)  # last: see route_lead
    done = [r for r in results if r is not None]
    if len(done) != len(leads):
        raise RuntimeError("route_group left a lead without a result")
    return done


def _stored(conn: Connection, ids: dict[str, int]) -> dict[str, RouteResult]:
    """The results of the group's external ids stored already (``ids``: their lead ids)."""
    if not ids:
        return {}
    decisions = get_decisions(conn, ids.values())
    return {ext: RouteResult(i, decisions[i], created=False) for ext, i in ids.items()}


class _Group:
    """The leads of one transaction decided in turn, written (with their claims) in batches:
    at the end, and before a lead whose periods are others (their counters are read from the
    store). Each lead decided takes the next of ``ids`` (reserved for the group, so the ids
    are those of routing the leads one by one), so it is an original for later ones at once."""

    def __init__(
        self,
        conn: Connection,
        policy: CompiledPolicy,
        org: Org,
        snapshot: Snapshot,
        live: LiveView,
        originals: _Originals | None,
        ids: Sequence[int],
    ) -> None:
        self.conn = conn
        self.policy = policy
        self.org = org
        self.snapshot = snapshot
        self.live = live
        self.originals = originals
        self.new_ids = iter(ids)
        self.claimed = dict(snapshot.route_seq)  # each route's sequence as the store holds it
        self.claims = _Claims()
        self.pending: list[_Pending] = []
        self.ids: dict[int, int] = {}  # position -> id, of the leads written
        self.decisions: dict[int, Decision] = {}

    def decide(self, position: int, lead: Lead, keys: tuple[str, ...]) -> Decision:
        at = lead.received_at
        snapshot = self.snapshot
        if not self.live.same_periods(at):
            self.flush()  # counters of other periods are read from the store, with ours in it
            snapshot.counters, snapshot.open_leads = self.live.counters_at(self.conn, at)
        snapshot.now = at
        originals = self.originals
        if originals is not None and keys:
            snapshot.originals = originals.for_lead(keys, at)
        elif snapshot.originals:
            snapshot.originals = {}
        decision = decide(lead, snapshot, self.policy)
        lead_id = next(self.new_ids)
        if originals is not None and keys and decision.status in HOLDS:
            originals.held(keys, Original(lead_id, decision.owner, at, lead.external_id))
        owner = decision.owner
        if decision.status is Status.ASSIGNED and owner is not None:
            route = decision.ledger_route
            snapshot.record(route, owner, at)
            seq = snapshot.route_seq[route] if route is not None else 0
            rep = self.org.reps.get(owner)
            starts = period_starts(at, rep.timezone if rep else "UTC")
            self.live.given(route, owner, seq, starts)
            self.claims.add(route, owner, seq, starts, at)
        self.pending.append(_Pending(position, lead_id, lead, decision, keys))
        self.decisions[position] = decision
        return decision

    def flush(self) -> None:
        """Claim what the pending leads took, write them and what follows from them."""
        if not self.pending:
            return
        conn, claims, pending = self.conn, self.claims, self.pending

        def caps_of(rep_id: str) -> Caps:
            return rep_caps(self.org, rep_id, self.policy)

        ids = [item.lead_id for item in pending]
        # PostgreSQL: the claims, the rows and the ledger reach the server together,
        # answered in one round trip
        with pipelined(conn):
            # sorted: routes, then reps, in one order every time (rows are locked in it)
            claimed = ask_claims(
                conn,
                [
                    (route, self.claimed.get(route, 0), claims.routes[route])
                    for route in sorted(claims.routes)
                ],
                [
                    (rep_id, {"day": day, "week": week, "month": month}, caps_of(rep_id), n)
                    for (rep_id, day, week, month), n in sorted(claims.loads.items())
                ],
            )
            insert_routed(
                conn,
                [lead_row(p.lead, p.decision) for p in pending],
                [p.decision for p in pending],
                ids,
            )
            note_rotations(
                conn,
                [
                    (route, rep_id, seq, at, n)
                    for (route, rep_id), (n, seq, at) in sorted(claims.ledger.items())
                ],
            )
        sequences = claimed()
        if sequences is None:
            raise LostRaceError  # the rows written with it go with the rollback
        self.claimed.update(sequences)
        stored = []
        keys: dict[int, tuple[str, ...]] = {}
        for item, lead_id in zip(pending, ids, strict=True):
            self.ids[item.position] = lead_id
            stored.append((item.lead, lead_id, item.decision))
            keys[lead_id] = item.keys
        follow_up(conn, stored, self.policy, self.org.reps, keys=keys)
        pending.clear()
        claims.clear()
