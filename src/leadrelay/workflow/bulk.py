"""Bulk routing and dry runs: many leads, one snapshot advanced in memory, one transaction.

Leads are decided in the order given, each at its own ``received_at``, by the same ``decide``
live routing calls, on a snapshot read once and advanced with ``Snapshot.record`` after each
lead given to a rep: the outcome equals routing the leads one by one with ``route_lead``. A real
run holds the routing lock exclusively (PostgreSQL: the advisory lock every routing
transaction takes; SQLite: the write lock), writes leads in batches and the routing state once
at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime
from functools import partial

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from leadrelay.domain.decision import Decision, Status
from leadrelay.domain.lead import Lead
from leadrelay.domain.quick import quick_replace
from leadrelay.domain.snapshot import Original, Snapshot
from leadrelay.gc_pause import collector_paused
from leadrelay.observe.routing import observed_batch
from leadrelay.pipeline.decide import decide
from leadrelay.pipeline.duplicates import keys_for, window
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store.dedupe import all_originals
from leadrelay.store.engine import busy_error, lock_routing, reader
from leadrelay.store.leads import (
    find_by_external_ids,
    get_decisions,
    insert_routed,
    lead_row,
)
from leadrelay.store.org import Org, company_index, load_org
from leadrelay.store.policies import find_revision, save_policy
from leadrelay.store.routing import save_state
from leadrelay.store.smart_inputs import add_smart_inputs
from leadrelay.store.snapshot import build_snapshot
from leadrelay.workflow.assign import RouteResult, uses_names
from leadrelay.workflow.duplicate_index import DuplicateIndex
from leadrelay.workflow.follow_up import HOLDS, follow_up

# Leads decided between two batched writes (and two progress calls).
BATCH = 5_000

Progress = Callable[[int], None]
# decides one lead on the advancing snapshot: ``decide``, unless a caller fixes owners itself
Decider = Callable[[Lead, Snapshot, CompiledPolicy], Decision]


@observed_batch
def route_many(
    engine: Engine,
    leads: Iterable[Lead],
    policy: CompiledPolicy,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    decide_with: Decider = decide,
    keep_trials: bool = True,
) -> list[RouteResult]:
    """Route ``leads`` in order; one result per lead, in the same order.

    A lead whose external id is stored already, or appeared earlier in ``leads``, is not routed
    again: its result is the earlier one with ``created=False``. ``dry_run`` decides everything
    the same way and writes nothing (new leads get ``lead_id=None``). ``decide_with`` stands in
    for ``decide`` (``route --optimize`` places leads by its batch plan); it must return a
    Decision ``decide`` could explain: an owner among the route's eligible candidates.
    ``keep_trials=False``: the results' decisions of leads routed here leave out their trials
    (the routes and candidates looked at; stored whole all the same), for a caller that reports
    outcomes only: a trace is two thirds of a result's memory (~2.6 KB a lead).
    """
    batch = list(leads)
    if not batch:
        return []
    try:
        with ExitStack() as stack:
            stack.enter_context(collector_paused())
            if dry_run:
                conn = stack.enter_context(reader(engine).connect())
            else:
                conn = stack.enter_context(engine.begin())
                lock_routing(conn, exclusive=True)
            results = _route_all(
                conn, batch, policy, dry_run=dry_run, progress=progress,
                decide_with=decide_with, keep_trials=keep_trials,
            )  # fmt: skip
            if dry_run:
                conn.rollback()
    except DBAPIError as exc:
        busy = busy_error(engine, exc)
        if busy is not None:
            raise busy from exc
        raise
    return results


def _route_all(
    conn: Connection,
    leads: list[Lead],
    policy: CompiledPolicy,
    *,
    dry_run: bool,
    progress: Progress | None,
    decide_with: Decider = decide,
    keep_trials: bool = True,
) -> list[RouteResult]:
    if policy.revision == 0:
        revision = find_revision(conn, policy) if dry_run else save_policy(conn, policy)
        if revision is not None:
            policy = policy.with_revision(revision)

    external = [lead.external_id for lead in leads if lead.external_id]
    stored_ids = find_by_external_ids(conn, external) if external else {}
    stored_decisions = get_decisions(conn, stored_ids.values())
    known: dict[str, RouteResult] = {
        ext: RouteResult(lead_id, stored_decisions[lead_id], created=False)
        for ext, lead_id in stored_ids.items()
    }

    results: list[RouteResult] = []
    times = [lead.received_at for lead in leads]
    org = load_org(conn)
    snapshot = build_snapshot(conn, org, min(times), through=max(times))
    before = replace(
        snapshot,
        counters=dict(snapshot.counters),
        open_leads=dict(snapshot.open_leads),
        ledger=dict(snapshot.ledger),
        route_seq=dict(snapshot.route_seq),
    )
    last_at: dict[tuple[str, str], datetime] = {}
    if uses_names(policy):
        snapshot.account_index = company_index(conn, org)
    add_smart_inputs(conn, snapshot, org, policy, fresh=True)
    keys_of = [keys_for(lead, policy) for lead in leads]
    dupes: DuplicateIndex | None = None
    span = window(policy)
    if span is not None:
        every = {key for keys in keys_of for key in keys}
        dupes = DuplicateIndex(all_originals(conn, every, since=min(times) - span), span)
    flush = partial(
        _flush, conn, policy=policy, org=org, dupes=dupes, keys_of=keys_of, dry_run=dry_run
    )

    pending: list[tuple[int, Lead, Decision]] = []  # (index in results, lead, decision)
    repeats: list[tuple[int, str]] = []  # (index in results, external id routed earlier here)
    assigned = Status.ASSIGNED
    for lead, keys in zip(leads, keys_of, strict=True):
        ext = lead.external_id
        if ext:
            earlier = known.get(ext)
            if earlier is not None:
                if earlier.created:
                    repeats.append((len(results), ext))
                results.append(RouteResult(earlier.lead_id, earlier.decision, created=False))
                continue
        snapshot.now = lead.received_at
        if dupes is not None and keys:
            found = dupes.originals_for(keys, lead.received_at)
            if not dry_run and dupes.waiting(found):  # its original is written first
                flush(pending, results, known)
                found = dupes.originals_for(keys, lead.received_at)
            snapshot.originals = found
        elif snapshot.originals:
            snapshot.originals = {}
        decision = decide_with(lead, snapshot, policy)
        if dupes is not None and keys and decision.status in HOLDS:
            original = Original(None, decision.owner, lead.received_at, ext)
            dupes.held(len(results), keys, original)
        if decision.status is assigned and decision.owner is not None:
            rotation = decision.ledger_route
            snapshot.record(rotation, decision.owner, lead.received_at)
            if rotation is not None:
                last_at[(rotation, decision.owner)] = lead.received_at
        kept = decision if keep_trials else _without_trials(decision)
        result = RouteResult(None, kept, created=True)
        if ext:
            known[ext] = result
        pending.append((len(results), lead, decision))  # written whole
        results.append(result)
        if len(pending) >= BATCH:
            flush(pending, results, known)
            if progress is not None:
                progress(len(results))
    flush(pending, results, known)
    for index, ext in repeats:  # now that the first occurrence has its id
        results[index] = RouteResult(known[ext].lead_id, known[ext].decision, created=False)
    if not dry_run:
        save_state(conn, before, snapshot, last_at)
    if progress is not None:
        progress(len(results))
    return results


def _flush(
    conn: Connection,
    pending: list[tuple[int, Lead, Decision]],
    results: list[RouteResult],
    known: dict[str, RouteResult],
    *,
    policy: CompiledPolicy,
    org: Org,
    dupes: DuplicateIndex | None,
    keys_of: list[tuple[str, ...]],
    dry_run: bool,
) -> None:
    """Write the pending leads (their keys and messages too) and put their ids in place."""
    if not pending or dry_run:
        pending.clear()
        return
    ids = insert_routed(
        conn,
        [lead_row(lead, decision) for _, lead, decision in pending],
        [decision for _, _, decision in pending],
    )
    stored = []
    keys: dict[int, tuple[str, ...]] = {}
    for (index, lead, decision), lead_id in zip(pending, ids, strict=True):
        result = RouteResult(lead_id, results[index].decision, created=True)  # as kept
        results[index] = result
        if lead.external_id:
            known[lead.external_id] = result
        if dupes is not None:
            dupes.stored(index, lead_id)
        stored.append((lead, lead_id, decision))
        keys[lead_id] = keys_of[index]  # results and leads share positions
    follow_up(conn, stored, policy, org.reps, keys=keys)
    pending.clear()


def _without_trials(decision: Decision) -> Decision:
    return quick_replace(decision, trials=()) if decision.trials else decision
