"""KPI definitions on hand-made facts: every number checked against a count by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from leadrelay.analytics.kpi import confidence_band, kpis, percentile
from leadrelay.store.facts import LeadFacts

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
NOW = T0 + timedelta(days=3)


def fact(n: int, **fields: object) -> LeadFacts:
    base = LeadFacts(
        id=n, received_at=T0, status="assigned", owner="ana", team=None, route="r", product="crm",
        source="web", value_slab="low", priority="low", score=0.0, experiment=None, arm=None,
        first_owned_at=T0, first_contact_at=None, accepted_at=None, won_at=None, won_value=None,
        lost_at=None,
    )  # fmt: skip
    return replace(base, **fields)  # type: ignore[arg-type]


def test_the_overall_row_counts_and_times() -> None:
    facts = [
        fact(
            1,
            first_owned_at=T0 + timedelta(seconds=30),
            first_contact_at=T0 + timedelta(hours=1),
            won_at=T0 + timedelta(days=1),
            won_value=500.0,
        ),
        fact(2, first_owned_at=T0 + timedelta(seconds=90), lost_at=T0 + timedelta(days=1)),
        fact(3, received_at=T0 + timedelta(days=1), first_owned_at=T0 + timedelta(days=1)),
        fact(
            4,
            status="manual",
            owner=None,
            first_owned_at=None,
            received_at=NOW - timedelta(hours=2),
        ),
        fact(5, status="manual", owner=None, first_owned_at=None),
        fact(6, status="screened_out", owner=None, first_owned_at=None),
        fact(7, status="duplicate", owner=None, first_owned_at=None),
    ]
    (row,) = kpis(facts, now=NOW)
    assert (row.leads, row.distributed, row.not_distributed) == (7, 3, 2)
    assert (row.screened_out, row.duplicates) == (1, 1)
    assert row.aging == {"under 1h": 0, "1-4h": 1, "4-24h": 0, "1-7d": 1, "over 7d": 0}
    assert (row.turnaround_p50_s, row.turnaround_p90_s) == (30.0, 90.0)
    assert row.first_contact_p50_s == pytest.approx(3600 - 30)
    assert (row.contacted, row.won, row.lost, row.won_value) == (1, 1, 1, 500.0)
    assert row.contact_rate == pytest.approx(1 / 3)
    assert row.win_rate == 0.5 and row.conversion_rate == pytest.approx(1 / 3)
    assert row.throughput_per_day == pytest.approx(3 / 4)  # leads arrived over 4 days


def test_two_dimensions_and_units_from_the_owner() -> None:
    facts = [fact(1, owner="ana"), fact(2, owner="bo", value_slab="high"), fact(3, team="ops")]
    rows = kpis(facts, now=NOW, by=["unit", "value_slab"], units={"ana": "east", "bo": "west"})
    assert [(r.group["unit"], r.group["value_slab"], r.leads) for r in rows] == [
        ("east", "low", 1),
        ("ops", "low", 1),
        ("west", "high", 1),
    ]


def test_periods_start_on_monday_and_the_first() -> None:
    sunday = T0 + timedelta(days=6)
    week_two = sunday + timedelta(days=1)
    rows = kpis([fact(1), fact(2, received_at=sunday), fact(3, received_at=week_two)],
                now=NOW, by=["period"])  # fmt: skip
    assert [(r.group["period"], r.leads) for r in rows] == [("2026-11-02", 2), ("2026-11-09", 1)]
    monthly = kpis([fact(1)], now=NOW, by=["period"], period="month")
    assert monthly[0].group["period"] == "2026-11-01"


def test_no_denominator_gives_none_not_zero() -> None:
    (row,) = kpis([fact(1, status="manual", first_owned_at=None)], now=NOW)
    assert row.contact_rate is None and row.win_rate is None and row.turnaround_p50_s is None


def test_unknown_dimension_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown dimension 'colour'"):
        kpis([], now=NOW, by=["colour"])


def test_bands_and_percentiles() -> None:
    assert [confidence_band(s) for s in (0, 19.9, 20, 59, 80, 100)] == [
        "score <20", "score <20", "score 20-39", "score 40-59", "score 80+", "score 80+",
    ]  # fmt: skip
    assert percentile([5.0, 1.0, 3.0, 2.0], 50) == 2.0 and percentile([], 50) is None
