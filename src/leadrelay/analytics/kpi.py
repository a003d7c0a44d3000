"""KPIs of routing, sliced by up to two dimensions. Pure: facts in, rows out.

Definitions (the same in the CLI, the API and the pages):
- **distributed**: a person became accountable for the lead (a rep, a team's owner, a pool's
  owner). **not distributed**: accepted by screening, not a duplicate, and nobody accountable
  yet (the manager queue, an ownerless pool); their **aging** buckets count from arrival to now.
- **turnaround**: arrival to first accountable person; **time to accept** and **time to first
  contact**: first accountable person to the rep's accept / first "contacted" outcome.
- **throughput**: distributed leads per day over the days the group's leads arrived in.
- **SLA hit rate**: of the group's SLA timers (accept, contact, claim, hand-off deadlines) that
  are decided, the share met: met ÷ (met + breached). A timer still open past its due moment
  counts as breached; one ended because the lead moved on (outcome ``moved``) counts in neither.
- **contact rate**: contacted ÷ distributed; **conversion**: won ÷ distributed; **win rate**:
  won ÷ (won + lost), over closed leads only; **won value**: the sum of won deals.
Percentiles are nearest-rank; a rate with no denominator is None, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from leadrelay.store.facts import LeadFacts

DIMENSIONS = (
    "unit", "owner", "route", "product", "value_slab", "priority", "source", "confidence",
    "period", "status", "experiment", "arm",
)  # fmt: skip
PERIODS = ("day", "week", "month")
AGING = (
    ("under 1h", timedelta(hours=1)),
    ("1-4h", timedelta(hours=4)),
    ("4-24h", timedelta(hours=24)),
    ("1-7d", timedelta(days=7)),
    ("over 7d", timedelta.max),
)
_UNROUTED = frozenset({"screened_out", "duplicate"})


@dataclass
class KpiRow:
    group: dict[str, str]
    leads: int = 0
    distributed: int = 0
    not_distributed: int = 0
    screened_out: int = 0
    duplicates: int = 0
    aging: dict[str, int] = field(default_factory=lambda: {name: 0 for name, _ in AGING})
    turnaround_p50_s: float | None = None
    turnaround_p90_s: float | None = None
    accept_p50_s: float | None = None
    accept_p90_s: float | None = None
    first_contact_p50_s: float | None = None
    first_contact_p90_s: float | None = None
    throughput_per_day: float | None = None
    contacted: int = 0
    won: int = 0
    lost: int = 0
    won_value: float = 0.0
    contact_rate: float | None = None
    conversion_rate: float | None = None
    win_rate: float | None = None
    sla_met: int = 0
    sla_breached: int = 0
    sla_hit_rate: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def confidence_band(score: float) -> str:
    """Score bands of 20 points: the lead's 'confidence' dimension."""
    if score < 20:
        return "score <20"
    if score >= 80:
        return "score 80+"
    low = int(score // 20) * 20
    return f"score {low}-{low + 19}"


def period_start(moment: datetime, period: str) -> date:
    day = moment.date()
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")


def dimension(facts: LeadFacts, name: str, *, period: str, units: Mapping[str, str]) -> str:
    """The lead's value in a dimension, as text ("(none)" when it has none)."""
    value: object
    if name == "unit":
        value = facts.team or (units.get(facts.owner) if facts.owner else None)
    elif name == "confidence":
        value = confidence_band(facts.score)
    elif name == "period":
        value = period_start(facts.received_at, period).isoformat()
    else:
        value = getattr(facts, name)
    return "(none)" if value in (None, "") else str(value)


def kpis(
    facts: Iterable[LeadFacts],
    *,
    now: datetime,
    by: Sequence[str] = (),
    period: str = "week",
    units: Mapping[str, str] | None = None,
) -> list[KpiRow]:
    """One row per combination of the ``by`` dimensions (one row overall without any), sorted.

    ``units`` maps a rep to their unit (first team) for leads not held by a team.
    """
    unknown = [name for name in by if name not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension {unknown[0]!r}; use one of {', '.join(DIMENSIONS)}")
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
    groups: dict[tuple[str, ...], _Tally] = {}
    for fact in facts:
        key = tuple(dimension(fact, name, period=period, units=units or {}) for name in by)
        tally = groups.get(key)
        if tally is None:
            tally = groups[key] = _Tally()
        tally.add(fact, now)
    return [groups[key].row(dict(zip(by, key, strict=True))) for key in sorted(groups)]


class _Tally:
    def __init__(self) -> None:
        self.row_ = KpiRow(group={})
        self.turnaround: list[float] = []
        self.accept: list[float] = []
        self.contact: list[float] = []
        self.days: set[date] = set()

    def add(self, f: LeadFacts, now: datetime) -> None:
        r = self.row_
        r.leads += 1
        self.days.add(f.received_at.date())
        if f.status == "screened_out":
            r.screened_out += 1
            return
        if f.status == "duplicate":
            r.duplicates += 1
            return
        r.sla_met += f.sla_met
        r.sla_breached += f.sla_breached
        if f.first_owned_at is None:
            r.not_distributed += 1
            age = now - f.received_at
            for name, limit in AGING:
                if age < limit:
                    r.aging[name] += 1
                    break
            return
        r.distributed += 1
        self.turnaround.append(max((f.first_owned_at - f.received_at).total_seconds(), 0.0))
        if f.accepted_at is not None:
            self.accept.append(max((f.accepted_at - f.first_owned_at).total_seconds(), 0.0))
        if f.first_contact_at is not None:
            r.contacted += 1
            self.contact.append(max((f.first_contact_at - f.first_owned_at).total_seconds(), 0.0))
        if f.won_at is not None:
            r.won += 1
            r.won_value += f.won_value or 0.0
        elif f.lost_at is not None:
            r.lost += 1

    def row(self, group: dict[str, str]) -> KpiRow:
        r = self.row_
        r.group = group
        r.turnaround_p50_s = percentile(self.turnaround, 50)
        r.turnaround_p90_s = percentile(self.turnaround, 90)
        r.accept_p50_s = percentile(self.accept, 50)
        r.accept_p90_s = percentile(self.accept, 90)
        r.first_contact_p50_s = percentile(self.contact, 50)
        r.first_contact_p90_s = percentile(self.contact, 90)
        if self.days:
            span = (max(self.days) - min(self.days)).days + 1
            r.throughput_per_day = r.distributed / span
        r.contact_rate = _ratio(r.contacted, r.distributed)
        r.conversion_rate = _ratio(r.won, r.distributed)
        r.win_rate = _ratio(r.won, r.won + r.lost)
        r.sla_hit_rate = _ratio(r.sla_met, r.sla_met + r.sla_breached)
        return r


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(pct / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
