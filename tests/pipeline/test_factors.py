"""Each factor scores (lead, rep) in [0, 1] with a reason a rep can read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hypothesis import given
from hypothesis import strategies as st
from tests.builders import lead, policy, rep, route, snapshot

from leadrelay.domain import Lead
from leadrelay.domain.decision import Screening
from leadrelay.domain.performance import ALL, GivenLead, Performance, segment_key
from leadrelay.domain.rep import Seniority
from leadrelay.domain.social import Connection
from leadrelay.pipeline.factors import FACTORS, FactorOptions
from leadrelay.pipeline.strategies.base import RouteContext
from leadrelay.pipeline.strategies.best_match import FactorWeights

OPTIONS = FactorOptions()


def _ctx(one: Lead, reps, *, screening: Screening | None = None, **snap_fields) -> RouteContext:
    snap = snapshot(reps)
    for name, value in snap_fields.items():
        setattr(snap, name, value)
    pol = policy(route("r", reps=[r.id for r in reps]))
    return RouteContext(
        lead=one,
        values=one.fields(),
        screening=screening or Screening(),
        snapshot=snap,
        policy=pol,
        route=pol.routes[0],
        candidates=tuple(r.id for r in reps),
        eligible=tuple(reps),
        excluded={},
    )


def test_the_weights_model_names_every_factor_and_only_those() -> None:
    assert set(FactorWeights.model_fields) == set(FACTORS)


def test_expertise_is_the_share_of_the_lead_traits_the_rep_knows() -> None:
    ana = rep("ana", skills=["industry:airline", "product:crm"], regions=["EMEA"])
    bo = rep("bo", skills=["industry:retail"])
    ctx = _ctx(
        lead(industry="Airline", product="CRM", region="EMEA", company_type="smb"), [ana, bo]
    )
    score = FACTORS["expertise"].for_lead(ctx, OPTIONS)

    assert score(ana).value == 3 / 4
    assert score(ana).reason == "knows industry Airline, product CRM, region EMEA (3/4)"
    assert score(bo).value == 0.0
    assert score(bo).reason == "knows none of the lead's 4 trait(s)"


def test_expertise_counts_a_language_custom_attribute() -> None:
    ana = rep("ana", skills=["language:de"])
    ctx = _ctx(lead(attributes={"language": "DE"}), [ana])
    assert FACTORS["expertise"].for_lead(ctx, OPTIONS)(ana).value == 1.0


def test_seniority_prefers_seniors_for_high_value_and_juniors_for_small_leads() -> None:
    senior, junior = rep("s", seniority=Seniority.SENIOR), rep("j", seniority=Seniority.JUNIOR)
    high = _ctx(lead(), [senior, junior], screening=Screening(value_slab="high"))
    low = _ctx(lead(), [senior, junior], screening=Screening())
    on_high = FACTORS["seniority"].for_lead(high, OPTIONS)
    on_low = FACTORS["seniority"].for_lead(low, OPTIONS)

    assert (on_high(senior).value, on_high(junior).value) == (1.0, 0.0)
    assert (on_low(senior).value, on_low(junior).value) == (0.0, 1.0)
    assert on_high(senior).reason == "senior rep for high value"


def _given(owner: str, won: int, lost: int, team: str = "t", industry: str = "airline"):
    segment = (segment_key("industry", industry),)
    return [GivenLead(owner, (team,), segment, "won") for _ in range(won)] + [
        GivenLead(owner, (team,), segment, "lost") for _ in range(lost)
    ]


def test_performance_is_the_win_rate_on_given_leads_shrunk_toward_the_team() -> None:
    stats = Performance.from_given(_given("ana", 8, 2) + _given("bo", 2, 8))
    ana, bo, new = rep("ana", teams=["t"]), rep("bo", teams=["t"]), rep("new", teams=["t"])
    ctx = _ctx(lead(industry="Airline"), [ana, bo, new], performance=stats)
    score = FACTORS["performance"].for_lead(ctx, OPTIONS)

    # team: 10 won of 20 -> 50%; ana (8 + 10 * 0.5) / (10 + 10) = 65%
    assert score(ana).value == (8 + 5) / 20
    assert score(bo).value == (2 + 5) / 20
    assert score(new).value == 0.5
    assert "too few to judge" in score(new).reason
    assert score(ana).reason == (
        "won 8 of 10 closed industry:airline leads (80%), shrunk toward team 50% -> 65%"
    )


def test_performance_counts_only_closed_leads_and_falls_back_to_all_leads() -> None:
    stats = Performance.from_given(
        [*_given("ana", 6, 0, industry="retail"), GivenLead("ana", ("t",), (), None)]
    )
    assert stats.tally("ana").given == 7
    assert stats.tally("ana").closed == 6
    # no airline leads closed anywhere: the prior is everyone's rate over all leads
    assert stats.prior(("t",), segment_key("industry", "airline")) == 1.0
    assert stats.win_rate("ana", ("t",), ALL, min_closed=5).counts


@given(
    st.lists(st.tuples(st.sampled_from("abc"), st.booleans()), max_size=60),
    st.floats(0, 50),
    st.integers(0, 10),
)
def test_a_shrunk_win_rate_is_a_rate_between_the_rep_and_its_prior(
    outcomes: list[tuple[str, bool]], strength: float, min_closed: int
) -> None:
    stats = Performance.from_given(
        GivenLead(owner, ("t",), (), "won" if won else "lost") for owner, won in outcomes
    )
    for owner in "abc":
        estimate = stats.win_rate(owner, ("t",), strength=strength, min_closed=min_closed)
        assert 0.0 <= estimate.rate <= 1.0
        if estimate.raw is not None and estimate.counts:
            low, high = sorted((estimate.raw, estimate.prior))
            assert low - 1e-12 <= estimate.rate <= high + 1e-12


def test_load_is_room_left_under_the_cap() -> None:
    ana = rep("ana", caps={"per_month": 10})
    ctx = _ctx(lead(), [ana], open_leads={"ana": 4})
    found = FACTORS["load"].for_lead(ctx, OPTIONS)(ana)
    assert found.value == 0.6
    assert found.reason == "4 open / monthly cap 10"


def test_proximity_halves_every_scale_km() -> None:
    near = rep("near", office_lat=52.52, office_lon=13.40)  # Berlin
    far = rep("far", office_lat=48.14, office_lon=11.58)  # Munich, 504 km away
    ctx = _ctx(lead(lat=52.52, lon=13.40), [near, far])
    score = FACTORS["proximity"].for_lead(ctx, FactorOptions(scale_km=504))

    assert score(near).value == 1.0
    assert abs(score(far).value - 0.5) < 0.01
    assert score(far).reason == "office 504 km away"
    nowhere = _ctx(lead(), [near])
    assert FACTORS["proximity"].for_lead(nowhere, OPTIONS)(near).reason == (
        "the lead has no coordinates"
    )


class _Graph:
    def __init__(self, links: Mapping[str, Connection]) -> None:
        self.links = links
        self.asked: list[tuple[str, ...]] = []

    def proximity(self, lead: Lead, rep_ids: Sequence[str]) -> Mapping[str, Connection]:
        self.asked.append(tuple(rep_ids))
        return {r: self.links[r] for r in rep_ids if r in self.links}


def test_social_scores_the_best_path_and_names_the_connector() -> None:
    link = Connection(0.56, ("ana", "Dana (employee)", "jo@acme.com"), "Dana (employee)")
    graph = _Graph({"ana": link})
    ana, bo = rep("ana"), rep("bo")
    score = FACTORS["social"].for_lead(_ctx(lead(), [ana, bo], social=graph), OPTIONS)

    assert score(ana).value == 0.56
    assert score(ana).reason == (
        "ana -> Dana (employee) -> jo@acme.com (strength 0.56);"
        " ask Dana (employee) for an introduction"
    )
    assert score(bo).value == 0.0
    assert graph.asked == [("ana", "bo")]  # one query per lead, not one per rep


def test_every_factor_stays_in_the_unit_interval_without_data() -> None:
    reps = [rep("ana"), rep("bo", seniority=Seniority.SENIOR, caps={"per_day": 1})]
    ctx = _ctx(lead(), reps, open_leads={"bo": 5})
    for factor in FACTORS.values():
        score = factor.for_lead(ctx, OPTIONS)
        for one in reps:
            found = score(one)
            assert 0.0 <= found.value <= 1.0, factor.name
            assert found.reason, factor.name


def test_seniority_reads_the_learned_lead_score_when_the_policy_has_one() -> None:
    senior, mid = rep("s", seniority=Seniority.SENIOR), rep("m", seniority=Seniority.MID)
    one = lead(attributes={"model_score": 0.9})
    ctx = _ctx(one, [senior, mid])
    scored = RouteContext(
        lead=ctx.lead,
        values={**ctx.values, "model_score": 0.9},
        screening=ctx.screening,
        snapshot=ctx.snapshot,
        policy=policy(route("r", reps=["s", "m"]), score_model=object()),
        route=ctx.route,
        candidates=ctx.candidates,
        eligible=ctx.eligible,
        excluded={},
    )
    with_model = FACTORS["seniority"].for_lead(scored, OPTIONS)
    without = FACTORS["seniority"].for_lead(ctx, OPTIONS)

    assert with_model(senior).value == 0.9
    assert with_model(senior).reason == "senior rep for a lead the model gives 90%"
    assert abs(with_model(mid).value - 0.6) < 1e-9
    assert without(senior).value == 0.0  # no model in the policy: a low lead wants a junior
