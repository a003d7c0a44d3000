"""Territory: reps covering the lead's place, then the nearest office, then round robin."""

from __future__ import annotations

import pytest
from tests.builders import lead, policy, rep, route, snapshot

from leadrelay.domain import Status
from leadrelay.pipeline.decide import decide
from leadrelay.pipeline.strategies.territory import great_circle_km

# City centres (WGS 84).
PARIS = (48.8566, 2.3522)
MILAN = (45.4642, 9.1900)
MADRID = (40.4168, -3.7038)
LYON = (45.7640, 4.8357)
LONDON = (51.5074, -0.1278)
NEW_YORK = (40.7128, -74.0060)


def _office(rep_id: str, city: tuple[float, float], **fields):
    return rep(rep_id, office_lat=city[0], office_lon=city[1], **fields)


def _territory(*reps: str, **params) -> object:
    return policy(route("geo", "territory", reps=list(reps), params=params))


def test_great_circle_distance_matches_known_city_pairs() -> None:
    assert great_circle_km(*LONDON, *NEW_YORK) == pytest.approx(5570, abs=10)
    assert great_circle_km(*PARIS, *LYON) == pytest.approx(392, abs=3)
    assert great_circle_km(*LYON, *LYON) == 0


def test_territory_postal_prefix_and_country_state() -> None:
    snap = snapshot(
        [
            rep("sf", regions=["postal:941"]),
            rep("cal", regions=["US-CA"]),
            rep("ny", regions=["US-NY", "postal:100"]),
        ]
    )
    pol = _territory("cal", "ny", "sf")

    by_postal = decide(lead(country="US", state="CA", postal_code="94107"), snap, pol)
    by_state = decide(lead(country="US", state="CA", postal_code="90210"), snap, pol)
    by_other_state = decide(lead(country="US", state="NY"), snap, pol)

    # Both sf and cal cover a 94107 lead in California; the route's order breaks the tie.
    assert by_postal.owner == "cal"
    assert {c.rep for c in by_postal.trials[0].candidates if c.note == "covers the lead"} == {
        "sf",
        "cal",
    }
    assert by_state.owner == "cal"
    assert by_state.reason == "territory: cal covers US/CA/90210"
    assert by_other_state.owner == "ny"


def test_territory_matches_region_country_and_state_case_insensitively() -> None:
    snap = snapshot(
        [rep("eu", regions=["EMEA"]), rep("de", regions=["de"]), rep("tx", regions=["tx"])]
    )
    pol = _territory("eu", "de", "tx")

    assert decide(lead(region="emea"), snap, pol).owner == "eu"
    assert decide(lead(country="DE"), snap, pol).owner == "de"
    assert decide(lead(country="US", state="TX"), snap, pol).owner == "tx"


def test_territory_nearest_office_by_great_circle() -> None:
    # Lyon is in France, but Milan (340 km) is nearer than Paris (392 km).
    snap = snapshot([_office("paris", PARIS), _office("milan", MILAN), _office("madrid", MADRID)])
    one = lead(country="FR", lat=LYON[0], lon=LYON[1])

    decision = decide(one, snap, _territory("paris", "madrid", "milan"))

    assert decision.owner == "milan"
    assert (
        decision.reason
        == "territory: milan (nobody eligible covers FR; all eligible reps considered),"
        " nearest office 340 km"
    )
    scores = {c.rep: c.score for c in decision.trials[0].candidates}
    assert scores == {
        "paris": pytest.approx(392, abs=1),
        "milan": pytest.approx(340, abs=1),
        "madrid": pytest.approx(913, abs=2),
    }


def test_territory_nearest_office_only_among_covering_reps() -> None:
    snap = snapshot(
        [_office("paris", PARIS, regions=["FR"]), _office("milan", MILAN, regions=["IT"])]
    )
    one = lead(country="FR", lat=LYON[0], lon=LYON[1])

    assert decide(one, snap, _territory("milan", "paris")).owner == "paris"


def test_territory_nearest_office_can_be_turned_off() -> None:
    snap = snapshot([_office("paris", PARIS), _office("milan", MILAN)])
    one = lead(lat=LYON[0], lon=LYON[1])

    assert decide(one, snap, _territory("paris", "milan", nearest_office=False)).owner == "paris"


def test_territory_reps_sharing_an_office_rotate() -> None:
    snap = snapshot([_office("m1", MILAN), _office("m2", MILAN), _office("paris", PARIS)])
    pol = _territory("paris", "m1", "m2")

    owners = []
    for i in range(4):
        decision = decide(lead(external_id=str(i), lat=LYON[0], lon=LYON[1]), snap, pol)
        snap.record(decision.route, decision.owner, snap.now)
        owners.append(decision.owner)

    assert owners == ["m1", "m2", "m1", "m2"]
    assert decision.reason.endswith("; round robin among 2")


def test_territory_max_km_passes_when_every_office_is_too_far() -> None:
    snap = snapshot([_office("paris", PARIS), _office("milan", MILAN)])
    one = lead(lat=LYON[0], lon=LYON[1])

    near = decide(one, snap, _territory("paris", "milan", max_km=350))
    far = decide(one, snap, _territory("paris", "milan", max_km=300))

    assert near.owner == "milan"
    assert far.status is Status.MANUAL
    assert far.trials[0].outcome == "no eligible office within 300 km"


def test_territory_falls_back_to_all_eligible_when_none_covers() -> None:
    snap = snapshot([rep("de", regions=["DE"]), rep("fr", regions=["FR"])])

    decision = decide(lead(country="JP"), snap, _territory("de", "fr"))

    assert decision.owner == "de"
    assert decision.reason == (
        "territory: de (nobody eligible covers JP; all eligible reps considered);"
        " round robin among 2"
    )
    assert [c.note for c in decision.trials[0].candidates] == ["does not cover the lead"] * 2


def test_territory_covering_rep_who_is_away_does_not_block_the_fallback() -> None:
    snap = snapshot([rep("de", regions=["DE"], active=False), rep("fr", regions=["FR"])])

    decision = decide(lead(country="DE"), snap, _territory("de", "fr"))

    assert decision.owner == "fr"


def test_territory_require_coverage_passes_when_none_covers() -> None:
    snap = snapshot([rep("de", regions=["DE"])])
    pol = policy(
        route("geo", "territory", reps=["de"], params={"require_coverage": True}),
        route("rest", "manual", manual=True),
    )

    decision = decide(lead(country="JP"), snap, pol)

    assert decision.route == "rest"
    assert decision.trials[0].outcome == "no eligible rep covers JP"
