"""Sales reps and what makes them eligible: hours, absence, capacity."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Role(StrEnum):
    REP = "rep"
    MANAGER = "manager"


class Seniority(StrEnum):
    JUNIOR = "junior"
    MID = "mid"
    SENIOR = "senior"


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The time zone named; raises ValueError for a name IANA does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like Europe/Berlin)"
        ) from exc


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Weekly working windows in the rep's own time zone; no windows means always working."""

    windows: tuple[tuple[int, time, time], ...] = ()
    text: str = ""
    # the same windows as (start, end) minutes of the week, for a cheap check on the hot path
    spans: tuple[tuple[int, int], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        spans = tuple(
            (day * 1440 + start.hour * 60 + start.minute, day * 1440 + _minutes_end(end))
            for day, start, end in self.windows
        )
        object.__setattr__(self, "spans", spans)

    @classmethod
    def parse(cls, text: str | None) -> WorkingHours:
        """Parse ``mon-fri 09:00-17:00; sat 10:00-14:00`` (blank = always)."""
        if not text or not text.strip():
            return cls()
        windows: list[tuple[int, time, time]] = []
        for raw in re.split(r"[;,]", text):
            part = raw.strip()
            if not part:
                continue
            m = re.fullmatch(
                r"([a-z]{3})(?:\s*-\s*([a-z]{3}))?\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})",
                part.lower(),
            )
            if not m or m.group(1) not in _DAYS or (m.group(2) and m.group(2) not in _DAYS):
                raise ValueError(
                    f"cannot read working hours {part!r}; write e.g. 'mon-fri 09:00-17:00'"
                )
            first = _DAYS.index(m.group(1))
            last = _DAYS.index(m.group(2)) if m.group(2) else first
            start, end = _clock(m.group(3)), _clock(m.group(4))
            if end <= start:
                raise ValueError(f"working hours {part!r} end before they start")
            days = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
            windows.extend((day, start, end) for day in days)
        return cls(tuple(windows), text.strip())

    def covers(self, local: datetime) -> bool:
        return self.covers_minute(local.weekday() * 1440 + local.hour * 60 + local.minute)

    def covers_minute(self, minute_of_week: int) -> bool:
        """Whether the rep works at this minute of the week (Monday 00:00 = 0), local time."""
        if not self.spans:
            return True
        return any(start <= minute_of_week < end for start, end in self.spans)

    def minute_table(self) -> bytes | None:
        """``covers_minute`` for every minute of the week (1 = working) as one lookup; None
        when always working."""
        return _minute_table(self.spans) if self.spans else None


MINUTES_PER_WEEK = 7 * 1440


@lru_cache(maxsize=1024)
def _minute_table(spans: tuple[tuple[int, int], ...]) -> bytes:
    # shared by every rep with the same hours (10 KB each): reps mostly share a few schedules
    table = bytearray(MINUTES_PER_WEEK)
    for start, end in spans:
        first, last = max(start, 0), min(end, MINUTES_PER_WEEK)
        if first < last:
            table[first:last] = b"\x01" * (last - first)
    return bytes(table)


def _minutes_end(end: time) -> int:
    return 1440 if end == time(23, 59, 59, 999999) else end.hour * 60 + end.minute


def _clock(text: str) -> time:
    hours, minutes = (int(x) for x in text.split(":"))
    if hours == 24 and minutes == 0:
        return time(23, 59, 59, 999999)
    return time(hours, minutes)


@dataclass(frozen=True, slots=True)
class DateRange:
    start: date
    end: date  # inclusive

    @classmethod
    def parse(cls, text: str) -> DateRange:
        """Parse ``2026-12-01..2026-12-05`` or a single day ``2026-12-01``."""
        first, _, last = text.strip().partition("..")
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if last else start
        if end < start:
            raise ValueError(f"out-of-office range {text!r} ends before it starts")
        return cls(start, end)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"


@dataclass(frozen=True, slots=True)
class Caps:
    """Most leads a rep may be given per calendar day, ISO week and month (None = no cap)."""

    per_day: int | None = None
    per_week: int | None = None
    per_month: int | None = None

    def items(self) -> tuple[tuple[str, int | None], ...]:
        return (("day", self.per_day), ("week", self.per_week), ("month", self.per_month))

    def over(self, default: Caps) -> Caps:
        """These caps where set, the default's elsewhere: a rep's cell overrides one period."""
        return Caps(
            self.per_day if self.per_day is not None else default.per_day,
            self.per_week if self.per_week is not None else default.per_week,
            self.per_month if self.per_month is not None else default.per_month,
        )


@dataclass(frozen=True, slots=True)
class Rep:
    id: str
    name: str = ""
    email: str | None = None
    teams: tuple[str, ...] = ()
    role: Role = Role.REP
    timezone: str = "UTC"
    working_hours: WorkingHours = field(default_factory=WorkingHours)
    out_of_office: tuple[DateRange, ...] = ()
    weight: float = 1.0
    caps: Caps | None = None  # a period left None takes the policy's default capacity
    skills: frozenset[str] = frozenset()
    regions: tuple[str, ...] = ()
    seniority: Seniority = Seniority.MID
    office_lat: float | None = None
    office_lon: float | None = None
    active: bool = True

    def effective_caps(self, default: Caps) -> Caps:
        return default if self.caps is None else _merged(self.caps, default)

    def local_time(self, moment: datetime) -> datetime:
        return moment.astimezone(zone(self.timezone))

    def has_skill(self, kind: str, value: str | None) -> bool:
        return value is not None and skill_key(kind, value) in self.skills


@lru_cache(maxsize=4096)
def _merged(own: Caps, default: Caps) -> Caps:
    # cached: eligibility asks for every candidate of every lead, and caps repeat
    return own.over(default)


def skill_key(kind: str, value: str) -> str:
    """The stored form of a skill: ``Product: GTX Pro`` and ``product:gtx-pro`` are one skill."""
    return f"{kind.strip().lower()}:{skill_slug(value)}"


def parse_skill(text: str) -> str:
    """``kind:value`` from a reps file, in its stored form (a bare value has no kind)."""
    kind, sep, value = text.partition(":")
    return skill_key(kind, value) if sep else skill_slug(text)


def skill_slug(value: str) -> str:
    """``GTX Pro`` and ``gtx-pro`` name the same skill value."""
    return re.sub(r"[\s_]+", "-", value.strip().lower())
