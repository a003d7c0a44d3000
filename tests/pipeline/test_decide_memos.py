"""What decide remembers between leads (rep profiles, rosters, local minutes) changes no answer.

The reference is the same decide with nothing remembered: a copy of the policy for every lead
gets a fresh plan, so its rosters and lineups are built from scratch each time.
"""

from __future__ import annotations

import dataclasses
import pickle
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from tests.builders import lead, policy, rep, route, snapshot

from leadrelay.domain import Caps, DateRange, Lead, Rep, Snapshot, Status
from leadrelay.domain.clock import local_minute, local_view, period_starts, steady_until
from leadrelay.domain.decision import NO_FACTORS, Candidate, Decision
from leadrelay.domain.rep import WorkingHours
from leadrelay.pipeline.decide import decide
from leadrelay.pipeline.screen import screen
from leadrelay.policy.compiled import CompiledPolicy

ZONES = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "Australia/Lord_Howe",  # half-hour daylight saving
    "America/St_Johns",
    "Africa/Monrovia",  # -00:44:30 until 1972: an offset of odd seconds
    "Pacific/Apia",  # skipped a whole day in 2011
]


def test_local_minute_agrees_with_local_view_everywhere() -> None:
    rng = random.Random(7)
    moments = [
        datetime(1890, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(170 * 365 * 86400))
        for _ in range(3000)
    ]
    # every minute around this year's clock changes in Europe and the US
    for change in (datetime(2026, 3, 8, 9, tzinfo=UTC), datetime(2026, 3, 29, 0, tzinfo=UTC)):
        moments += [change + timedelta(seconds=s) for s in range(-5400, 5400, 59)]
    moments.append(datetime(2026, 11, 1, 5, 59, 59, 999999, tzinfo=UTC))
    for moment in moments:
        for zone in ZONES:
            local, starts = local_view(moment, zone)
            here = local_minute(moment, zone)
            assert here.today == starts["day"] == local.date()
            assert (here.week_start, here.month_start) == (starts["week"], starts["month"])
            assert here.minute_of_week == local.weekday() * 1440 + local.hour * 60 + local.minute
            assert period_starts(moment, zone) == starts


def test_local_minute_of_a_naive_moment_reads_it_as_local_view_does() -> None:
    moment = datetime(2026, 7, 1, 12, 30)
    local, starts = local_view(moment, "Europe/London")
    here = local_minute(moment, "Europe/London")
    assert here.minute_of_week == local.weekday() * 1440 + local.hour * 60 + local.minute
    assert here.today == starts["day"]


def test_steady_until_stops_where_the_offset_changes() -> None:
    # Europe/London goes from GMT to BST at 2026-03-29 01:00 UTC
    change = int(datetime(2026, 3, 29, 1, tzinfo=UTC).timestamp()) // 60
    assert steady_until("Europe/London", change - 90, change + 600) == change
    assert steady_until("Europe/London", change, change + 600) == change + 600
    assert steady_until("UTC", change - 90, change + 600) == change + 600
    # an offset of odd seconds: local minutes do not follow UTC's at all
    old = int(datetime(1950, 6, 1, tzinfo=UTC).timestamp()) // 60
    assert steady_until("Africa/Monrovia", old, old + 600) == old


def test_working_hours_table_matches_covers_minute() -> None:
    for text in ("mon-fri 09:00-17:00", "sun 22:00-24:00; mon 00:00-02:00", "fri-mon 08:30-18:15"):
        hours = WorkingHours.parse(text)
        table = hours.minute_table()
        assert table is not None
        assert [bool(b) for b in table] == [hours.covers_minute(m) for m in range(7 * 1440)]
    assert WorkingHours.parse("").minute_table() is None


def _fresh(pol: CompiledPolicy) -> Callable[[Lead, Snapshot], Decision]:
    """decide with nothing remembered: a new policy object, so a new plan, every call."""
    return lambda one, snap: decide(one, snap, dataclasses.replace(pol))


def _remembering(pol: CompiledPolicy) -> Callable[[Lead, Snapshot], Decision]:
    return lambda one, snap: decide(one, snap, pol)


Meddle = Callable[[int, Snapshot], None]


def _run(
    decider: Callable[[Lead, Snapshot], Decision],
    leads: list[Lead],
    snap: Snapshot,
    meddle: Meddle,
) -> list[dict[str, object]]:
    out = []
    for index, one in enumerate(leads):
        snap.now = one.received_at
        meddle(index, snap)
        decision = decider(one, snap)
        if decision.status is Status.ASSIGNED:
            snap.record(decision.route, decision.owner, one.received_at)
        out.append(decision.to_dict())
    return out


def _same_both_ways(
    pol: CompiledPolicy, make: Callable[[], Snapshot], leads: list[Lead], meddle: Meddle
) -> list[dict[str, object]]:
    remembered = _run(_remembering(pol), leads, make(), meddle)
    assert remembered == _run(_fresh(pol), leads, make(), meddle)
    return remembered


def _team() -> list[Rep]:
    return [
        rep("ldn", teams=["t"], timezone="Europe/London", working_hours="mon-fri 09:00-17:00",
            caps={"per_day": 3}),
        rep("nyc", teams=["t"], timezone="America/New_York", working_hours="mon-fri 09:00-17:00",
            out_of_office=[DateRange.parse("2026-03-10..2026-03-11")]),
        rep("la", teams=["t"], timezone="America/Los_Angeles", working_hours="mon-fri 08:00-16:00",
            caps={"per_day": 2, "per_week": 5}),
        rep("ktm", teams=["t"], timezone="Asia/Kathmandu", working_hours="sun-thu 10:00-18:00"),
        rep("off", teams=["t"], active=False),
    ]  # fmt: skip


def _policy() -> CompiledPolicy:
    return policy(
        route("in-hours", team="t"),
        route("backup", "least_loaded", team="t"),
        route("anyone", teams=["t"], off_hours=True),
        default_caps=Caps(per_day=4, per_month=30),
    )


def _minutes(start: datetime, count: int, step: timedelta) -> list[Lead]:
    return [lead(external_id=f"L{i}", received_at=start + i * step) for i in range(count)]


def test_rosters_follow_hours_midnights_and_clock_changes() -> None:
    # every 7 minutes over four days that hold the US clock change and an absence starting
    leads = _minutes(datetime(2026, 3, 7, 0, 3, tzinfo=UTC), 4 * 24 * 60 // 7, timedelta(minutes=7))
    decided = _same_both_ways(_policy(), lambda: snapshot(_team()), leads, lambda i, s: None)
    reasons = {c["excluded"] for d in decided for t in d["trials"] for c in t["candidates"]}
    assert any(str(r).startswith("outside working hours") for r in reasons)
    assert any(str(r).startswith("out of office") for r in reasons)
    assert any(str(r).startswith("at daily cap") for r in reasons)


def test_leads_in_the_same_minute_and_out_of_order_agree() -> None:
    base = datetime(2026, 3, 9, 14, 0, 5, tzinfo=UTC)
    offsets = [0, 10, 50, 59, 61, 5, 3600 * 9, 30, -3600, 86400 * 3 + 7]
    leads = [
        lead(external_id=f"L{i}", received_at=base + timedelta(seconds=s))
        for i, s in enumerate(offsets * 3)
    ]
    _same_both_ways(_policy(), lambda: snapshot(_team()), leads, lambda i, s: None)


class _EditCounters:
    """Set some rep's counters to random values before each lead (the same ones every run)."""

    def __init__(self) -> None:
        self.rng = random.Random(3)

    def __call__(self, index: int, snap: Snapshot) -> None:
        rng = self.rng
        member = rng.choice(_team())
        for period, start in period_starts(snap.now, member.timezone).items():
            snap.counters[(member.id, period, start)] = rng.choice([0, 1, 2, 3, 4, 5, 30])
        if index % 5 == 0:
            snap.counters.clear()


def test_counters_edited_by_hand_are_read_at_every_lead() -> None:
    leads = _minutes(datetime(2026, 3, 9, 13, 0, tzinfo=UTC), 300, timedelta(seconds=41))
    remembered = _run(_remembering(_policy()), leads, snapshot(_team()), _EditCounters())
    assert remembered == _run(_fresh(_policy()), leads, snapshot(_team()), _EditCounters())


def test_a_rep_replaced_in_the_snapshot_is_seen_at_once() -> None:
    def meddle(index: int, snap: Snapshot) -> None:
        reps = dict(snap.reps)
        if index % 3 == 1:  # the same rep as a new object: deactivated, or hours changed
            reps["ldn"] = dataclasses.replace(reps["ldn"], active=not reps["ldn"].active)
        if index % 4 == 2:
            reps["la"] = dataclasses.replace(
                reps["la"], working_hours=WorkingHours.parse("mon-sun 00:00-24:00")
            )
        if index % 7 == 3:
            reps.pop("nyc", None)  # a route may name a rep the snapshot no longer has
        assert isinstance(snap.reps, dict)
        snap.reps.clear()  # in place: the mapping object stays the same
        snap.reps.update(reps)

    leads = _minutes(datetime(2026, 3, 9, 14, 0, tzinfo=UTC), 120, timedelta(seconds=25))
    pol = policy(route("named", reps=["ldn", "nyc", "la", "ktm"]), route("all", team="t"))
    _same_both_ways(pol, lambda: snapshot(_team()), leads, meddle)


def test_naive_moments_are_decided_alike() -> None:
    leads = _minutes(datetime(2026, 3, 9, 13, 0), 60, timedelta(minutes=3))
    _same_both_ways(_policy(), lambda: snapshot(_team()), leads, lambda i, s: None)


def test_team_rosters_come_from_the_snapshot_in_hand() -> None:
    pol = policy(route("all", team="t"), route("some", team="u"))
    first = snapshot([rep("ana", teams=["t", "u"]), rep("bo", teams=["t"])])
    second = snapshot([rep("bo", teams=["t", "u"]), rep("chen", teams=["t"])])

    one, two, three = (
        decide(lead(), first, pol),
        decide(lead(), second, pol),
        decide(lead(), first, pol),
    )

    assert [c.rep for c in one.trials[0].candidates] == ["ana", "bo"]
    assert [c.rep for c in two.trials[0].candidates] == ["bo", "chen"]
    assert three == one


def test_shared_factors_are_an_empty_read_only_mapping() -> None:
    decision = decide(
        lead(), snapshot([rep("ana"), rep("bo")]), policy(route("r", reps=["ana", "bo"]))
    )
    candidate = decision.trials[0].candidates[0]

    assert candidate.factors == {} and candidate.factors is NO_FACTORS
    assert candidate == Candidate(candidate.rep, candidate.excluded, candidate.score, {},
                                  candidate.note)  # fmt: skip
    with pytest.raises(TypeError):
        candidate.factors["expertise"] = 1.0
    copied = pickle.loads(pickle.dumps(decision))
    assert copied == decision and type(copied.trials[0].candidates[0].factors) is dict
    assert Decision.from_dict(decision.to_dict()) == decision


def test_a_clock_change_moves_the_reps_midnight() -> None:
    # New York's first EDT midnight is 04:00 UTC, not 05:00: daily caps restart then
    team = [rep(f"ny{i}", teams=["t"], timezone="America/New_York") for i in range(3)]
    leads = _minutes(datetime(2026, 3, 8, 6, 0, tzinfo=UTC), 150, timedelta(minutes=10))
    pol = policy(route("all", team="t"), default_caps=Caps(per_day=20))
    decided = _same_both_ways(pol, lambda: snapshot(team), leads, lambda i, s: None)
    assert {d["status"] for d in decided} == {"assigned", "manual"}


def test_screening_sees_the_same_values_as_lead_fields() -> None:
    for one in (
        lead(country="US", employees=12, lat=1.5, value=None),
        lead(industry="x", attributes={"industry": "shadowed", "tier": "gold", "seats": 3}),
    ):
        _, values = screen(one, policy(route("r", reps=["ana"])))
        expected = one.fields() | {"score": 0.0, "value_slab": "low", "priority": "low"}
        assert values == expected and list(values) == list(expected)
