"""Local time and period starts per (moment, time zone), cached: many reps share a zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

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
