"""DESIGN.md invariants 1-5 and 7 as properties of ``decide`` over random orgs, policies and leads.

Leads are routed in order, each at its ``received_at``, with ``Snapshot.record`` after every
assignment: what bulk routing and simulation do. (Invariants 2 and 3 under concurrency, and 6,
belong to the store and workflow tests.)
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.builders import condition, lead, policy, rep, route, route_in_order, snapshot

from leadrelay.domain import (
    Account,
    Caps,
    DateRange,
    Decision,
    Lead,
    Rep,
    Snapshot,
    Status,
    Team,
    period_starts,
)
from leadrelay.pipeline.decide import decide
from leadrelay.pipeline.strategies.registry import STRATEGIES
from leadrelay.policy.compiled import CompiledExperiment, CompiledPolicy, CompiledRoute

settings.register_profile(
    "pipeline-properties",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROPERTIES = settings.get_profile("pipeline-properties")

TEAMS = ("t1", "t2")
ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Pacific/Auckland",
)
HOURS = (
    "",
    "",
    "mon-fri 09:00-17:00",
    "mon-sun 00:00-24:00",
    "mon-fri 08:00-12:00; sat 10:00-14:00",
)
# A Monday in November (the run crosses into December) and a Friday before Europe's DST change.
STARTS = (datetime(2026, 11, 23, 6, 0, tzinfo=UTC), datetime(2026, 3, 27, 6, 0, tzinfo=UTC))
CITIES = ((48.8566, 2.3522), (45.4642, 9.1900), (40.7128, -74.0060), (35.6762, 139.6503))
CONDITIONS = (
    'industry == "airline"',
    "value >= 10000",
    'country in ["US", "CA"]',
    'country == "DE"',
    'value_slab == "high"',
    "employees >= 100",
)
DOMAINS = ("acme.com", "orphan.io", "ghostly.net", "gmail.com", "else.org")
# Parsed once: rule-engine parsing is slow and these texts repeat in every example.
PARSED = {text: condition(text) for text in (*CONDITIONS, 'country == "JP"')}

# Strategies are built once here: building them inside every draw makes generation slow.
_CAP = st.one_of(st.none(), st.integers(0, 4))
CAPS = st.one_of(
    st.none(),
    st.builds(Caps, per_day=_CAP, per_week=st.one_of(st.none(), st.integers(0, 8)), per_month=_CAP),
)
_CITY = st.one_of(st.none(), st.sampled_from(CITIES))
_REP = st.fixed_dictionaries(
    {
        "caps": CAPS,
        "weight": st.sampled_from((0.5, 1.0, 1.0, 2.0, 3.0)),
        "working_hours": st.sampled_from(HOURS),
        "timezone": st.sampled_from(ZONES),
        "away": st.one_of(st.none(), st.integers(-2, 12)),
        "active": st.sampled_from((True, True, True, False)),
        "teams": st.lists(st.sampled_from(TEAMS), unique=True),
        "regions": st.lists(
            st.sampled_from(("US", "DE", "emea", "US-CA", "postal:94")), max_size=2
        ),
        "city": _CITY,
    }
)
# Where a lead is, and what it is: one draw each keeps generation fast.
_PLACES = (
    {},
    {"country": "US", "state": "CA", "postal_code": "94107", "lat": 37.7749, "lon": -122.4194},
    {"country": "US", "state": "NY", "postal_code": "10001", "lat": 40.7128, "lon": -74.0060},
    {"country": "US", "state": "CA"},
    {"country": "DE", "region": "emea", "lat": 52.5200, "lon": 13.4050},
    {"country": "DE"},
    {"country": "JP", "lat": 35.6762, "lon": 139.6503},
    {"lat": 45.7640, "lon": 4.8357},
)
_KINDS = tuple(
    {"industry": industry, "value": value, "employees": employees}
    for industry in (None, "airline", "retail")
    for value in (None, 500.0, 20_000.0, 90_000.0)
    for employees in (None, 5, 500)
)
_LEAD = st.tuples(
    st.integers(0, 900),
    st.one_of(st.none(), st.sampled_from(DOMAINS)),
    st.sampled_from(_PLACES),
    st.sampled_from(_KINDS),
)
_WHEN = st.one_of(st.none(), st.sampled_from(CONDITIONS))
_WEIGHTS = st.dictionaries(
    st.sampled_from(("expertise", "seniority", "performance", "load", "proximity", "social")),
    st.sampled_from((0.5, 1.0, 2.0)),
    min_size=1,
)
_PARAMS = {
    "best_match": st.fixed_dictionaries({"weights": _WEIGHTS}),
    "modified_round_robin": st.fixed_dictionaries(
        {"weights": _WEIGHTS, "share": st.sampled_from((0.0, 0.25, 1.0))}
    ),
    "earn_it": st.fixed_dictionaries({"min_self_sourced_wins": st.sampled_from((0, 1))}),
    "round_robin": st.fixed_dictionaries({"order": st.sampled_from(("sequential", "random"))}),
    "territory": st.fixed_dictionaries(
        {
            "nearest_office": st.booleans(),
            "require_coverage": st.booleans(),
            "max_km": st.sampled_from((None, 500.0, 5000.0)),
        }
    ),
}
_STRATEGY = st.sampled_from(sorted(STRATEGIES))
_TEAM_TARGET = st.sampled_from((*TEAMS, "nobody"))
_POOL_EXTRA = st.sampled_from(({}, {"team": "t1"}, {"owner": "r0"}))


@st.composite
def orgs(draw: st.DrawFn, start: date) -> tuple[list[Rep], list[Team], list[Account]]:
    """3-12 reps with random caps, weights, hours, zones, absences, flags and teams."""
    reps = []
    for i, spec in enumerate(draw(st.lists(_REP, min_size=3, max_size=12))):
        away, city = spec.pop("away"), spec.pop("city")
        absent = (
            []
            if away is None
            else [DateRange(start + timedelta(days=away), start + timedelta(days=away + 2))]
        )
        reps.append(
            rep(
                f"r{i}",
                **spec,
                out_of_office=absent,
                office_lat=city[0] if city else None,
                office_lon=city[1] if city else None,
            )
        )
    ids = [r.id for r in reps]
    owner = st.one_of(st.none(), st.sampled_from(ids), st.just("ghost"))
    teams = [Team(id=t, name=t.upper(), owner=draw(owner)) for t in TEAMS]
    accounts = [
        Account(id="a1", name="Acme", domain="acme.com", owner=draw(st.sampled_from(ids))),
        Account(id="a2", name="Orphan", domain="orphan.io"),
        Account(id="a3", name="Ghostly", domain="ghostly.net", owner="ghost"),
    ]
    return reps, teams, accounts


@st.composite
def routes(draw: st.DrawFn, name: str, named: st.SearchStrategy[list[str]]) -> CompiledRoute:
    strategy = draw(_STRATEGY)
    when = draw(_WHEN)
    if strategy == "team":
        to: dict[str, object] = {"team": draw(_TEAM_TARGET)}
    elif strategy == "claim":
        to = {"pool": "inbound", **draw(_POOL_EXTRA)}
    elif strategy == "manual":
        to = {"manual": True}
    elif draw(st.booleans()):
        to = {"team": draw(st.sampled_from(TEAMS))}
    else:
        to = {"reps": draw(named)}
    params = draw(_PARAMS[strategy]) if strategy in _PARAMS else {}
    built = route(name, strategy, off_hours=draw(st.booleans()), params=params, **to)
    return replace(built, when=PARSED[when] if when else None)


@st.composite
def policies(draw: st.DrawFn, rep_ids: list[str]) -> CompiledPolicy:
    """2-5 routes of random strategies over random targets, with optional conditions."""
    named = st.lists(st.sampled_from([*rep_ids, "ghost"]), min_size=1, max_size=6, unique=True)
    chosen = [draw(routes(f"route{i}", named)) for i in range(draw(st.integers(2, 5)))]
    extra: dict[str, object] = {}
    if draw(st.booleans()):
        extra["reject"] = (("no-japan", PARSED['country == "JP"']),)
    if draw(st.booleans()):
        extra["value_slabs"] = (("high", 50_000.0), ("medium", 10_000.0))
    if draw(st.booleans()):
        challenger = draw(routes("challenger", named))
        extra["experiments"] = (CompiledExperiment("pilot", 0.3, None, challenger),)
    return policy(
        *chosen,
        default_caps=draw(CAPS),
        existing_account_owner=draw(st.booleans()),
        **extra,
    )


@st.composite
def lead_runs(draw: st.DrawFn, at: datetime, max_size: int = 30) -> list[Lead]:
    """Leads in arrival order, minutes to hours apart, across days, weeks and a month end."""
    leads = []
    for i, (gap, domain, place, kind) in enumerate(
        draw(st.lists(_LEAD, min_size=1, max_size=max_size))
    ):
        at += timedelta(minutes=gap)
        email = f"jo{i}@{domain}" if domain else None
        leads.append(lead(received_at=at, external_id=f"L{i}", email=email, **place, **kind))
    return leads


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Snapshot, CompiledPolicy, list[Lead]]:
    start = draw(st.sampled_from(STARTS))
    reps, teams, accounts = draw(orgs(start.date()))
    pol = draw(policies([r.id for r in reps]))
    leads = draw(lead_runs(start))
    return snapshot(reps, teams=teams, accounts=accounts, now=leads[0].received_at), pol, leads


def _explained(candidate) -> bool:
    return bool(candidate.excluded) or candidate.score is not None or bool(candidate.note)


def _named(pol: CompiledPolicy, snap: Snapshot, route_name: str) -> list[str] | None:
    """The reps a policy route names, in order (None for routes decide adds itself)."""
    routes = [*pol.routes, *(e.route for e in pol.experiments)]
    found = [r for r in routes if r.name == route_name]
    if not found:
        return None
    target = found[0].target
    if target.reps:
        return list(target.reps)
    return list(snap.team_members.get(target.team, ())) if target.team else []


# --- invariant 1: every lead ends in exactly one valid state --------------------------------


@PROPERTIES
@given(scenarios())
def test_every_lead_ends_in_exactly_one_state(scenario) -> None:
    snap, pol, leads = scenario

    decided = route_in_order(leads, snap, pol)

    assert len(decided) == len(leads)
    for one, decision in zip(leads, decided, strict=True):
        assert decision.lead_key == one.seed_key
        assert isinstance(decision.status, Status)
        assert decision.status is not Status.DUPLICATE  # decide never sees the store
        assert decision.reason
        if decision.status is Status.SCREENED_OUT:
            assert decision.screening.rejected_by == "no-japan"
            assert (decision.owner, decision.route, decision.trials) == (None, None, ())
        elif decision.status is Status.ASSIGNED:
            assert decision.owner in snap.reps
            assert (decision.team, decision.pool) == (None, None)
        elif decision.status is Status.TEAM:
            assert decision.team in snap.teams
            assert decision.owner == snap.teams[decision.team].owner
            assert snap.reps[decision.owner].active
        elif decision.status is Status.POOL:
            assert decision.pool == "inbound"
            assert decision.owner is None or snap.reps[decision.owner].active
        else:
            assert decision.status is Status.MANUAL
            assert (decision.owner, decision.team, decision.pool) == (None, None, None)
        if decision.route is not None:
            assert decision.chosen_trial is not None
            assert decision.strategy == decision.chosen_trial.strategy


# --- invariant 2: no cap is ever exceeded ---------------------------------------------------


@PROPERTIES
@given(scenarios())
def test_no_rep_ever_exceeds_a_cap_in_its_own_time_zone(scenario) -> None:
    snap, pol, leads = scenario

    decided = route_in_order(leads, snap, pol)

    given_in: Counter[tuple[str, str, object]] = Counter()
    for decision in decided:
        if decision.status is Status.ASSIGNED:
            owner = snap.reps[decision.owner]
            for period, start in period_starts(decision.decided_at, owner.timezone).items():
                given_in[(owner.id, period, start)] += 1
    for (rep_id, period, _), count in given_in.items():
        held = snap.reps[rep_id]
        cap = dict((held.caps or pol.default_caps).items())[period]
        assert cap is None or count <= cap, (rep_id, period, count, cap)


# --- invariant 3 (in-memory): round robin fairness with a stable eligible set ---------------


@st.composite
def stable_rosters(draw: st.DrawFn) -> tuple[list[Rep], list[str]]:
    """Always-working, uncapped reps, plus a few inactive ones the route names but never picks."""
    n = draw(st.integers(2, 12))
    reps = [
        rep(
            f"r{i}",
            weight=draw(st.sampled_from((0.5, 1.0, 2.0, 3.0, 7.0, 20.0))),
            timezone=draw(st.sampled_from(ZONES)),
        )
        for i in range(n)
    ]
    reps += [rep(f"gone{i}", active=False) for i in range(draw(st.integers(0, 2)))]
    named = draw(st.permutations([r.id for r in reps]))
    return reps, named


@PROPERTIES
@given(stable_rosters(), st.sampled_from(("sequential", "random")), st.integers(1, 150))
def test_round_robin_counts_differ_by_at_most_one(roster, order, n) -> None:
    reps, named = roster
    snap = snapshot(reps)
    pol = policy(route("rr", reps=named, params={"order": order}))
    counts = Counter({r.id: 0 for r in reps if r.active})

    for i in range(n):
        at = snap.now + timedelta(minutes=7)
        decision = route_in_order([lead(external_id=f"L{i}", received_at=at)], snap, pol)[0]
        counts[decision.owner] += 1
        assert max(counts.values()) - min(counts.values()) <= 1


@PROPERTIES
@given(stable_rosters(), st.integers(1, 150))
def test_weighted_round_robin_counts_stay_within_one_of_weight_shares(roster, n) -> None:
    reps, named = roster
    snap = snapshot(reps)
    pol = policy(route("wrr", "weighted_round_robin", reps=named))
    weights = {r.id: r.weight for r in reps if r.active}
    total = sum(weights.values())
    counts = Counter(dict.fromkeys(weights, 0))

    for i in range(1, n + 1):
        at = snap.now + timedelta(minutes=7)
        decision = route_in_order([lead(external_id=f"L{i}", received_at=at)], snap, pol)[0]
        counts[decision.owner] += 1
        for rep_id, weight in weights.items():
            assert abs(counts[rep_id] - weight * i / total) < 1, (rep_id, i, dict(counts))


# --- invariant 5: same lead + same snapshot + same policy = same Decision -------------------


@PROPERTIES
@given(scenarios())
def test_same_lead_same_snapshot_same_policy_same_decision(scenario) -> None:
    snap, pol, leads = scenario

    for one in leads[:10]:
        snap.now = one.received_at
        twin = copy.deepcopy(snap)
        first = decide(one, snap, pol)
        assert decide(one, twin, pol) == first
        assert decide(copy.deepcopy(one), snap, pol) == first
        if first.status is Status.ASSIGNED:
            snap.record(first.route, first.owner, one.received_at)


# --- invariant 7: every assignment is explained by its stored Decision alone -----------------


@PROPERTIES
@given(scenarios())
def test_every_assignment_is_explained_by_its_stored_decision(scenario) -> None:
    snap, pol, leads = scenario

    for decision in route_in_order(leads, snap, pol):
        # the form the store keeps, and the full one the API shows
        stored = Decision.from_dict(json.loads(json.dumps(decision.to_stored())))
        assert stored == decision
        assert Decision.from_dict(json.loads(json.dumps(decision.to_dict()))) == decision
        if stored.status is not Status.ASSIGNED:
            continue
        trial = stored.chosen_trial
        assert trial is not None and trial.matched
        assert trial.strategy == stored.strategy
        assert trial.outcome == stored.reason
        named = _named(pol, snap, stored.route)
        assert named is None or [c.rep for c in trial.candidates] == named
        (owner,) = [c for c in trial.candidates if c.rep == stored.owner]
        assert owner.excluded is None
        for candidate in trial.candidates:
            assert _explained(candidate), (stored.strategy, candidate)
