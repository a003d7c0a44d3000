"""Round robin, and the eligibility filters every rep-picking strategy shares."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.builders import NOON, lead, policy, rep, route, route_in_order, snapshot

from leadrelay.domain import Caps, DateRange, Status
from leadrelay.pipeline.decide import decide


def _leads(n: int, start: datetime = NOON, prefix: str = "L") -> list:
    return [
        lead(external_id=f"{prefix}{i}", received_at=start + timedelta(minutes=i)) for i in range(n)
    ]


def _candidate(decision, rep_id: str):
    (candidate,) = [c for c in decision.trials[0].candidates if c.rep == rep_id]
    return candidate


def test_round_robin_rotates_least_recently_given_first() -> None:
    snap = snapshot([rep("ana"), rep("bo"), rep("chen")])
    pol = policy(route("all", reps=["ana", "bo", "chen"]))

    owners = [d.owner for d in route_in_order(_leads(7), snap, pol)]

    assert owners == ["ana", "bo", "chen", "ana", "bo", "chen", "ana"]


def test_round_robin_ties_go_to_route_order() -> None:
    snap = snapshot([rep("ana"), rep("bo"), rep("chen")])
    pol = policy(route("all", reps=["chen", "ana", "bo"]))

    owners = [d.owner for d in route_in_order(_leads(3), snap, pol)]

    assert owners == ["chen", "ana", "bo"]


def test_round_robin_rotation_is_per_route() -> None:
    snap = snapshot([rep("ana"), rep("bo")])
    pol = policy(
        route("airlines", when='industry == "airline"', reps=["ana", "bo"]),
        route("rest", reps=["ana", "bo"]),
    )
    leads = [
        lead(external_id="1", industry="airline"),
        lead(external_id="2", industry="retail"),
        lead(external_id="3", industry="airline"),
    ]

    owners = [(d.route, d.owner) for d in route_in_order(leads, snap, pol)]

    assert owners == [("airlines", "ana"), ("rest", "ana"), ("airlines", "bo")]


def test_round_robin_skips_rep_at_daily_cap() -> None:
    snap = snapshot([rep("ana", caps={"per_day": 1}), rep("bo")])
    snap.record("all", "ana", NOON - timedelta(hours=1))
    pol = policy(route("all", reps=["ana", "bo"]))

    first, second = route_in_order(_leads(2), snap, pol)

    assert (first.owner, second.owner) == ("bo", "bo")
    assert _candidate(first, "ana").excluded == "at daily cap (1/1)"


def test_round_robin_skips_rep_at_weekly_and_monthly_caps() -> None:
    snap = snapshot([rep("ana", caps={"per_week": 2}), rep("bo", caps={"per_month": 1}), rep("cy")])
    snap.record("all", "ana", NOON - timedelta(days=1))
    snap.record("all", "ana", NOON - timedelta(days=2))
    snap.record("all", "bo", NOON - timedelta(days=20))
    pol = policy(route("all", reps=["ana", "bo", "cy"]))

    decision = decide(lead(), snap, pol)

    assert decision.owner == "cy"
    assert _candidate(decision, "ana").excluded == "at weekly cap (2/2)"
    assert _candidate(decision, "bo").excluded == "at monthly cap (1/1)"


def test_policy_default_caps_apply_to_reps_without_their_own() -> None:
    snap = snapshot([rep("ana"), rep("bo", caps={"per_day": 5})])
    snap.record("all", "ana", NOON)
    snap.record("all", "bo", NOON)
    pol = policy(route("all", reps=["ana", "bo"]), default_caps=Caps(per_day=1))

    decision = decide(lead(), snap, pol)

    assert decision.owner == "bo"
    assert _candidate(decision, "ana").excluded == "at daily cap (1/1)"


def test_a_reps_own_cap_overrides_the_default_for_that_period_only() -> None:
    snap = snapshot([rep("ana", caps=Caps(per_day=5)), rep("bo")])
    for _ in range(3):
        snap.record("all", "ana", NOON)
        snap.record("all", "bo", NOON)
    pol = policy(route("all", reps=["ana", "bo"]), default_caps=Caps(per_day=1, per_week=3))

    decision = decide(lead(), snap, pol)

    assert decision.status is Status.MANUAL
    excluded = {c.rep: c.excluded for c in decision.trials[0].candidates}
    assert excluded == {"ana": "at weekly cap (3/3)", "bo": "at daily cap (3/1)"}


def test_caps_are_counted_in_the_reps_own_time_zone() -> None:
    # 14:00 UTC on Wed 25 Nov is 23:00 in Tokyo; 23:30 UTC is already Thu 26 Nov 08:30 there.
    tokyo = rep("kenji", timezone="Asia/Tokyo", caps={"per_day": 1})
    london = rep("liz", timezone="UTC", caps={"per_day": 1})
    snap = snapshot([tokyo, london])
    snap.record("r", "kenji", NOON)
    snap.record("r", "liz", NOON)
    later = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    snap.now = later

    decision = decide(lead(received_at=later), snap, policy(route("r", reps=["liz", "kenji"])))

    assert decision.owner == "kenji"
    assert _candidate(decision, "liz").excluded == "at daily cap (1/1)"


def test_off_hours_rep_not_eligible_unless_route_allows() -> None:
    # 20:00 UTC on a Wednesday is 21:00 in Berlin: after the rep's day ends.
    evening = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
    berlin = rep("bea", timezone="Europe/Berlin", working_hours="mon-fri 09:00-17:00")
    snap = snapshot([berlin], now=evening)
    one = lead(received_at=evening)

    strict = decide(one, snap, policy(route("r", reps=["bea"])))
    lenient = decide(one, snap, policy(route("r", reps=["bea"], off_hours=True)))

    assert strict.status is Status.MANUAL
    assert _candidate(strict, "bea").excluded == (
        "outside working hours (mon-fri 09:00-17:00 Europe/Berlin; Wed 21:00 there)"
    )
    assert lenient.owner == "bea"


def test_working_hours_are_read_in_the_reps_time_zone() -> None:
    # 14:00 UTC is 09:00 in New York (working) and 23:00 in Tokyo (not).
    ny = rep("nia", timezone="America/New_York", working_hours="mon-fri 09:00-17:00")
    tokyo = rep("kenji", timezone="Asia/Tokyo", working_hours="mon-fri 09:00-17:00")
    snap = snapshot([tokyo, ny])

    decision = decide(lead(), snap, policy(route("r", reps=["kenji", "nia"])))

    assert decision.owner == "nia"
    assert _candidate(decision, "kenji").excluded.startswith("outside working hours")


def test_out_of_office_rep_excluded_with_reason() -> None:
    away = rep("ana", out_of_office=[DateRange.parse("2026-11-24..2026-11-26")])
    snap = snapshot([away, rep("bo")])

    decision = decide(lead(), snap, policy(route("r", reps=["ana", "bo"])))

    assert decision.owner == "bo"
    assert _candidate(decision, "ana").excluded == "out of office 2026-11-24..2026-11-26"


def test_out_of_office_day_is_the_reps_local_day() -> None:
    # 23:30 UTC on 25 Nov is 26 Nov in Tokyo: a rep away on the 26th is away.
    later = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    away = rep("kenji", timezone="Asia/Tokyo", out_of_office=[DateRange.parse("2026-11-26")])
    snap = snapshot([away, rep("bo")], now=later)

    decision = decide(lead(received_at=later), snap, policy(route("r", reps=["kenji", "bo"])))

    assert decision.owner == "bo"
    assert _candidate(decision, "kenji").excluded == "out of office 2026-11-26..2026-11-26"


def test_inactive_rep_excluded() -> None:
    snap = snapshot([rep("ana", active=False), rep("bo")])

    decision = decide(lead(), snap, policy(route("r", reps=["ana", "bo"])))

    assert decision.owner == "bo"
    assert _candidate(decision, "ana").excluded == "inactive"


def test_unknown_rep_named_by_a_route_is_excluded() -> None:
    snap = snapshot([rep("bo")])

    decision = decide(lead(), snap, policy(route("r", reps=["ghost", "bo"])))

    assert decision.owner == "bo"
    assert _candidate(decision, "ghost").excluded == "not a known rep"


def test_round_robin_skips_an_ineligible_rep_without_losing_its_turn() -> None:
    ana = rep("ana", out_of_office=[DateRange.parse("2026-11-25")])
    snap = snapshot([ana, rep("bo"), rep("cy")])
    pol = policy(route("r", reps=["ana", "bo", "cy"]))
    route_in_order(_leads(2), snap, pol)  # bo, cy while ana is away

    snap.reps = {**snap.reps, "ana": rep("ana")}
    back = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    owners = [d.owner for d in route_in_order(_leads(3, back, "M"), snap, pol)]

    assert owners == ["ana", "bo", "cy"]


def test_round_robin_new_rep_joining_does_not_reset_others() -> None:
    snap = snapshot([rep("ana"), rep("bo"), rep("cy"), rep("dee")])
    before = policy(route("r", reps=["ana", "bo", "cy"]))
    route_in_order(_leads(4), snap, before)  # ana, bo, cy, ana

    after = policy(route("r", reps=["ana", "bo", "cy", "dee"]))
    owners = [d.owner for d in route_in_order(_leads(8, NOON + timedelta(hours=1)), snap, after)]

    # The newcomer takes the next lead once, then joins the rotation; the others keep their order.
    assert owners == ["dee", "bo", "cy", "ana", "dee", "bo", "cy", "ana"]


def test_round_robin_passes_when_nobody_is_eligible() -> None:
    snap = snapshot([rep("ana", active=False)])

    decision = decide(lead(), snap, policy(route("r", reps=["ana"])))

    assert decision.status is Status.MANUAL
    assert decision.trials[0].outcome == "no eligible rep: all 1 candidate(s) excluded"


def test_round_robin_explains_each_reps_place_in_the_rotation() -> None:
    snap = snapshot([rep("ana"), rep("bo")])
    pol = policy(route("r", reps=["ana", "bo"]))
    route_in_order(_leads(3), snap, pol)  # ana, bo, ana

    decision = decide(lead(external_id="next", received_at=NOON + timedelta(hours=1)), snap, pol)

    assert decision.owner == "bo"
    assert decision.reason == (
        "round robin: bo was next in rotation (1 lead(s) from this route, none in the last 1)"
    )
    ana, bo = decision.trials[0].candidates
    assert (ana.score, ana.note) == (2.0, "2 lead(s) from this route, including the latest")
    assert bo.score == 1.0


def test_random_round_robin_is_seeded_by_lead() -> None:
    reps = [rep(r) for r in ("ana", "bo", "cy", "dee", "eve")]
    pol = policy(route("r", reps=[r.id for r in reps], params={"order": "random"}))

    def first_owner(key: str) -> str | None:
        return decide(lead(external_id=key), snapshot(reps), pol).owner

    assert [first_owner(f"L{i}") for i in range(20)] == [first_owner(f"L{i}") for i in range(20)]
    assert len({first_owner(f"L{i}") for i in range(40)}) > 1


def test_random_round_robin_draws_only_among_the_fewest_given() -> None:
    snap = snapshot([rep("ana"), rep("bo"), rep("cy")])
    snap.record("r", "ana", NOON)
    snap.record("r", "bo", NOON)
    pol = policy(route("r", reps=["ana", "bo", "cy"], params={"order": "random"}))

    owners = {decide(lead(external_id=f"L{i}"), snap, pol).owner for i in range(30)}

    assert owners == {"cy"}


def test_random_round_robin_keeps_counts_within_one() -> None:
    snap = snapshot([rep(r) for r in ("ana", "bo", "cy", "dee")])
    pol = policy(route("r", reps=["ana", "bo", "cy", "dee"], params={"order": "random"}))

    decided = route_in_order(_leads(41), snap, pol)

    counts = Counter(d.owner for d in decided)
    assert max(counts.values()) - min(counts.values()) <= 1
    assert [d.owner for d in decided[:4]] != ["ana", "bo", "cy", "dee"]
