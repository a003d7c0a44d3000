"""Fairness figures: shares against targets, spread and Gini, by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadrelay.analytics.fairness import gini, route_fairness


def test_equal_shares_for_round_robin_and_reps_who_left_listed_last() -> None:
    f = route_fairness("r", "round_robin", ["ana", "bo"], {"ana": 3, "bo": 2, "old": 1})
    assert [(r.rep, r.leads) for r in f.reps] == [("ana", 3), ("bo", 2), ("old", 1)]
    assert f.leads == 6 and f.spread == 1
    assert f.reps[0].target == 0.5 and f.reps[0].share == 0.5
    assert f.reps[2].target is None


def test_weighted_targets_follow_weights() -> None:
    f = route_fairness("r", "weighted_round_robin", ["a", "b"], {"a": 30, "b": 10},
                       {"a": 3.0, "b": 1.0})  # fmt: skip
    assert [r.target for r in f.reps] == [0.75, 0.25]
    assert [r.deviation for r in f.reps] == [0.0, 0.0]


def test_strategies_without_shares_show_counts_only() -> None:
    f = route_fairness("r", "criteria", ["a"], {"a": 4})
    assert f.reps[0].target is None and f.reps[0].share == 1.0


def test_gini_bounds() -> None:
    assert gini([5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 12]) == pytest.approx(0.75)
    assert gini([]) == 0.0


@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=30))
def test_gini_is_between_zero_and_one_and_ignores_order(values: list[int]) -> None:
    g = gini(values)
    assert 0.0 <= g < 1.0 + 1e-12
    assert g == pytest.approx(gini(list(reversed(values))))
