"""Group commit: a group of leads routed in one transaction ends exactly as routing them one by
one with route_lead would, in the same order (owners, rows, ledger, counters, ids)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from tests.builders import NOON, lead
from tests.workflow.conftest import compiled_policy, fresh_stores, seed, store_for_routers

from leadrelay.domain import Caps, Lead, Rep, Team
from leadrelay.policy import CompiledPolicy
from leadrelay.store.tables import (
    assignments,
    decisions,
    events,
    lead_keys,
    leads,
    outbox,
    rep_load,
    route_state,
    rr_ledger,
    sla_timers,
)
from leadrelay.workflow import RouteResult, route_lead
from leadrelay.workflow.group import route_group

POLICY = """\
version: 1
screening:
  reject:
    - {name: not-served, when: 'country != null and country not in ["US", "CA", "GB"]'}
matching:
  duplicates: {keys: [email], window_days: 30}
notifications:
  email: true
capacity:
  default: {per_day: 3, per_week: 10}
routes:
  - name: airlines
    when: 'industry == "airline"'
    to: {reps: [ana, bo, chen]}
    strategy: round_robin
    sla: {accept_within: 2h}
  - {name: banks, when: 'industry == "bank"', to: {team: ent}, strategy: team}
  - {name: weighted, when: 'industry == "retail"', to: {reps: [ana, dee, eve]},
     strategy: weighted_round_robin}
  - {name: rest, to: {reps: [dee, eve]}, strategy: least_loaded}
"""
REPS = [
    Rep(id="ana", email="ana@x.example", teams=("air",)),
    Rep(id="bo", email="bo@x.example", teams=("air",), caps=Caps(per_day=2)),
    Rep(id="chen", email="chen@x.example", teams=("air",), timezone="America/Los_Angeles"),
    Rep(id="dee", email="dee@x.example", teams=("ent",), weight=2),
    Rep(id="eve", email="eve@x.example", teams=("ent",), timezone="Pacific/Auckland",
        caps=Caps(per_day=2)),
]  # fmt: skip
TEAMS = [Team(id="ent", name="Enterprise", owner="dee")]
INDUSTRIES = ["airline", "bank", "retail", None]
COUNTRIES = ["US", "GB", "FR", None]


def _policy() -> CompiledPolicy:
    return compiled_policy(POLICY, REPS)


def _seed(engine: Engine) -> None:
    seed(engine, REPS, TEAMS)


def _dump(engine: Engine) -> dict[str, Any]:
    """What routing wrote, without the moments taken from the wall clock."""
    skip = {"created_at", "updated_at", "next_attempt_at"}
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        for table in (
            leads, decisions, assignments, events, lead_keys, outbox, sla_timers, rep_load,
            route_state, rr_ledger,
        ):  # fmt: skip
            columns = [c for c in table.c if c.name not in skip]
            rows = conn.execute(select(*columns)).all()
            out[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return out


def _results(results: list[RouteResult]) -> list[tuple[Any, ...]]:
    return [(r.lead_id, r.created, r.decision.to_dict()) for r in results]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Engine]]:
    """``stores()``: another fresh store with this file's org, on the same backend each time."""
    with fresh_stores(request, tmp_path, _seed) as make:
        yield make


_LEADS = st.lists(
    st.tuples(
        st.sampled_from(INDUSTRIES),
        st.sampled_from(COUNTRIES),
        st.integers(0, 5),  # email: a few people, so some come twice
        st.integers(0, 12),  # external id: some repeat, in the group and before it
        st.integers(-20, 60),  # hours after noon: out of order, across days
    ),
    min_size=2,
    max_size=24,
)


def _leads(rows: list[tuple[str | None, str | None, int, int, int]]) -> list[Lead]:
    return [
        lead(
            external_id=f"x{ext}",
            industry=industry,
            country=country,
            email=f"p{person}@lead.example",
            received_at=NOON + timedelta(hours=hours),
        )
        for industry, country, person, ext, hours in rows
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=_LEADS, group=_LEADS)
def test_a_group_ends_as_the_same_leads_routed_one_by_one(
    stores: Callable[[], Engine],
    before: list[tuple[str | None, str | None, int, int, int]],
    group: list[tuple[str | None, str | None, int, int, int]],
) -> None:
    policy = _policy()
    serial, grouped = stores(), stores()
    earlier, batch = _leads(before), _leads(group)
    for engine in (serial, grouped):  # some ids stored already, some counters and originals
        for one in earlier:
            route_lead(engine, one, policy)

    one_by_one = [route_lead(serial, one, policy) for one in batch]
    at_once = route_group(grouped, batch, policy)

    assert _results(at_once) == _results(one_by_one)
    assert _dump(grouped) == _dump(serial)
    # and the cached view each left behind decides the next lead the same way (its id may
    # differ: on PostgreSQL ids a group reserved for leads stored already are left unused)
    after = lead(external_id="next", industry="airline", received_at=NOON + timedelta(hours=61))
    next_grouped, next_serial = (
        route_lead(grouped, after, policy),
        route_lead(serial, after, policy),
    )
    assert next_grouped.decision.to_dict() == next_serial.decision.to_dict()
    assert next_grouped.lead_id is not None and next_serial.lead_id is not None
    if not any(r.created is False for r in at_once):
        assert next_grouped.lead_id == next_serial.lead_id


def test_the_same_external_id_twice_in_a_group_is_routed_once(
    stores: Callable[[], Engine],
) -> None:
    engine = stores()
    policy = _policy()
    stored = route_lead(engine, lead(external_id="old", industry="airline"), policy)
    results = route_group(
        engine,
        [
            lead(external_id="a", industry="airline"),
            lead(external_id="old", industry="bank"),
            lead(external_id="a", industry="bank"),
            lead(industry="airline"),
            lead(industry="airline"),
        ],
        policy,
    )
    assert [r.created for r in results] == [True, False, False, True, True]
    assert results[1].lead_id == stored.lead_id
    assert results[1].decision.to_dict() == stored.decision.to_dict()
    assert results[2].lead_id == results[0].lead_id
    assert results[2].decision.to_dict() == results[0].decision.to_dict()
    assert len({r.lead_id for r in results}) == 4  # leads without an id are each new
    with engine.connect() as conn:
        assert len(conn.execute(select(leads.c.id)).all()) == 4


def test_a_group_never_gives_a_rep_more_than_their_cap(stores: Callable[[], Engine]) -> None:
    engine = stores()
    batch = [lead(external_id=f"c{i}", industry="airline") for i in range(14)]
    results = route_group(engine, batch, _policy())
    owners = Counter(r.decision.owner for r in results if r.decision.status.value == "assigned")
    # the airline reps fill up (ana 3: the policy's default per day, bo 2: own cap, chen 3),
    # then the rest route takes over (dee 3, eve 2), then nobody is left: manual
    assert owners == {"ana": 3, "bo": 2, "chen": 3, "dee": 3, "eve": 2}
    assert [r.decision.status.value for r in results].count("manual") == 1
    with engine.connect() as conn:
        day = {
            rep: count
            for rep, count in conn.execute(
                select(rep_load.c.rep_id, rep_load.c.count).where(rep_load.c.period == "day")
            )
        }
    assert day == owners


def test_a_lost_race_decides_the_group_again_from_the_store(
    stores: Callable[[], Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim that fails (another router moved the route) rolls the group back and decides
    it again; the view it had taken is not trusted after."""
    import leadrelay.workflow.group as group_module
    from leadrelay.store.routing import ask_claims as real

    engine = stores()
    policy = _policy()
    route_lead(engine, lead(external_id="w", industry="airline"), policy)
    calls = {"n": 0}

    def moved_once(conn: Any, routes: Any, loads: Any) -> Callable[[], dict[str, int] | None]:
        calls["n"] += 1
        if calls["n"] == 1:  # as if another router had given a lead meanwhile
            ((route, seen, _),) = routes
            real(conn, [(route, seen, 1)], [])
        return real(conn, routes, loads)

    monkeypatch.setattr(group_module, "ask_claims", moved_once)
    batch = [lead(external_id=f"r{i}", industry="airline") for i in range(3)]
    results = route_group(engine, batch, policy)
    assert calls["n"] == 2
    assert [r.decision.owner for r in results] == ["bo", "chen", "ana"]
    with engine.connect() as conn:
        assert conn.execute(select(route_state.c.seq)).scalar_one() == 4


def test_a_group_reaching_another_day_counts_what_that_day_holds_already(
    stores: Callable[[], Engine],
) -> None:
    """Counters are held for the periods of the group's first lead; a later lead in another
    day must see that day's stored counts (bo is at his cap of 2 there)."""
    policy = _policy()
    day_one = NOON - timedelta(hours=13)  # 01:00 UTC: the same date in every rep's zone
    day_two = day_one + timedelta(days=1)
    serial, grouped = stores(), stores()
    for engine in (serial, grouped):
        for i in range(6):
            route_lead(engine, lead(external_id=f"d{i}", industry="airline", received_at=day_two),
                       policy)  # fmt: skip
    batch = [lead(external_id="g0", industry="airline", received_at=day_one)] + [
        lead(external_id=f"g{i}", industry="airline", received_at=day_two) for i in (1, 2, 3)
    ]
    one_by_one = [route_lead(serial, one, policy) for one in batch]
    at_once = route_group(grouped, batch, policy)
    assert _results(at_once) == _results(one_by_one)
    assert "bo" not in [r.decision.owner for r in at_once[1:]]
    assert _dump(grouped) == _dump(serial)


def _route_groups(url: str, revision: int, indexes: list[int]) -> list[tuple[str, int, bool]]:
    from tests.workflow import test_concurrent_routing as shared

    from leadrelay.store import make_engine

    engine = make_engine(url)
    policy = shared._policy().with_revision(revision)
    try:
        done: list[tuple[str, int, bool]] = []
        for start in range(0, len(indexes), 10):
            chunk = indexes[start : start + 10]
            results = route_group(engine, [shared._lead(i) for i in chunk], policy)
            done.extend(
                (f"L{i:03}", r.lead_id or 0, r.created) for i, r in zip(chunk, results, strict=True)
            )
        return done
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_groups_from_several_processes_keep_every_invariant(pg_url: str) -> None:
    """test_concurrent_routing's four processes, routing groups of 10 instead of single leads
    (some leads sent by two of them): each routed once, nobody over a cap, rotations even."""
    import multiprocessing

    from tests.workflow import test_concurrent_routing as shared

    engine, revision = store_for_routers(pg_url, shared.REPS, shared._policy())
    with multiprocessing.get_context("spawn").Pool(shared.WORKERS) as pool:
        outcomes = pool.starmap(_route_groups, [(pg_url, revision, s) for s in shared.shares()])
    shared.check_invariants(engine, outcomes)
    engine.dispose()
