"""Live routing: one lead, one transaction, everything written together or nothing."""

from __future__ import annotations

import sqlite3
import time
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from tests.builders import NOON, lead
from tests.workflow.conftest import seed

from leadrelay.domain import Status
from leadrelay.policy import CompiledPolicy
from leadrelay.store import get_decision, get_lead, ledger, list_versions
from leadrelay.store.tables import (
    assignments,
    decisions,
    events,
    leads,
    rep_load,
    route_state,
    rr_ledger,
)
from leadrelay.workflow import route_lead

ROUTING_TABLES = (leads, decisions, assignments, events, rep_load, route_state, rr_ledger)


def _rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.scalar(select(func.count()).select_from(t)) or 0 for t in ROUTING_TABLES
        }


def _loads(engine: Engine) -> dict[tuple[str, str, date], int]:
    with engine.connect() as conn:
        return {
            (rep_id, period, start): count
            for rep_id, period, start, count in conn.execute(
                select(
                    rep_load.c.rep_id, rep_load.c.period, rep_load.c.period_start, rep_load.c.count
                )
            )
        }


def test_routing_a_lead_stores_it_with_decision_assignment_ledger_and_counters(
    engine: Engine, policy: CompiledPolicy
) -> None:
    result = route_lead(engine, lead(external_id="L1", industry="airline", country="US"), policy)

    assert result.created
    assert result.decision.status is Status.ASSIGNED
    assert result.decision.owner == "ana"
    assert result.lead_id is not None
    with engine.connect() as conn:
        stored = get_lead(conn, result.lead_id)
        assert stored.external_id == "L1"
        assert stored.received_at == NOON
        assert get_decision(conn, result.lead_id) == result.decision
        (active,) = conn.execute(select(assignments)).all()
        assert (active.lead_id, active.owner, active.status) == (result.lead_id, "ana", "assigned")
        assert conn.execute(select(route_state.c.route, route_state.c.seq)).all() == [
            ("airlines", 1)
        ]
        assert [(r.route, r.rep_id, r.count, r.last_seq) for r in ledger(conn)] == [
            ("airlines", "ana", 1, 1)
        ]
        (event,) = conn.execute(select(events)).all()
        assert (event.lead_id, event.kind, event.data["owner"]) == (result.lead_id, "routed", "ana")
    assert _loads(engine) == {
        ("ana", "day", date(2026, 11, 25)): 1,
        ("ana", "week", date(2026, 11, 23)): 1,
        ("ana", "month", date(2026, 11, 1)): 1,
        ("ana", "open", date(1970, 1, 1)): 1,
    }


def test_the_same_external_id_is_routed_once(engine: Engine, policy: CompiledPolicy) -> None:
    first = route_lead(engine, lead(external_id="L1", industry="airline"), policy)
    before = _rows(engine)
    again = route_lead(
        engine,
        lead(external_id="L1", industry="bank", received_at=NOON + timedelta(hours=1)),
        policy,
    )
    assert not again.created
    assert (again.lead_id, again.decision) == (first.lead_id, first.decision)
    assert _rows(engine) == before


def test_a_failure_inside_the_transaction_leaves_nothing_behind(
    engine: Engine, policy: CompiledPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any) -> None:
        raise RuntimeError("disk on fire")

    # after the lead row, the route sequence and the counters are written
    monkeypatch.setattr("leadrelay.workflow.assign.insert_outcomes", fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        route_lead(engine, lead(external_id="L1", industry="airline"), policy)
    assert _rows(engine) == dict.fromkeys((t.name for t in ROUTING_TABLES), 0)


def test_no_rep_is_given_more_than_their_cap(engine: Engine, policy: CompiledPolicy) -> None:
    results = [
        route_lead(
            engine,
            lead(external_id=f"L{i}", industry="airline", received_at=NOON + timedelta(minutes=i)),
            policy,
        )
        for i in range(11)
    ]
    owners = [r.decision.owner for r in results]
    assert owners[:9] == ["ana", "bo", "chen"] * 3
    # the airline reps are at their daily cap of 3: the rest route takes over (eve: cap 2)
    assert [r.decision.route for r in results[9:]] == ["rest", "rest"]
    airline_trial = results[9].decision.trials[0]
    assert {c.excluded for c in airline_trial.candidates} == {"at daily cap (3/3)"}
    day = {key[0]: n for key, n in _loads(engine).items() if key[1] == "day"}
    assert day == {"ana": 3, "bo": 3, "chen": 3, "dee": 1, "eve": 1}


def test_team_and_screened_out_leads_take_no_capacity(
    engine: Engine, policy: CompiledPolicy
) -> None:
    held = route_lead(engine, lead(external_id="B1", industry="bank"), policy)
    out = route_lead(engine, lead(external_id="F1", industry="bank", country="FR"), policy)

    assert (held.decision.status, held.decision.owner, held.decision.team) == (
        Status.TEAM,
        "dee",
        "ent",
    )
    assert out.decision.status is Status.SCREENED_OUT
    assert _loads(engine) == {}
    with engine.connect() as conn:
        rows = conn.execute(select(assignments.c.lead_id, assignments.c.status)).all()
        statuses = dict(conn.execute(select(leads.c.external_id, leads.c.status)).all())
    assert rows == [(held.lead_id, "team")]  # a screened-out lead has no assignment
    assert statuses == {"B1": "team", "F1": "screened_out"}


def test_an_unstored_policy_is_saved_and_decisions_name_its_revision(
    engine: Engine, policy: CompiledPolicy
) -> None:
    assert policy.revision == 0
    result = route_lead(engine, lead(industry="airline"), policy)
    with engine.connect() as conn:
        (version,) = list_versions(conn)
        stored = conn.scalar(select(leads.c.policy_revision))
    assert result.decision.policy_version == version.revision == stored
    assert version.text == policy.text


def test_every_kind_of_decision_reads_back_equal(engine: Engine, policy: CompiledPolicy) -> None:
    cases = [("airline", "US"), ("bank", "US"), (None, "FR"), (None, None)]
    results = [
        route_lead(engine, lead(external_id=f"L{i}", industry=industry, country=country), policy)
        for i, (industry, country) in enumerate(cases)
    ]
    with engine.connect() as conn:
        for result in results:
            assert result.lead_id is not None
            assert get_decision(conn, result.lead_id) == result.decision


def test_a_sqlite_store_locked_too_long_is_a_store_error(
    sqlite_url: str, policy: CompiledPolicy
) -> None:
    from leadrelay.errors import StoreError
    from leadrelay.store import make_engine, open_store

    open_store(sqlite_url).dispose()
    impatient = make_engine(sqlite_url, busy_timeout_ms=50)
    path = impatient.url.database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="is busy"):
            route_lead(impatient, lead(industry="airline"), policy)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        impatient.dispose()


def test_losing_the_race_for_a_route_decides_again(
    engine: Engine, policy: CompiledPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leadrelay.workflow.assign as assign

    real = assign.claim_all
    calls: list[int] = []

    def once_too_late(conn: Any, routes: Any, loads: Any) -> dict[str, int] | None:
        ((_, seen, _),) = routes
        calls.append(seen)
        return None if len(calls) == 1 else real(conn, routes, loads)

    monkeypatch.setattr(assign, "claim_all", once_too_late)
    result = route_lead(engine, lead(external_id="L1", industry="airline"), policy)

    assert calls == [0, 0]
    assert result.decision.owner == "ana"
    assert _rows(engine) == {
        "leads": 1,
        "decisions": 1,
        "assignments": 1,
        "events": 1,
        "rep_load": 4,
        "route_state": 1,
        "rr_ledger": 1,
    }


@pytest.mark.postgres
def test_a_router_waits_for_the_routing_lock_held_exclusively(
    pg_url: str, policy: CompiledPolicy
) -> None:
    """Routers take the routing lock exclusively (with it shared they lost races to each other
    over and over): a lead waits while a hand-off holds it shared, then is routed."""
    import threading

    from sqlalchemy import text

    from leadrelay.store import open_store
    from leadrelay.store.engine import lock_routing

    engine = open_store(pg_url)
    seed(engine)
    results: list[Any] = []
    # this database's requests only: the test server is shared with other tests
    waiting = text(
        "SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    router = threading.Thread(
        target=lambda: results.append(
            route_lead(engine, lead(external_id="L1", industry="airline"), policy)
        )
    )
    modes: list[str] = []
    try:
        with engine.connect() as handoff, engine.connect() as watcher:
            handoff.begin()
            lock_routing(handoff, exclusive=False)  # as a hand-off takes it
            router.start()
            try:
                for _ in range(500):  # up to 10 s for the router to queue for the lock
                    modes = list(watcher.execute(waiting).scalars())
                    watcher.rollback()
                    if modes:
                        break
                    time.sleep(0.02)
                still_waiting = not results
            finally:
                handoff.rollback()
                router.join(timeout=30)
    finally:
        engine.dispose()
    assert modes == ["ExclusiveLock"]
    assert still_waiting
    assert [r.decision.owner for r in results] == ["ana"]


def test_an_external_id_stored_by_another_router_meanwhile_returns_theirs(
    engine: Engine, policy: CompiledPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leadrelay.workflow.assign as assign

    theirs = route_lead(engine, lead(external_id="L1", industry="airline"), policy)
    real = assign.find_by_external_id
    looked: list[str] = []

    def not_yet_committed(conn: Any, external_id: str) -> int | None:
        looked.append(external_id)
        return None if len(looked) == 1 else real(conn, external_id)

    monkeypatch.setattr(assign, "find_by_external_id", not_yet_committed)
    mine = route_lead(engine, lead(external_id="L1", industry="bank"), policy)

    assert len(looked) == 2  # the unique index caught it; the winner's row was read back
    assert not mine.created
    assert (mine.lead_id, mine.decision) == (theirs.lead_id, theirs.decision)
    assert _rows(engine)["leads"] == 1
