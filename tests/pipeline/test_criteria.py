"""Criteria: the route's condition selects the leads, the route names their owner."""

from __future__ import annotations

from tests.builders import lead, policy, rep, route, snapshot

from leadrelay.domain import DateRange, Status
from leadrelay.pipeline.decide import decide

_AWAY = [DateRange.parse("2026-11-20..2026-11-27")]


def test_criteria_gives_the_selected_leads_to_the_fixed_owner() -> None:
    snap = snapshot([rep("ana"), rep("bo")])
    pol = policy(
        route("airlines", "criteria", when='industry == "airline"', rep="bo"),
        route("rest", reps=["ana", "bo"]),
    )

    airline = decide(lead(industry="airline"), snap, pol)
    retail = decide(lead(industry="retail"), snap, pol)

    assert (airline.route, airline.owner) == ("airlines", "bo")
    assert airline.reason == "criteria: route 'airlines' gives these leads to bo"
    assert (retail.route, retail.owner) == ("rest", "ana")


def test_criteria_falls_through_when_fixed_owner_away() -> None:
    snap = snapshot([rep("ana"), rep("bo", out_of_office=_AWAY)])
    pol = policy(
        route("airlines", "criteria", when='industry == "airline"', rep="bo"),
        route("rest", reps=["ana", "bo"]),
    )

    decision = decide(lead(industry="airline"), snap, pol)

    assert (decision.route, decision.owner) == ("rest", "ana")
    first = decision.trials[0]
    assert first.matched
    assert first.outcome.startswith(
        "the fixed owner may not take it: bo (out of office 2026-11-20..2026-11-27)"
    )


def test_criteria_named_backup_takes_it_when_the_first_is_away() -> None:
    snap = snapshot([rep("ana", out_of_office=_AWAY), rep("bo"), rep("cy")])
    pol = policy(route("vip", "criteria", reps=["ana", "bo", "cy"]))

    decision = decide(lead(), snap, pol)

    assert decision.owner == "bo"
    assert (
        decision.reason
        == "criteria: route 'vip' gives these leads to bo (first eligible of 3 listed)"
    )


def test_criteria_fixed_owner_gets_every_lead_no_rotation() -> None:
    snap = snapshot([rep("ana"), rep("bo")])
    pol = policy(route("vip", "criteria", reps=["ana", "bo"]))

    owners = set()
    for i in range(5):
        decision = decide(lead(external_id=str(i)), snap, pol)
        snap.record(decision.route, decision.owner, snap.now)
        owners.add(decision.owner)

    assert owners == {"ana"}


def test_criteria_with_nobody_left_goes_to_manual_with_the_reason() -> None:
    snap = snapshot([rep("bo", active=False)])

    decision = decide(lead(), snap, policy(route("vip", "criteria", rep="bo")))

    assert decision.status is Status.MANUAL
    assert decision.owner is None
    assert "bo (inactive)" in decision.reason


def test_criteria_explains_why_other_eligible_reps_did_not_get_it() -> None:
    snap = snapshot([rep("ana", out_of_office=_AWAY), rep("bo"), rep("cy")])

    decision = decide(lead(), snap, policy(route("vip", "criteria", reps=["ana", "bo", "cy"])))

    assert [(c.rep, c.excluded or c.note) for c in decision.trials[0].candidates] == [
        ("ana", "out of office 2026-11-20..2026-11-27"),
        ("bo", "first eligible rep the route lists"),
        ("cy", "eligible, but listed after bo"),
    ]
