"""Everything ``decide`` may read, frozen at one moment.

The store builds a snapshot inside a transaction; dry runs and simulations build their own and
advance it in memory with ``record``. Nothing else feeds a decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from leadrelay.domain import clock
from leadrelay.domain.lead import Lead
from leadrelay.domain.org import Account, Team
from leadrelay.domain.performance import Performance
from leadrelay.domain.quick import quick_constructor
from leadrelay.domain.rep import Rep
from leadrelay.domain.social import Connection

PERIODS = ("day", "week", "month")


def period_starts(moment: datetime, timezone: str) -> dict[str, date]:
    """First day of the calendar day, ISO week and month containing ``moment`` in ``timezone``."""
    return clock.period_starts(moment, timezone)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A rep's place in one route's rotation: how many leads, and the route sequence of the last."""

    count: int = 0
    last_seq: int = 0  # 0 = never given a lead by this route


NEVER = LedgerEntry()
# one per lead recorded: built the quick way (see quick.py)
_new_entry = quick_constructor(LedgerEntry)


@dataclass(frozen=True, slots=True)
class Original:
    """A lead holding an owner that later leads with one of its duplicate keys are linked to.

    ``lead_id`` is None while a bulk run has not stored it yet (or never will: a dry run).
    """

    lead_id: int | None
    owner: str | None
    received_at: datetime
    external_id: str | None = None


class NameMatchLike(Protocol):
    @property
    def account(self) -> Account: ...
    @property
    def score(self) -> float: ...
    @property
    def key(self) -> str: ...
    @property
    def matched_name(self) -> str: ...


class CompanyMatcher(Protocol):
    """Finds the account a company name belongs to (pipeline/account_index.AccountIndex)."""

    def match(self, company: str | None, threshold: float) -> NameMatchLike | None: ...


class SocialGraph(Protocol):
    """Who in the company knows the lead's person or company (social/graph.py)."""

    def proximity(self, lead: Lead, rep_ids: Sequence[str]) -> Mapping[str, Connection]:
        """The best connection of each of ``rep_ids`` that has one to the lead."""
        ...


@dataclass(slots=True)
class Snapshot:
    now: datetime
    reps: Mapping[str, Rep] = field(default_factory=dict)
    teams: Mapping[str, Team] = field(default_factory=dict)
    accounts_by_domain: Mapping[str, Account] = field(default_factory=dict)
    # leads given per (rep, period, period start); periods are in the rep's own time zone
    counters: dict[tuple[str, str, date], int] = field(default_factory=dict)
    open_leads: dict[str, int] = field(default_factory=dict)
    ledger: dict[tuple[str, str], LedgerEntry] = field(default_factory=dict)  # (route, rep)
    route_seq: dict[str, int] = field(default_factory=dict)  # leads given by each route so far
    team_members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # duplicate key -> the earliest original holding it (only this lead's keys, live)
    originals: dict[str, Original] = field(default_factory=dict)
    # every account by company name, when the policy matches names (fuzzy_name)
    account_index: CompanyMatcher | None = None
    # rep id -> why this lead may not go to it (it declined the lead, or missed its SLA): set
    # when one lead is routed again, so a lead never bounces back to a previous holder
    barred: Mapping[str, str] = field(default_factory=dict)
    # measured results of leads given to each rep, for the performance factor and earn_it
    performance: Performance | None = None
    # the relationship graph, for the social factor and strategy
    social: SocialGraph | None = None

    def __post_init__(self) -> None:
        if not self.team_members and self.reps:
            members: dict[str, list[str]] = {}
            for rep in self.reps.values():
                for team in rep.teams:
                    members.setdefault(team, []).append(rep.id)
            self.team_members = {team: tuple(ids) for team, ids in members.items()}

    def count(self, rep: Rep, period: str) -> int:
        start = period_starts(self.now, rep.timezone)[period]
        return self.counters.get((rep.id, period, start), 0)

    def entry(self, route: str, rep_id: str) -> LedgerEntry:
        return self.ledger.get((route, rep_id), NEVER)

    def record(self, route: str | None, rep_id: str | None, at: datetime) -> None:
        """Advance counters and the rotation as if a lead was given to ``rep_id`` at ``at``.

        Used by bulk routing, dry runs and simulation; live routing writes the same facts to the
        store instead.
        """
        if rep_id is None:
            return
        rep = self.reps.get(rep_id)
        if rep is not None:
            for period, start in period_starts(at, rep.timezone).items():
                key = (rep_id, period, start)
                self.counters[key] = self.counters.get(key, 0) + 1
        self.open_leads[rep_id] = self.open_leads.get(rep_id, 0) + 1
        if route is not None:
            seq = self.route_seq.get(route, 0) + 1
            self.route_seq[route] = seq
            old = self.ledger.get((route, rep_id), NEVER)
            self.ledger[(route, rep_id)] = _new_entry(old.count + 1, seq)
