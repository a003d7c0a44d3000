"""Live routing's cache of the routing tables never changes a decision.

Each engine keeps what the routing tables held after its last routing transaction and proves it
exact before use (see ``leadrelay.store.snapshot``). These tests route the same leads with and
without other writers in between, and compare every cached snapshot with one read from scratch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from bench.org import build_org, load_policy, make_leads, policy_dict
from sqlalchemy import Connection, Engine, select
from tests.builders import NOON, lead
from tests.workflow.conftest import REPS, seed

from leadrelay.domain import Lead, Snapshot
from leadrelay.policy import CompiledPolicy
from leadrelay.store import (
    build_snapshot,
    ledger,
    load_org,
    make_engine,
    open_store,
    save_accounts,
    save_policy,
    save_reps,
    save_teams,
)
from leadrelay.store.org import Org
from leadrelay.store.routing import add_open
from leadrelay.store.snapshot import LiveView
from leadrelay.store.tables import rep_load, route_state
from leadrelay.workflow import RouteResult, route_lead, route_many

INDUSTRIES = ["airline", "airline", "bank", None, "airline", None, "airline", "airline"]


def _leads(n: int, prefix: str = "L") -> list[Lead]:
    """A lead an hour: daily caps (3, and 2 for eve) fill and reset, days and weeks change."""
    return [
        lead(
            external_id=f"{prefix}{i}",
            industry=INDUSTRIES[i % len(INDUSTRIES)],
            country="US",
            received_at=NOON + timedelta(hours=i),
        )
        for i in range(n)
    ]


def _tables(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        loads = sorted(conn.execute(select(rep_load)).all())
        seqs = sorted(conn.execute(select(route_state)).all())
        return loads, seqs, ledger(conn)


def _decisions(results: list[RouteResult]) -> list[dict[str, Any]]:
    return [r.decision.to_dict() for r in results]


@pytest.fixture
def second_engine() -> Iterator[Callable[[Engine], Engine]]:
    """``second_engine(engine)``: another engine (own pool, own cache) on the same database."""
    made: list[Engine] = []

    def make(engine: Engine) -> Engine:
        other = make_engine(engine.url)
        made.append(other)
        return other

    yield make
    for other in made:
        other.dispose()


def test_two_engines_taking_turns_route_as_one_engine_does(
    new_store: Callable[[], Engine],
    second_engine: Callable[[Engine], Engine],
    policy: CompiledPolicy,
) -> None:
    batch = _leads(120)
    alone, shared = new_store(), new_store()
    other = second_engine(shared)

    one = [route_lead(alone, x, policy) for x in batch]
    # in runs of 1, 2 and 3 leads: each engine's cache is sometimes current, sometimes behind
    pattern = [shared, other, other, shared, shared, shared, other, shared, other, other, other]
    turns = [route_lead(pattern[i % len(pattern)], x, policy) for i, x in enumerate(batch)]

    assert _decisions(turns) == _decisions(one)
    assert [r.lead_id for r in turns] == [r.lead_id for r in one]
    assert _tables(shared) == _tables(alone)
    assert {r.decision.status.value for r in one} >= {"assigned", "team", "manual"}


def test_a_lost_race_is_decided_again_from_what_the_winner_wrote(
    pg_url: str, policy: CompiledPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: another router commits between this one's snapshot and its claim. Routers
    hold the routing lock exclusively, so here the other one skips it: the claims are the
    second guard, for a writer the lock does not hold back."""
    import leadrelay.workflow.assign as assign
    import leadrelay.workflow.retry as retry

    mine = open_store(pg_url)
    seed(mine)
    theirs = make_engine(pg_url)
    locked = retry.lock_routing

    def lock_mine_only(conn: Any, *, exclusive: bool) -> None:
        if conn.engine is mine:
            locked(conn, exclusive=exclusive)

    monkeypatch.setattr(retry, "lock_routing", lock_mine_only)
    try:
        first = route_lead(mine, lead(external_id="A1", industry="airline"), policy)
        real = assign.claim_all
        seen: list[int] = []

        def overtaken(conn: Any, routes: Any, loads: Any) -> dict[str, int] | None:
            if conn.engine is not mine:
                return real(conn, routes, loads)
            ((_, at_seq, _),) = routes
            seen.append(at_seq)
            if len(seen) == 1:  # the other router takes the next place first
                won = route_lead(theirs, lead(external_id="T1", industry="airline"), policy)
                assert won.decision.owner == "bo"
            return real(conn, routes, loads)

        monkeypatch.setattr(assign, "claim_all", overtaken)
        retried = route_lead(mine, lead(external_id="A2", industry="airline"), policy)
        monkeypatch.setattr(assign, "claim_all", real)
        after = route_lead(mine, lead(external_id="A3", industry="airline"), policy)
    finally:
        theirs.dispose()
    assert first.decision.owner == "ana"
    assert seen == [1, 2]
    assert retried.decision.owner == "chen"
    assert after.decision.owner == "ana"
    with mine.connect() as conn:
        entries = {(e.rep_id, e.count, e.last_seq) for e in ledger(conn, "airlines")}
    mine.dispose()
    assert entries == {("ana", 2, 4), ("bo", 1, 2), ("chen", 1, 3)}


def test_a_rollback_leaves_no_trace_in_the_cache(
    engine: Engine, policy: CompiledPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leadrelay.workflow.assign as assign

    route_lead(engine, lead(external_id="L0", industry="airline"), policy)

    def fail(*args: Any) -> None:
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(assign, "insert_outcomes", fail)
        with pytest.raises(RuntimeError):
            route_lead(engine, lead(external_id="L1", industry="airline"), policy)
    again = route_lead(engine, lead(external_id="L1", industry="airline"), policy)
    assert again.decision.owner == "bo"  # bo's rolled-back lead did not count


def test_changes_to_the_org_reach_the_next_lead(
    engine: Engine, second_engine: Callable[[Engine], Engine], policy: CompiledPolicy
) -> None:
    assert (
        route_lead(engine, lead(external_id="L0", industry="airline"), policy).decision.owner
        == "ana"
    )
    with engine.begin() as conn:  # the same engine, likely the same connection
        save_reps(conn, [replace(REPS[1], active=False)])
    assert (
        route_lead(engine, lead(external_id="L1", industry="airline"), policy).decision.owner
        == "chen"
    )
    with second_engine(engine).begin() as conn:
        save_reps(conn, [REPS[1]])
    assert (
        route_lead(engine, lead(external_id="L2", industry="airline"), policy).decision.owner
        == "bo"
    )


def test_counters_changed_outside_routing_reach_the_next_lead(
    engine: Engine, second_engine: Callable[[Engine], Engine], policy: CompiledPolicy
) -> None:
    rest = lead(external_id="R0", industry="software", country="US")
    assert route_lead(engine, rest, policy).decision.owner == "dee"  # least loaded, first
    with engine.begin() as conn:
        add_open(conn, "eve", 5)
    assert route_lead(engine, replace(rest, external_id="R1"), policy).decision.owner == "dee"
    with second_engine(engine).begin() as conn:
        add_open(conn, "dee", 10)
    assert route_lead(engine, replace(rest, external_id="R2"), policy).decision.owner == "eve"


def test_one_engine_routes_day_after_day_as_bulk_routing_does(
    new_store: Callable[[], Engine], policy: CompiledPolicy
) -> None:
    """Nothing else writes: every lead after the first decides from the cache unread, across
    day and week boundaries (caps fill and reset)."""
    batch = _leads(120)
    live, bulk = new_store(), new_store()

    one_by_one = [route_lead(live, x, policy) for x in batch]

    assert _decisions(one_by_one) == _decisions(route_many(bulk, batch, policy))
    assert _tables(live) == _tables(bulk)


def test_every_snapshot_routing_decides_from_equals_one_read_from_scratch(
    new_store: Callable[[], Engine],
    second_engine: Callable[[Engine], Engine],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = build_org()
    policy = load_policy(policy_dict(), org)
    engine = new_store()
    other = second_engine(engine)
    with engine.begin() as conn:
        save_reps(conn, org.reps)
        save_teams(conn, org.teams)
        save_accounts(conn, org.accounts)
        policy = policy.with_revision(save_policy(conn, policy))
    read = LiveView.read
    checked: list[Lead] = []

    def compared(view: LiveView, conn: Connection, now: datetime) -> tuple[Org, Snapshot]:
        found, cached = read(view, conn, now)
        fresh = build_snapshot(conn, load_org(conn), now)  # reads only, same transaction
        assert cached.ledger == fresh.ledger
        assert cached.route_seq == fresh.route_seq
        assert cached.open_leads == fresh.open_leads
        assert cached.counters == fresh.counters
        checked.append(now)
        return found, cached

    monkeypatch.setattr(LiveView, "read", compared)
    leads = make_leads(4_500)[::9]  # three business days
    for i, one in enumerate(leads):
        if i % 37 == 5:  # someone else routes, or closes a lead
            route_lead(other, replace(one, external_id=f"other-{i}"), policy)
        if i % 53 == 7:
            with other.begin() as conn:
                add_open(conn, org.reps[i % len(org.reps)].id, -1)
        route_lead(engine, one, policy)
    assert len(checked) == len(leads) + len(range(5, len(leads), 37))
