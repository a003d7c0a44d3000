"""Business-time arithmetic: deadlines counted in a holder's working hours and time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.domain.business_time import (
    NoWorkingTimeError,
    add_business,
    business_between,
)
from leadrelay.domain.rep import DateRange, WorkingHours

OFFICE = WorkingHours.parse("mon-fri 09:00-17:00")
SPLIT = WorkingHours.parse(
    "mon-thu 08:00-12:00; mon-thu 13:00-17:30; fri 10:00-14:00; sat 22:00-24:00"
)
ALWAYS = WorkingHours()
BERLIN = "Europe/Berlin"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_two_hours_from_friday_afternoon_end_on_monday_morning_in_berlin() -> None:
    start = at("2026-11-27T16:00:00+01:00")  # a Friday, 16:00 in Berlin
    due = add_business(start, timedelta(hours=2), OFFICE, BERLIN)
    assert due == at("2026-11-30T10:00:00+01:00")


def test_a_deadline_started_outside_hours_counts_from_the_next_opening() -> None:
    start = at("2026-11-28T12:00:00+00:00")  # Saturday
    assert add_business(start, timedelta(minutes=30), OFFICE) == at("2026-11-30T09:30:00+00:00")


def test_out_of_office_days_are_skipped() -> None:
    start = at("2026-11-27T16:00:00+00:00")
    away = (DateRange.parse("2026-11-30..2026-12-01"),)  # Monday and Tuesday
    due = add_business(start, timedelta(hours=2), OFFICE, "UTC", away)
    assert due == at("2026-12-02T10:00:00+00:00")


def test_hours_follow_daylight_saving_in_the_holders_zone() -> None:
    # Berlin leaves summer time on 2026-10-25: 09:00 local is 07:00 UTC before, 08:00 after
    start = at("2026-10-23T16:30:00+02:00")  # Friday
    due = add_business(start, timedelta(hours=1), OFFICE, BERLIN)
    assert due == at("2026-10-26T09:30:00+01:00") == at("2026-10-26T08:30:00+00:00")


def test_always_working_is_wall_time_and_zero_is_the_start() -> None:
    start = at("2026-11-28T03:17:00+05:00")
    assert add_business(start, timedelta(hours=50), ALWAYS, BERLIN) == start + timedelta(hours=50)
    assert add_business(start, timedelta(0), OFFICE) == start


def test_a_holder_away_for_good_has_no_deadline() -> None:
    away = (DateRange.parse("2026-01-01..2099-12-31"),)
    with pytest.raises(NoWorkingTimeError, match="no working time"):
        add_business(at("2026-11-27T10:00:00+00:00"), timedelta(hours=1), OFFICE, "UTC", away)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        add_business(datetime(2026, 1, 1), timedelta(hours=1), OFFICE)


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12))
schedules = st.sampled_from([OFFICE, SPLIT, ALWAYS])
zones = st.sampled_from(["UTC", BERLIN, "America/New_York", "Asia/Kolkata", "Australia/Sydney"])


@settings(max_examples=150, deadline=None)
@given(moments, spans, spans, schedules, zones)
def test_adding_business_time_is_monotone(
    start: datetime, a: timedelta, b: timedelta, hours: WorkingHours, zone: str
) -> None:
    short, long = sorted((a, b))
    assert add_business(start, short, hours, zone) <= add_business(start, long, hours, zone)


@settings(max_examples=150, deadline=None)
@given(moments, spans, spans, schedules, zones)
def test_adding_business_time_is_additive(
    start: datetime, a: timedelta, b: timedelta, hours: WorkingHours, zone: str
) -> None:
    once = add_business(start, a + b, hours, zone)
    twice = add_business(add_business(start, a, hours, zone), b, hours, zone)
    assert once == twice


@settings(max_examples=150, deadline=None)
@given(moments, spans, schedules, zones)
def test_the_working_time_up_to_a_deadline_is_the_duration(
    start: datetime, span: timedelta, hours: WorkingHours, zone: str
) -> None:
    due = add_business(start, span, hours, zone)
    assert due >= start
    assert business_between(start, due, hours, zone) == span


@settings(max_examples=100, deadline=None)
@given(moments, spans, zones)
def test_always_working_is_wall_time(start: datetime, span: timedelta, zone: str) -> None:
    assert add_business(start, span, ALWAYS, zone) == start + span
