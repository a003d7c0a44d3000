"""decide(): screening, route order, fall-through, the decision trace, experiments."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
from tests.builders import NOON, condition, lead, policy, rep, route, snapshot

from leadrelay.domain import (
    Account,
    Candidate,
    Decision,
    RouteTrial,
    Screening,
    ScreeningStep,
    Status,
)
from leadrelay.pipeline.decide import EXISTING_ACCOUNT_ROUTE, decide, split_bucket
from leadrelay.policy.compiled import CompiledExperiment

_SCREENING = {
    "reject": (("not-served", condition('country not in ["US", "CA", "GB"]')),),
    "score": (
        ("big", condition("employees >= 1000"), 40.0),
        ("referral", condition('source == "referral"'), 20.0),
        ("airline", condition('industry == "airline"'), 5.0),
    ),
    "value_slabs": (("high", 50_000.0), ("medium", 10_000.0)),
    "priority": (
        ("high", condition('score >= 60 or value_slab == "high"')),
        ("medium", condition("score >= 30")),
    ),
}


def _screened(**fields) -> Decision:
    fields.setdefault("country", "US")
    pol = policy(route("all", reps=["ana"]), **_SCREENING)
    return decide(lead(**fields), snapshot([rep("ana")]), pol)


def test_screening_reject_is_screened_out_with_the_rule_name() -> None:
    decision = _screened(country="FR")

    assert decision.status is Status.SCREENED_OUT
    assert decision.reason == "screened out by rule 'not-served'"
    assert decision.screening.rejected_by == "not-served"
    assert decision.owner is None
    assert decision.trials == ()


def test_screening_score_points_add_up() -> None:
    decision = _screened(employees=5000, source="referral", industry="retail")

    assert decision.screening.score == 60
    steps = {s.rule: s for s in decision.screening.steps if s.kind == "score"}
    assert (steps["big"].matched, steps["big"].points) == (True, 40)
    assert (steps["airline"].matched, steps["airline"].points) == (False, 0)


@pytest.mark.parametrize(
    ("value", "slab"),
    [(75_000, "high"), (50_000, "high"), (49_999, "medium"), (10_000, "medium"), (500, "low")],
)
def test_value_slabs_take_the_highest_threshold_reached(value: float, slab: str) -> None:
    assert _screened(value=value).screening.value_slab == slab


def test_value_slab_of_a_lead_without_value_is_low() -> None:
    decision = _screened()

    assert decision.screening.value_slab == "low"
    (step,) = [s for s in decision.screening.steps if s.kind == "slab"]
    assert step.note == "no value given"


@pytest.mark.parametrize(
    ("fields", "priority"),
    [
        ({"employees": 5000, "source": "referral"}, "high"),
        ({"value": 80_000}, "high"),
        ({"employees": 5000}, "medium"),
        ({"source": "referral"}, "low"),
    ],
)
def test_priority_is_the_first_condition_that_holds(fields: dict, priority: str) -> None:
    assert _screened(**fields).screening.priority == priority


def test_routes_can_use_screening_results() -> None:
    pol = policy(
        route("hot", when='priority == "high"', reps=["ana"]),
        route("rest", reps=["bo"]),
        **_SCREENING,
    )
    snap = snapshot([rep("ana"), rep("bo")])

    assert decide(lead(country="US", value=90_000), snap, pol).route == "hot"
    assert decide(lead(country="US", value=90), snap, pol).route == "rest"


def test_condition_on_an_empty_field_could_not_be_evaluated_and_route_does_not_match() -> None:
    pol = policy(
        route("big", when="value >= 50000", reps=["ana"]),
        route("rest", reps=["bo"]),
        **_SCREENING,
    )

    decision = decide(lead(country="US"), snapshot([rep("ana"), rep("bo")]), pol)

    assert decision.route == "rest"
    big = decision.trials[0]
    assert (big.route, big.matched) == ("big", False)
    assert big.outcome == "condition could not be evaluated: a field it uses is empty"
    employees = next(s for s in decision.screening.steps if s.rule == "big")
    assert (employees.matched, employees.note) == (
        False,
        "could not evaluate: a field it uses is empty",
    )


def test_first_route_whose_condition_holds_decides() -> None:
    pol = policy(
        route("airlines", when='industry == "airline"', reps=["ana"]),
        route("also-airlines", when='industry == "airline"', reps=["bo"]),
        route("rest", reps=["bo"]),
    )

    decision = decide(lead(industry="airline"), snapshot([rep("ana"), rep("bo")]), pol)

    assert (decision.route, decision.owner, decision.strategy) == ("airlines", "ana", "round_robin")
    assert len(decision.trials) == 1


def test_lead_nobody_can_take_falls_to_next_route_and_finally_manual() -> None:
    snap = snapshot([rep("ana", active=False), rep("bo", caps={"per_day": 0})])
    pol = policy(
        route("first", reps=["ana", "bo"]),
        route("second", "least_loaded", reps=["bo"]),
        route("third", "team", team="nobody"),
    )

    decision = decide(lead(), snap, pol)

    assert decision.status is Status.MANUAL
    assert decision.owner is None
    assert decision.route is None
    assert [t.route for t in decision.trials] == ["first", "second", "third"]
    assert decision.reason == (
        "manual: no route could place it (first: no eligible rep: all 2 candidate(s) excluded;"
        " second: no eligible rep: all 1 candidate(s) excluded; third: team nobody does not exist)"
    )


def test_decision_lists_every_candidate_of_a_tried_route() -> None:
    snap = snapshot(
        [
            rep("ana", caps={"per_day": 1}),
            rep("bo", active=False),
            rep("cy"),
            rep("dee", timezone="Asia/Tokyo", working_hours="mon-fri 09:00-17:00"),
            rep("eve"),
        ]
    )
    snap.record("r", "ana", NOON)

    decision = decide(
        lead(), snap, policy(route("r", reps=["ana", "bo", "ghost", "cy", "dee", "eve"]))
    )

    (trial,) = decision.trials
    assert decision.chosen_trial == trial
    assert [(c.rep, c.excluded) for c in trial.candidates] == [
        ("ana", "at daily cap (1/1)"),
        ("bo", "inactive"),
        ("ghost", "not a known rep"),
        ("cy", None),
        ("dee", "outside working hours (mon-fri 09:00-17:00 Asia/Tokyo; Wed 23:00 there)"),
        ("eve", None),
    ]
    assert {c.rep: c.score for c in trial.candidates if c.excluded is None} == {"cy": 0, "eve": 0}
    assert decision.owner == "cy"


def test_existing_account_owner_goes_first_when_the_policy_says_so() -> None:
    acme = Account(id="acc-1", name="Acme", domain="acme.com", owner="ana")
    snap = snapshot([rep("ana"), rep("bo")], accounts=[acme])
    rest = route("rest", reps=["bo"])

    first = decide(lead(email="jo@acme.com"), snap, policy(rest, existing_account_owner=True))
    without = decide(lead(email="jo@acme.com"), snap, policy(rest))
    stranger = decide(lead(email="jo@else.com"), snap, policy(rest, existing_account_owner=True))

    assert (first.route, first.strategy, first.owner) == (
        EXISTING_ACCOUNT_ROUTE,
        "account_owner",
        "ana",
    )
    assert first.account == "acc-1"
    assert (without.route, without.owner, without.account) == ("rest", "bo", "acc-1")
    assert (stranger.route, stranger.owner) == ("rest", "bo")
    assert [t.route for t in stranger.trials] == ["rest"]


def test_existing_account_owner_who_is_away_falls_to_the_routes() -> None:
    acme = Account(id="acc-1", name="Acme", domain="acme.com", owner="ana")
    snap = snapshot([rep("ana", active=False), rep("bo")], accounts=[acme])

    decision = decide(
        lead(email="jo@acme.com"),
        snap,
        policy(route("rest", reps=["bo"]), existing_account_owner=True),
    )

    assert (decision.route, decision.owner) == ("rest", "bo")
    assert decision.trials[0].route == EXISTING_ACCOUNT_ROUTE
    assert decision.trials[0].outcome == (
        "account owner ana may not take it: inactive: all 1 candidate(s) excluded"
    )


def _experiment(share: float, when: str | None = None) -> CompiledExperiment:
    return CompiledExperiment(
        name="pilot",
        share=share,
        when=condition(when) if when else None,
        route=route("pilot-route", reps=["challenger"]),
    )


def test_experiment_split_is_sticky_and_near_the_declared_share() -> None:
    snap = snapshot([rep("challenger"), rep("control")])
    pol = policy(route("rest", reps=["control"]), experiments=(_experiment(0.2),))

    arms = [decide(lead(external_id=f"L{i}"), snap, pol) for i in range(10_000)]

    challengers = [d for d in arms if d.arm == "challenger"]
    assert len(challengers) / len(arms) == pytest.approx(0.2, abs=0.02)  # 5 standard deviations
    assert all(d.experiment == "pilot" for d in arms)
    assert {d.owner for d in challengers} == {"challenger"}
    assert {d.owner for d in arms if d.arm == "control"} == {"control"}
    again = snapshot([rep("challenger"), rep("control")], now=NOON + timedelta(days=3))
    for d in arms[:200]:
        assert decide(lead(external_id=d.lead_key), again, pol).arm == d.arm


def test_experiment_split_depends_on_the_experiment_name() -> None:
    keys = [f"L{i}" for i in range(1000)]

    a = {k for k in keys if split_bucket(k, "one") < 0.5}
    b = {k for k in keys if split_bucket(k, "two") < 0.5}

    assert a != b


def test_experiment_only_takes_leads_its_condition_selects() -> None:
    snap = snapshot([rep("challenger"), rep("control")])
    pol = policy(
        route("rest", reps=["control"]),
        experiments=(_experiment(0.999999, when='industry == "airline"'),),
    )

    outside = decide(lead(industry="retail"), snap, pol)
    inside = decide(lead(industry="airline"), snap, pol)

    assert (outside.experiment, outside.arm, outside.owner) == (None, None, "control")
    assert (inside.experiment, inside.arm, inside.owner) == ("pilot", "challenger", "challenger")


def test_challenger_route_that_cannot_place_the_lead_falls_to_the_policy_routes() -> None:
    snap = snapshot([rep("challenger", active=False), rep("control")])
    pol = policy(route("rest", reps=["control"]), experiments=(_experiment(0.999999),))

    decision = decide(lead(), snap, pol)

    assert decision.arm == "challenger"
    assert (decision.route, decision.owner) == ("rest", "control")


def test_decision_records_the_policy_revision() -> None:
    pol = policy(route("r", reps=["ana"])).with_revision(7)

    assert decide(lead(), snapshot([rep("ana")]), pol).policy_version == 7


def test_decide_does_not_change_the_snapshot() -> None:
    snap = snapshot([rep("ana"), rep("bo")])
    snap.record("r", "ana", NOON)
    before = copy.deepcopy(snap)

    decide(lead(), snap, policy(route("r", reps=["ana", "bo"])))

    assert snap == before


def test_decision_to_dict_from_dict_round_trips_exactly() -> None:
    acme = Account(id="acc-1", name="Acme", domain="acme.com", owner="ana")
    snap = snapshot([rep("ana", active=False), rep("bo"), rep("cy")], accounts=[acme])
    pol = policy(
        route("territory", "territory", reps=["ana", "bo", "cy"]),
        existing_account_owner=True,
        experiments=(_experiment(0.5),),
        **_SCREENING,
    ).with_revision(3)
    decided = decide(
        lead(email="jo@acme.com", country="US", employees=2000, value=12_000), snap, pol
    )
    handmade = Decision(
        lead_key="k",
        status=Status.DUPLICATE,
        reason="duplicate of lead 12",
        decided_at=NOON,
        policy_version=1,
        duplicate_of=12,
        screening=Screening(score=1.5, steps=(ScreeningStep("r", "score", True, 1.5, "n"),)),
        trials=(
            RouteTrial(
                "best",
                True,
                "picked",
                "best_match",
                (Candidate("ana", score=0.75, factors={"expertise": 0.5, "load": 0.25}),),
            ),
        ),
    )

    for decision in (decided, handmade):
        for data in (decision.to_dict(), decision.to_stored()):
            assert Decision.from_dict(data) == decision
            assert Decision.from_dict(json.loads(json.dumps(data))) == decision
    assert decided.trials[0].route == EXISTING_ACCOUNT_ROUTE
    assert decided.account_match == "email domain acme.com"


def test_the_stored_form_writes_each_exclusion_once_and_leaves_out_defaults() -> None:
    hours = "outside working hours (mon-fri 09:00-17:00 UTC; Sat 12:00 there)"
    trial = RouteTrial(
        "inbound",
        True,
        "assigned",
        "round_robin",
        (
            Candidate("ana", excluded=hours),
            Candidate("bo", excluded="at daily cap (3/3)"),
            Candidate("cy", excluded=hours),
            Candidate("di", score=2.0, note="next in rotation"),
            Candidate("ed", excluded=hours, note="was away"),  # more than a reason: written out
        ),
    )
    decision = Decision(
        lead_key="k", status=Status.ASSIGNED, reason="round robin", decided_at=NOON,
        policy_version=2, owner="di", route="inbound", strategy="round_robin",
        trials=(RouteTrial("vip", False, "condition does not hold"), trial),
    )  # fmt: skip

    stored = decision.to_stored()

    assert stored["reasons"] == [hours, "at daily cap (3/3)"]
    assert stored["trials"] == [
        {"route": "vip", "matched": False, "outcome": "condition does not hold"},
        {
            "route": "inbound", "matched": True, "outcome": "assigned", "strategy": "round_robin",
            "candidates": [
                ["ana", 0], ["bo", 1], ["cy", 0],
                {"rep": "di", "score": 2.0, "note": "next in rotation"},
                {"rep": "ed", "excluded": hours, "note": "was away"},
            ],
        },
    ]  # fmt: skip
    assert "team" not in stored and "duplicate_of" not in stored
    assert stored["owner"] == "di"
    assert Decision.from_dict(json.loads(json.dumps(stored))) == decision
    assert len(json.dumps(stored)) < 0.7 * len(json.dumps(decision.to_dict()))
