"""KPI additions: SLA hit rate, time-to-accept p90, and every dimension alone and in pairs."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.pipeline.test_kpi import NOW, T0, fact

from leadrelay.analytics.kpi import DIMENSIONS, kpis
from leadrelay.store.facts import LeadFacts


def test_sla_hit_rate_is_met_over_decided_timers_per_slice() -> None:
    facts = [
        fact(1, owner="ana", sla_met=2),
        fact(2, owner="ana", sla_met=1, sla_breached=1),
        fact(3, owner="bo", sla_breached=1),
        fact(4, owner="cy"),
        fact(5, status="screened_out", owner=None, first_owned_at=None, sla_met=9),
    ]
    rows = {r.group["owner"]: r for r in kpis(facts, now=NOW, by=["owner"])}
    assert (rows["ana"].sla_met, rows["ana"].sla_breached) == (3, 1)
    assert rows["ana"].sla_hit_rate == pytest.approx(0.75)
    assert rows["bo"].sla_hit_rate == 0.0
    assert rows["cy"].sla_hit_rate is None  # no timer decided: no rate, not 0
    assert rows["(none)"].sla_met == 0  # a screened-out lead holds no deadline
    (overall,) = kpis(facts, now=NOW)
    assert overall.sla_hit_rate == pytest.approx(3 / 5)


def test_time_to_accept_has_p50_and_p90() -> None:
    facts = [
        fact(i, accepted_at=T0 + timedelta(minutes=minutes))
        for i, minutes in enumerate([1, 2, 3, 4, 5, 6, 7, 8, 9, 60])
    ]
    (row,) = kpis(facts, now=NOW)
    assert (row.accept_p50_s, row.accept_p90_s) == (300.0, 540.0)


@st.composite
def facts_lists(draw: st.DrawFn) -> list[LeadFacts]:
    owners = st.sampled_from(["ana", "bo", None])
    out = []
    for n in range(draw(st.integers(0, 12))):
        owner = draw(owners)
        out.append(fact(
            n, owner=owner, team=draw(st.sampled_from([None, "east"])),
            status="assigned" if owner else draw(st.sampled_from(["manual", "screened_out"])),
            first_owned_at=T0 if owner else None,
            product=draw(st.sampled_from(["crm", None])),
            value_slab=draw(st.sampled_from(["low", "high"])),
            priority=draw(st.sampled_from(["low", "high"])),
            source=draw(st.sampled_from(["web", "referral"])),
            score=draw(st.floats(0, 100)),
            received_at=T0 + timedelta(days=draw(st.integers(0, 40))),
            sla_met=draw(st.integers(0, 2)), sla_breached=draw(st.integers(0, 2)),
        ))  # fmt: skip
    return out


@given(facts_lists())
def test_any_one_or_two_dimensions_partition_the_leads(facts: list[LeadFacts]) -> None:
    totals = kpis(facts, now=NOW)
    sla_met, distributed = sum(r.sla_met for r in totals), sum(r.distributed for r in totals)
    for by in [*((d,) for d in DIMENSIONS), *itertools.combinations(DIMENSIONS, 2)]:
        rows = kpis(facts, now=NOW, by=by, units={"ana": "west"})
        assert sum(r.leads for r in rows) == len(facts)
        assert sum(r.sla_met for r in rows) == sla_met
        assert sum(r.distributed for r in rows) == distributed
        assert all(set(r.group) == set(by) for r in rows)
        assert len({tuple(r.group.values()) for r in rows}) == len(rows)
