"""Business time: when a duration counted only in someone's working hours runs out. Pure.

An SLA of "2h" measured in a rep's business hours started on Friday at 16:00 in Berlin, with
hours ``mon-fri 09:00-17:00``, runs out on Monday at 10:00 Berlin time. ``add_business`` walks
the holder's working windows day by day in their own time zone (so daylight saving moves the
windows, not the count), skipping out-of-office days. Always working (no windows, no absence)
is wall time: ``start + duration``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta

from leadrelay.domain.rep import DateRange, WorkingHours, zone

# How far ahead to look for working time before giving up (someone away for good, say).
HORIZON_DAYS = 3 * 366
_DAY_MINUTES = 1440


class NoWorkingTimeError(ValueError):
    """No working time within ``HORIZON_DAYS``: a deadline in business time never comes."""


def add_business(
    start: datetime,
    duration: timedelta,
    hours: WorkingHours,
    timezone: str = "UTC",
    out_of_office: Sequence[DateRange] = (),
) -> datetime:
    """The first moment at which ``duration`` of working time has passed since ``start``.

    ``start`` must be aware; the answer is in UTC. A zero duration is ``start`` itself, even
    outside working hours. Raises ``NoWorkingTimeError`` when the working time within
    ``HORIZON_DAYS`` does not add up to ``duration``.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start must be an aware datetime, not {start!r}")
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, not {duration}")
    start = start.astimezone(UTC)
    if duration == timedelta(0) or (not hours.spans and not out_of_office):
        return start + duration
    left = duration
    for opens, closes in working_windows(start, hours, timezone, out_of_office):
        begin = max(opens, start)
        if closes <= begin:
            continue
        span = closes - begin
        if span >= left:
            return begin + left
        left -= span
    raise NoWorkingTimeError(
        f"no working time for {duration} within {HORIZON_DAYS} days of {start.isoformat()}"
        f" (hours {hours.text or 'always'!r}, time zone {timezone})"
    )


def business_between(
    start: datetime,
    end: datetime,
    hours: WorkingHours,
    timezone: str = "UTC",
    out_of_office: Sequence[DateRange] = (),
) -> timedelta:
    """Working time from ``start`` to ``end`` (zero if ``end`` is not later)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return timedelta(0)
    if not hours.spans and not out_of_office:
        return end - start
    total = timedelta(0)
    for opens, closes in working_windows(start, hours, timezone, out_of_office):
        if opens >= end:
            break
        begin, finish = max(opens, start), min(closes, end)
        if finish > begin:
            total += finish - begin
    return total


def working_windows(
    start: datetime,
    hours: WorkingHours,
    timezone: str,
    out_of_office: Sequence[DateRange] = (),
) -> Iterator[tuple[datetime, datetime]]:
    """Working windows as UTC (opens, closes) pairs, in time order, from the local day that
    contains ``start`` on, for ``HORIZON_DAYS`` days. Windows that touch are merged."""
    where = zone(timezone)
    first = start.astimezone(where).date()
    pending: tuple[datetime, datetime] | None = None
    for offset in range(HORIZON_DAYS + 1):
        day = first + timedelta(days=offset)
        if any(day in away for away in out_of_office):
            continue
        for opens, closes in _day_windows(day, hours, timezone):
            if pending is not None and opens <= pending[1]:  # touching (or a DST overlap)
                pending = (pending[0], max(pending[1], closes))
                continue
            if pending is not None:
                yield pending
            pending = (opens, closes)
    if pending is not None:
        yield pending


def _day_windows(day: date, hours: WorkingHours, timezone: str) -> list[tuple[datetime, datetime]]:
    """The day's windows in UTC (the whole local day when always working)."""
    base = day.weekday() * _DAY_MINUTES
    spans = hours.spans or ((base, base + _DAY_MINUTES),)
    out = []
    for lo, hi in sorted(spans):
        if lo // _DAY_MINUTES != day.weekday():
            continue
        opens, closes = _moment(day, lo - base, timezone), _moment(day, hi - base, timezone)
        if closes > opens:  # a window inside a skipped daylight-saving hour has no length
            out.append((opens, closes))
    return out


def _moment(day: date, minute: int, timezone: str) -> datetime:
    """Local ``day`` plus ``minute`` minutes (1440: the next local midnight), in UTC."""
    if minute >= _DAY_MINUTES:
        day, minute = day + timedelta(days=1), minute - _DAY_MINUTES
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone(timezone))
    return local.astimezone(UTC)
