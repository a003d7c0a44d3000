"""Local time and period starts per (moment, time zone), cached: many reps share a zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from leadrelay.domain.rep import zone


@lru_cache(maxsize=8192)
def local_view(moment: datetime, timezone: str) -> tuple[datetime, dict[str, date]]:
    """``moment`` in ``timezone``, and the first day of its calendar day, ISO week and month."""
    local = moment.astimezone(zone(timezone))
    day = local.date()
    return local, {
        "day": day,
        "week": day - timedelta(days=day.weekday()),
        "month": day.replace(day=1),
    }


class LocalMinute(NamedTuple):
    """What eligibility needs of a moment in one time zone: the local day and minute of week."""

    today: date  # also the start of the calendar day
    week_start: date  # Monday of the ISO week
    month_start: date
    minute_of_week: int  # Monday 00:00 = 0
    day_number: int  # local days since 1970-01-01: a cheap key for per-day memos


def local_minute(moment: datetime, timezone: str) -> LocalMinute:
    """``moment``'s local day, period starts and minute of the week in ``timezone``.

    Equal to what ``local_view`` gives, without converting every moment: a zone's UTC offset is
    looked up once per UTC hour and the rest is integer arithmetic. That holds only while the
    offset is the same over the whole hour and a whole number of minutes (always, for today's
    zones); where it is not, or for a naive moment (which Python reads as the machine's local
    time), the moment is converted as ``local_view`` does.
    """
    try:
        minutes = (moment - _EPOCH) // _MINUTE
    except TypeError:  # naive
        return _converted(moment, timezone)
    key = (timezone, minutes)
    known = _MINUTES.get(key)
    if known is not None:
        return known
    offset = _hour_offset(timezone, minutes // 60)
    if offset is None:
        return _converted(moment, timezone)
    day_number, minute_of_day = divmod(minutes + offset, 1440)
    days = _DAYS.get(day_number)
    if days is None:
        if len(_DAYS) >= _MAX_MINUTES:
            _DAYS.clear()
        days = _DAYS[day_number] = _days(day_number)
    today, week_start, month_start, weekday = days
    view = LocalMinute(today, week_start, month_start, weekday * 1440 + minute_of_day, day_number)
    if len(_MINUTES) >= _MAX_MINUTES:
        _MINUTES.clear()  # consecutive leads share minutes; older ones are rarely asked again
    _MINUTES[key] = view
    return view


def period_starts(moment: datetime, timezone: str) -> dict[str, date]:
    """``local_view(moment, timezone)[1]``, by way of ``local_minute``; do not modify it."""
    here = local_minute(moment, timezone)
    starts = _STARTS.get(here.day_number)
    if starts is None:
        if len(_STARTS) >= _MAX_MINUTES:
            _STARTS.clear()
        starts = {"day": here.today, "week": here.week_start, "month": here.month_start}
        _STARTS[here.day_number] = starts
    return starts


def epoch_minute(moment: datetime) -> int | None:
    """Whole minutes from 1970-01-01 UTC to ``moment`` (None for a naive moment)."""
    try:
        return (moment - _EPOCH) // _MINUTE
    except TypeError:
        return None


def steady_until(timezone: str, minute: int, limit: int) -> int:
    """The first epoch minute after ``minute``, at most ``limit``, from which ``timezone``'s
    local minutes may stop following UTC's one for one (its offset changes); ``minute`` itself
    when they do not even now (an offset of odd seconds, or one changing within this hour)."""
    hour = minute // 60
    offset = _hour_offset(timezone, hour)
    if offset is None:
        return minute
    while (hour + 1) * 60 < limit:
        hour += 1
        if _hour_offset(timezone, hour) != offset:
            return hour * 60
    return limit


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = _EPOCH.date().toordinal()
_MINUTE = timedelta(minutes=1)
_HOUR = timedelta(hours=1)
_LAST_MICROSECOND = _HOUR - timedelta(microseconds=1)
_MAX_MINUTES = 4096  # entries in each memo below

# Pure functions of their keys (zone name, minutes or days since the epoch): memos, never state.
_MINUTES: dict[tuple[str, int], LocalMinute] = {}
_DAYS: dict[int, tuple[date, date, date, int]] = {}
_STARTS: dict[int, dict[str, date]] = {}


@lru_cache(maxsize=65536)
def _hour_offset(timezone: str, hour: int) -> int | None:
    """The zone's UTC offset in minutes throughout UTC hour ``hour`` since the epoch, or None.

    None when the offset is not a whole number of minutes (old local mean times) or changes
    within the hour. Same offset at both ends means the same throughout: time zone rules never
    change twice within one hour.
    """
    start = _EPOCH + hour * _HOUR
    try:
        where = zone(timezone)
        first = start.astimezone(where).utcoffset()
        last = (start + _LAST_MICROSECOND).astimezone(where).utcoffset()
    except OverflowError:  # the ends of datetime's range: convert the moment itself
        return None
    if first is None or first != last or first % _MINUTE:
        return None
    return first // _MINUTE


def _days(day_number: int) -> tuple[date, date, date, int]:
    today = date.fromordinal(_EPOCH_ORDINAL + day_number)
    weekday = today.weekday()
    return today, today - timedelta(days=weekday), today.replace(day=1), weekday


def _converted(moment: datetime, timezone: str) -> LocalMinute:
    local, starts = local_view(moment, timezone)
    day = starts["day"]
    return LocalMinute(
        day,
        starts["week"],
        starts["month"],
        local.weekday() * 1440 + local.hour * 60 + local.minute,
        day.toordinal() - _EPOCH_ORDINAL,
    )
