"""Strategies that hold a lead rather than give it to one rep: team, pool (claim), manual."""

from __future__ import annotations

from tests.builders import lead, policy, rep, route, snapshot

from leadrelay.domain import Status, Team
from leadrelay.pipeline.decide import decide

EMEA = Team(id="emea", name="EMEA", owner="mo")


def _snap(*reps, teams=(EMEA,)):
    members = reps or [rep("mo", teams=["emea"]), rep("ana", teams=["emea"]), rep("bo")]
    return snapshot(members, teams=teams)


def test_team_owner_accountable() -> None:
    decision = decide(lead(), _snap(), policy(route("emea", "team", team="emea")))

    assert decision.status is Status.TEAM
    assert (decision.team, decision.owner) == ("emea", "mo")
    assert decision.reason == (
        "team: held by team emea; its owner mo is accountable until a member takes it"
    )
    assert [c.rep for c in decision.trials[0].candidates] == ["mo", "ana"]


def test_team_holds_the_lead_even_when_members_are_away() -> None:
    snap = _snap(rep("mo", teams=["emea"]), rep("ana", teams=["emea"], active=False))

    decision = decide(lead(), snap, policy(route("emea", "team", team="emea")))

    assert decision.status is Status.TEAM


def test_team_without_an_active_owner_falls_through() -> None:
    snap = _snap(rep("mo", teams=["emea"], active=False), rep("ana", teams=["emea"]))
    pol = policy(route("emea", "team", team="emea"), route("rest", reps=["ana"]))

    decision = decide(lead(), snap, pol)

    assert decision.owner == "ana"
    assert decision.trials[0].outcome == "team emea has no active owner to be accountable"


def test_team_that_does_not_exist_falls_through() -> None:
    pol = policy(route("apac", "team", team="apac"), route("rest", reps=["ana"]))

    decision = decide(lead(), _snap(), pol)

    assert decision.route == "rest"
    assert decision.trials[0].outcome == "team apac does not exist"


def test_pool_named_owner_is_accountable_until_claimed() -> None:
    pol = policy(route("inbound", "claim", pool="inbound", owner="bo"))

    decision = decide(lead(), _snap(), pol)

    assert decision.status is Status.POOL
    assert (decision.pool, decision.owner, decision.team) == ("inbound", "bo", None)
    assert decision.reason == (
        "pool: open in pool inbound for its reps to claim; bo is accountable until then"
    )


def test_pool_of_a_team_makes_the_team_owner_accountable() -> None:
    pol = policy(route("inbound", "claim", team="emea", pool="emea-inbound"))

    decision = decide(lead(), _snap(), pol)

    assert decision.status is Status.POOL
    assert (decision.pool, decision.team, decision.owner) == ("emea-inbound", "emea", "mo")


def test_pool_is_open_even_when_no_member_is_working() -> None:
    snap = _snap(rep("mo", teams=["emea"], working_hours="sat 09:00-10:00"))
    pol = policy(route("inbound", "claim", team="emea", pool="emea-inbound"))

    assert decide(lead(), snap, pol).status is Status.POOL


def test_pool_route_without_a_pool_falls_through() -> None:
    pol = policy(route("odd", "claim", team="emea"), route("rest", reps=["ana"]))

    decision = decide(lead(), _snap(), pol)

    assert decision.route == "rest"
    assert decision.trials[0].outcome == "route names no pool"


def test_manual_route_queues_the_lead_for_a_manager_with_no_owner() -> None:
    pol = policy(route("review", "manual", when='source == "partner"', manual=True))

    decision = decide(lead(source="partner"), _snap(), pol)

    assert decision.status is Status.MANUAL
    assert (decision.owner, decision.team, decision.pool) == (None, None, None)
    assert (decision.route, decision.strategy) == ("review", "manual")
    assert decision.reason == "manual: route 'review' queues these for a manager"


def test_manual_when_no_route_holds_says_so() -> None:
    pol = policy(route("review", "manual", when='source == "partner"', manual=True))

    decision = decide(lead(source="web"), _snap(), pol)

    assert decision.status is Status.MANUAL
    assert decision.route is None
    assert decision.reason == "manual: no route's condition holds for this lead"


def test_pool_whose_owner_is_not_an_active_rep_falls_through() -> None:
    # Regression: the pool made an inactive (or unknown) team owner accountable; the team
    # strategy already refused that.
    snap = _snap(rep("mo", teams=["emea"], active=False), rep("ana", teams=["emea"]))
    pol = policy(
        route("inbound", "claim", team="emea", pool="emea-inbound"),
        route("ghosts", "claim", pool="inbound", owner="ghost"),
        route("rest", reps=["ana"]),
    )

    decision = decide(lead(), snap, pol)

    assert decision.owner == "ana"
    assert [t.outcome for t in decision.trials[:2]] == [
        "pool emea-inbound's owner mo is not an active rep to be accountable",
        "pool inbound's owner ghost is not an active rep to be accountable",
    ]


def test_pool_without_any_owner_is_open_with_nobody_accountable() -> None:
    pol = policy(route("inbound", "claim", pool="inbound"))

    decision = decide(lead(), _snap(), pol)

    assert (decision.status, decision.owner) == (Status.POOL, None)
    assert decision.reason == "pool: open in pool inbound for its reps to claim"
