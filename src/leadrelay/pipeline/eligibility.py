"""Who may take a lead right now: active, in working hours, not away, under every cap."""

from __future__ import annotations

from datetime import date, datetime

from leadrelay.domain.clock import local_view
from leadrelay.domain.rep import Caps, Rep
from leadrelay.domain.snapshot import Snapshot

_CAP_WORDS = {"day": "daily", "week": "weekly", "month": "monthly"}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# A zone's view of the moment: today, minute of the week, day/week/month starts, "Mon 09:30".
_ZoneView = tuple[date, int, date, date, date, str]


def exclusion(
    rep: Rep, snapshot: Snapshot, default_caps: Caps, *, off_hours_ok: bool = False
) -> str | None:
    """Why ``rep`` may not take a lead at ``snapshot.now``, or None if it may."""
    return Eligibility(snapshot, default_caps).why_not(rep, off_hours_ok=off_hours_ok)


class Eligibility:
    """``exclusion`` for many reps at one moment, as one decision asks it.

    Each time zone's local view is worked out once. ``known`` keeps answers per rep for the
    caller, as routes of one decision share reps. Holds no state beyond the one decision.
    """

    __slots__ = ("_counters", "_default", "_in_hours", "_now", "_off_hours", "_zones")

    def __init__(self, snapshot: Snapshot, default_caps: Caps) -> None:
        self._now = snapshot.now
        self._counters = snapshot.counters
        self._default = default_caps
        self._zones: dict[str, _ZoneView] = {}
        self._in_hours: dict[str, str | None] = {}
        self._off_hours: dict[str, str | None] = {}

    def known(self, off_hours_ok: bool) -> dict[str, str | None]:
        """Answers already worked out in this decision, by rep id; the caller fills it in."""
        return self._off_hours if off_hours_ok else self._in_hours

    def why_not(self, rep: Rep, off_hours_ok: bool = False) -> str | None:
        """Why ``rep`` may not take a lead now (active, then away, then hours, then caps)."""
        if not rep.active:
            return "inactive"
        view = self._zones.get(rep.timezone)
        if view is None:
            view = self._zones[rep.timezone] = _zone_view(self._now, rep.timezone)
        today, minute, day_start, week_start, month_start, clock = view
        for away in rep.out_of_office:
            if today in away:
                return f"out of office {away}"
        if not off_hours_ok and not rep.working_hours.covers_minute(minute):
            hours = rep.working_hours
            return f"outside working hours ({hours.text} {rep.timezone}; {clock} there)"
        caps = rep.effective_caps(self._default)
        counters = self._counters
        for period, start, cap in (
            ("day", day_start, caps.per_day),
            ("week", week_start, caps.per_week),
            ("month", month_start, caps.per_month),
        ):
            if cap is not None:
                given = counters.get((rep.id, period, start), 0)
                if given >= cap:
                    return f"at {_CAP_WORDS[period]} cap ({given}/{cap})"
        return None


def _zone_view(now: datetime, timezone: str) -> _ZoneView:
    local, starts = local_view(now, timezone)
    minute = local.weekday() * 1440 + local.hour * 60 + local.minute
    clock = f"{_WEEKDAYS[local.weekday()]} {local.hour:02d}:{local.minute:02d}"
    return starts["day"], minute, starts["day"], starts["week"], starts["month"], clock
