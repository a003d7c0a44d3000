"""Bulk routing and dry runs decide exactly as live routing does, lead by lead."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from tests.builders import NOON, lead
from tests.store_checks import rep_days

from leadrelay.domain import Lead
from leadrelay.policy import CompiledPolicy
from leadrelay.store import counts_by_owner, counts_by_route, counts_by_status, ledger
from leadrelay.store.leads import get_decisions
from leadrelay.store.tables import leads, metadata, rep_load, route_state
from leadrelay.workflow import RouteResult, route_lead, route_many

INDUSTRIES = ["airline", "airline", "bank", None, "airline", None, "airline"]
COUNTRIES = ["US", "GB", "US", "CA", "FR", "US"]


def _mixed_leads(n: int, start: datetime = NOON, prefix: str = "L") -> list[Lead]:
    """Leads over several days (so daily caps fill and reset), of every outcome."""
    return [
        lead(
            external_id=f"{prefix}{i}",
            industry=INDUSTRIES[i % len(INDUSTRIES)],
            country=COUNTRIES[i % len(COUNTRIES)],
            received_at=start + timedelta(hours=3 * i),
        )
        for i in range(n)
    ]


def _routing_state(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        loads = sorted(
            conn.execute(
                select(
                    rep_load.c.rep_id, rep_load.c.period, rep_load.c.period_start, rep_load.c.count
                )
            ).all()
        )
        seqs = sorted(conn.execute(select(route_state.c.route, route_state.c.seq)).all())
        return loads, seqs, ledger(conn)


def _outcomes(results: list[RouteResult]) -> list[dict[str, Any]]:
    return [r.decision.to_dict() for r in results]


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.scalar(select(func.count()).select_from(t)) or 0
            for t in metadata.sorted_tables
        }


def test_bulk_routing_equals_live_routing_one_lead_at_a_time(
    new_store: Callable[[], Engine], policy: CompiledPolicy
) -> None:
    batch = _mixed_leads(80)
    live, bulk, mixed = new_store(), new_store(), new_store()

    one_by_one = [route_lead(live, one, policy) for one in batch]
    at_once = route_many(bulk, batch, policy)
    halves = route_many(mixed, batch[:40], policy) + [
        route_lead(mixed, x, policy) for x in batch[40:]
    ]

    assert _outcomes(at_once) == _outcomes(one_by_one)
    assert _outcomes(halves) == _outcomes(one_by_one)
    assert {r.decision.status.value for r in at_once} >= {"assigned", "team", "screened_out"}
    assert _routing_state(bulk) == _routing_state(live) == _routing_state(mixed)
    assert [r.lead_id for r in at_once] == [r.lead_id for r in one_by_one]


def test_results_without_trials_store_the_whole_decisions(
    new_store: Callable[[], Engine], policy: CompiledPolicy
) -> None:
    batch = [*_mixed_leads(30), _mixed_leads(1)[0]]  # the last: an external id seen earlier
    whole, slim = new_store(), new_store()

    kept = route_many(whole, batch, policy)
    outcomes = route_many(slim, batch, policy, keep_trials=False)

    assert any(r.decision.trials for r in kept)
    assert all(r.decision.trials == () for r in outcomes)
    assert [replace(r.decision, trials=()) for r in kept] == [r.decision for r in outcomes]
    assert [(r.lead_id, r.created) for r in kept] == [(r.lead_id, r.created) for r in outcomes]
    with slim.connect() as conn:
        stored = get_decisions(conn, [r.lead_id for r in outcomes if r.lead_id is not None])
    assert [stored[r.lead_id] for r in outcomes if r.lead_id] == [r.decision for r in kept]


def test_a_dry_run_decides_the_same_and_writes_nothing(
    engine: Engine, policy: CompiledPolicy
) -> None:
    batch = _mixed_leads(30)
    before = _row_counts(engine)

    dry = route_many(engine, batch, policy, dry_run=True)

    assert _row_counts(engine) == before
    assert all(r.lead_id is None and r.created for r in dry)
    real = route_many(engine, batch, policy)
    # the dry run did not store the policy, so its decisions name no revision
    assert {r.decision.policy_version for r in dry} == {0}
    unversioned = [d | {"policy_version": 0} for d in _outcomes(real)]
    assert _outcomes(dry) == unversioned


def test_external_ids_stored_or_seen_earlier_are_not_routed_again(
    engine: Engine, policy: CompiledPolicy
) -> None:
    first = route_many(
        engine, [lead(external_id="A", industry="airline"), lead(external_id="B")], policy
    )
    later = NOON + timedelta(hours=1)
    again = route_many(
        engine,
        [
            lead(external_id="B", industry="airline", received_at=later),
            lead(external_id="C", industry="airline", received_at=later),
            lead(external_id="C", received_at=later),
            lead(industry="airline", received_at=later),
        ],
        policy,
    )

    assert [r.created for r in again] == [False, True, False, True]
    assert (again[0].lead_id, again[0].decision) == (first[1].lead_id, first[1].decision)
    assert (again[2].lead_id, again[2].decision) == (again[1].lead_id, again[1].decision)
    assert again[1].decision.owner == "bo"  # the rotation continued from the first batch
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(leads)) == 4


def test_progress_is_reported_up_to_the_last_lead(engine: Engine, policy: CompiledPolicy) -> None:
    seen: list[int] = []
    route_many(engine, _mixed_leads(12), policy, progress=seen.append)
    assert seen[-1] == 12
    assert seen == sorted(seen)


def test_an_empty_batch_writes_nothing(engine: Engine, policy: CompiledPolicy) -> None:
    before = _row_counts(engine)
    assert route_many(engine, [], policy) == []
    assert _row_counts(engine) == before


def test_bulk_counts_each_rep_in_their_own_days(engine: Engine, policy: CompiledPolicy) -> None:
    route_many(engine, _mixed_leads(40), policy)
    eve_days = rep_days(engine, "eve")
    assert eve_days  # Auckland days: the leads' UTC afternoons fall on the next date there
    assert max(eve_days.values()) <= 2
    assert min(eve_days) >= date(2026, 11, 26)


def test_summary_counts_add_up_to_the_routed_leads(engine: Engine, policy: CompiledPolicy) -> None:
    results = route_many(engine, _mixed_leads(30), policy)
    with engine.connect() as conn:
        by_status = counts_by_status(conn)
        by_owner = counts_by_owner(conn)
        by_route = counts_by_route(conn)
    assert by_status == dict(Counter(r.decision.status.value for r in results))
    assert by_owner == dict(
        Counter(r.decision.owner for r in results if r.decision.status.value == "assigned")
    )
    assert sum(by_route.values()) == 30
    assert by_route[None] == by_status["screened_out"]
