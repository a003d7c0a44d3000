"""Who may take a lead right now: active, in working hours, not away, under every cap."""

from __future__ import annotations

from datetime import datetime

from leadrelay.domain.clock import local_view
from leadrelay.domain.rep import Caps, Rep
from leadrelay.domain.snapshot import Snapshot

_CAP_WORDS = {"day": "daily", "week": "weekly", "month": "monthly"}


def exclusion(
    rep: Rep, snapshot: Snapshot, default_caps: Caps, *, off_hours_ok: bool = False
) -> str | None:
    """Why ``rep`` may not take a lead at ``snapshot.now``, or None if it may."""
    if not rep.active:
        return "inactive"
    local, starts = local_view(snapshot.now, rep.timezone)
    today = local.date()
    for away in rep.out_of_office:
        if today in away:
            return f"out of office {away}"
    if not off_hours_ok and not rep.working_hours.covers(local):
        return (
            f"outside working hours ({rep.working_hours.text} {rep.timezone};"
            f" {_clock(local)} there)"
        )
    caps = rep.effective_caps(default_caps)
    for period, cap in caps.items():
        if cap is None:
            continue
        given = snapshot.counters.get((rep.id, period, starts[period]), 0)
        if given >= cap:
            return f"at {_CAP_WORDS[period]} cap ({given}/{cap})"
    return None


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _clock(local: datetime) -> str:
    return f"{_WEEKDAYS[local.weekday()]} {local.hour:02d}:{local.minute:02d}"
