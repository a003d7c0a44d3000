"""Conditions: parsed by rule-engine, evaluated by compiled Python with rule-engine's answers."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrelay.policy.conditions import Condition, ConditionError, symbol_types

TYPES = symbol_types({"is_partner": "boolean", "seats": "integer", "tier": "string"})

# The hot shapes (symbol against literal, membership, logic) and the generic ones
# (symbol against symbol, null, regex, ternary, coalesce), plus some rule-engine evaluates alone.
EXPRESSIONS = [
    'country not in ["US", "CA", "GB"]',
    'country in {"US", "CA"}',
    "employees >= 1000",
    "employees > 500.5",
    "1000 <= employees",
    "value == 0.1",
    "value != 0.1",
    "value < 0.30000000000000004",
    "value >= 0.1000000000000000000001",
    "value <= 1e400",
    "value > -1e-400",
    "value == 9007199254740993",
    "employees < inf",
    "employees == nan",
    "employees > nan",
    'employees in [1, 2.5, 0.1, true, null, "x"]',
    "value in {0.5, 1.5}",
    'source == "referral"',
    'source != "Referral"',
    'source < "m"',
    'score >= 60 or value_slab == "high"',
    "employees == null",
    "employees != null and employees > 500",
    'industry =~ "^air"',
    'industry =~~ "line"',
    'industry !~ "AIR"',
    'industry !~~ "rail"',
    '"air" in industry',
    'industry in "airline"',
    "is_partner",
    "not is_partner",
    "is_partner == true",
    "is_partner != false",
    "is_partner in [1]",
    "is_partner > false",
    "lat > lon",
    "lat == lon",
    "lat <= lon",
    "country == region",
    "industry < region",
    "seats == employees",
    "employees == source",
    "employees ?? 0",
    "(seats ?? 0) >= 10",
    'employees > 10 ? source == "a" : tier == "b"',
    "employees + 1 > 10",
    "-employees < -5",
    'received_at > d"2026-01-01T00:00:00Z"',
    "true",
    "null",
]

_TEXT = st.sampled_from(
    ["", "US", "CA", "us", "referral", "Referral", "airline", "rail", "high", "a"]
)
_STRINGS = st.one_of(st.none(), _TEXT, st.text(max_size=4))
_NUMBERS = st.one_of(
    st.none(),
    st.integers(min_value=-2000, max_value=2000),
    st.integers(),
    st.sampled_from([0.1, 0.30000000000000004, 2.5, 500.5, 1000.0, -0.0, 9007199254740993]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, places=2, min_value=-2000, max_value=2000),
)
_WRONG = st.one_of(st.booleans(), st.integers(), st.text(max_size=2), st.just([1]))
_DATES = st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)))


def _field(kind: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(kind, kind, kind, _WRONG)


LEAD_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "country": _field(_STRINGS),
        "region": _field(_STRINGS),
        "industry": _field(_STRINGS),
        "source": _field(_STRINGS),
        "tier": _field(_STRINGS),
        "value_slab": _field(_STRINGS),
        "employees": _field(_NUMBERS),
        "value": _field(_NUMBERS),
        "lat": _field(_NUMBERS),
        "lon": _field(_NUMBERS),
        "seats": _field(_NUMBERS),
        "score": _field(_NUMBERS),
        "is_partner": _field(st.one_of(st.none(), st.booleans())),
        "received_at": _field(_DATES),
    },
)
CONDITIONS = [Condition(text, TYPES) for text in EXPRESSIONS]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(values=LEAD_VALUES)
def test_compiled_evaluation_equals_rule_engine(values: dict[str, Any]) -> None:
    for condition in CONDITIONS:
        expected = condition.evaluate_with_rule_engine(values)
        assert condition.evaluate(values) == expected, (condition.text, values)


@pytest.mark.parametrize(
    "text",
    [
        'country not in ["US", "CA", "GB"]',
        "employees >= 1000",
        'source == "referral"',
        'score >= 60 or value_slab == "high"',
        'employees != null and employees > 500 and industry =~ "^air"',
        '"air" in industry',
    ],
)
def test_hot_shapes_are_compiled(text: str) -> None:
    assert Condition(text, TYPES).compiled


@pytest.mark.parametrize("text", ["employees + 1 > 10", 'received_at > d"2026-01-01"', "$now"])
def test_arithmetic_dates_and_builtins_run_on_rule_engine(text: str) -> None:
    condition = Condition(text, TYPES)
    assert not condition.compiled
    assert condition.evaluate({"employees": 20, "received_at": datetime.now(UTC)}) is True


def test_ordered_comparison_with_an_empty_field_cannot_be_evaluated() -> None:
    assert Condition("employees > 500", TYPES).evaluate({"employees": None}) is None
    assert Condition("employees > 500", TYPES).evaluate({}) is None


def test_equality_with_null_is_an_answer() -> None:
    assert Condition("employees == null", TYPES).evaluate({}) is True
    assert Condition("employees == null", TYPES).evaluate({"employees": 3}) is False
    assert Condition('source == "web"', TYPES).evaluate({"source": None}) is False


def test_string_comparison_is_case_sensitive() -> None:
    assert Condition('source == "Referral"', TYPES).evaluate({"source": "referral"}) is False
    assert Condition('country in ["US"]', TYPES).evaluate({"country": "us"}) is False


def test_numbers_compare_as_their_decimal_repr() -> None:
    assert Condition("value == 0.1", TYPES).evaluate({"value": 0.1}) is True
    assert Condition("value < 0.1000000000000000001", TYPES).evaluate({"value": 0.1}) is True
    assert Condition("value == 1000", TYPES).evaluate({"value": Decimal("1000.00")}) is True


def test_a_value_of_the_wrong_type_cannot_be_evaluated() -> None:
    assert Condition("employees > 5", TYPES).evaluate({"employees": "many"}) is None
    assert Condition("is_partner", TYPES).evaluate({"is_partner": "yes"}) is None


def test_substring_of_an_empty_field_cannot_be_evaluated() -> None:
    assert Condition('"air" in industry', TYPES).evaluate({"industry": None}) is None


def test_nan_cannot_be_ordered() -> None:
    assert Condition("value > 5", TYPES).evaluate({"value": float("nan")}) is None


def test_unknown_field_is_named_with_a_suggestion() -> None:
    with pytest.raises(ConditionError) as caught:
        Condition('industy == "airline"', TYPES)
    assert "unknown field 'industy'" in str(caught.value)
    assert caught.value.suggestion == "industry"
    assert caught.value.symbol == "industy"


def test_syntax_error_is_a_condition_error() -> None:
    with pytest.raises(ConditionError, match="does not parse"):
        Condition("employees >", TYPES)


def test_type_error_at_parse_time_is_a_condition_error() -> None:
    with pytest.raises(ConditionError, match="invalid"):
        Condition('employees > "ten"', TYPES)


_FINITE = st.floats(allow_nan=False, allow_infinity=False)
_NEAR_FLOAT_LITERALS = st.builds(
    lambda f, nudge: Decimal(repr(f)) + Decimal(nudge).scaleb(-40),
    _FINITE,
    st.integers(min_value=-3, max_value=3),
)


@settings(max_examples=200)
@given(
    literal=st.one_of(_NEAR_FLOAT_LITERALS, st.decimals(allow_nan=False, allow_infinity=False)),
    op=st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    value=st.one_of(_FINITE, st.integers(min_value=-(2**60), max_value=2**60)),
)
def test_number_literals_compare_like_rule_engine(literal: Decimal, op: str, value: Any) -> None:
    condition = Condition(f"value {op} {literal}", TYPES)
    values = {"value": value}
    assert condition.evaluate(values) == condition.evaluate_with_rule_engine(values)


def test_a_condition_survives_pickling_compiled() -> None:
    condition = pickle.loads(pickle.dumps(Condition("employees > 5", TYPES)))
    assert condition.compiled
    assert condition.evaluate({"employees": 6}) is True
