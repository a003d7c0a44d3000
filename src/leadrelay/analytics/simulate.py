"""What would a policy have done with past leads? Replay history through the one ``decide``.

Leads are replayed in arrival order (``received_at``; ties keep file order), each decided at its
own moment on one snapshot of the org that is advanced in memory as leads are given
(``Snapshot.record``): caps, working hours and out-of-office are checked at each lead's time,
round-robin rotations and loads move as they would have. Nothing is read from or written to the
routing tables: the replay starts with every rep at zero load.

**Loads are released when the history says the lead closed**: a lead with ``closed_at`` stops
counting as open for whoever the *simulation* gave it to at that moment (the assumption: the
lead would have closed at the same time whoever had it). Leads still open at the end stay open.
Daily, weekly and monthly cap counters are never released; they count leads given.

**SLA risk**: a lead given to a rep outside that rep's working hours (a route with
``off_hours: true`` allows it, and the lead waits for the morning), or given when it takes the
rep to ``NEAR_CAP`` (90%) or more of a daily, weekly or monthly cap (little slack left to work
it). Leads queued for a manager, a team or a pool are counted as not placed, with why.

**Outcome estimates use the replay method**: only leads whose simulated owner equals the
historical owner have an outcome the simulation can vouch for; their win rate (Wilson 95%) and
won value per closed lead (normal 95% interval of the mean) estimate the policy's. The number
of those matched leads is always shown: a small match makes a wide interval. The historical
figures over every closed lead are beside them for comparison.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from leadrelay.analytics.experiment import Rate, wilson
from leadrelay.domain.decision import Decision, Status
from leadrelay.domain.org import Account
from leadrelay.domain.snapshot import Original, Snapshot
from leadrelay.files.history import HistoryRow
from leadrelay.gc_pause import collector_paused
from leadrelay.pipeline.decide import decide
from leadrelay.pipeline.duplicates import keys_for, window
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store.org import Org
from leadrelay.workflow.duplicate_index import DuplicateIndex
from leadrelay.workflow.follow_up import HOLDS

NEAR_CAP = 0.9
Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class RepLoad:
    rep: str
    leads: int  # given by the simulation
    historical: int  # given by history
    max_per_day: int  # most leads on one local day
    cap_per_day: int | None
    days_at_cap: int
    sla_risk: int

    def as_dict(self) -> dict[str, Any]:
        return {"rep": self.rep, "leads": self.leads, "historical": self.historical,
                "max_per_day": self.max_per_day, "cap_per_day": self.cap_per_day,
                "days_at_cap": self.days_at_cap, "sla_risk": self.sla_risk}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Mean:
    """A mean with its normal 95% interval (None ends below two values)."""

    n: int
    mean: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "low": self.low, "high": self.high}


def mean_interval(values: Sequence[float]) -> Mean:
    n = len(values)
    if n == 0:
        return Mean(0, None, None, None)
    mean = sum(values) / n
    if n < 2:
        return Mean(n, mean, None, None)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = Z95 * sd / math.sqrt(n)
    return Mean(n, mean, mean - half, mean + half)


@dataclass(frozen=True, slots=True)
class Estimate:
    """The replay estimate of outcomes, beside history's own figures."""

    closed: int  # history leads won or lost, with a historical owner
    matched: int  # of those, the simulated owner is the historical one
    agreed: int  # all leads (open too) whose simulated owner is the historical one
    win_rate: Rate  # over matched closed leads
    value_per_lead: Mean  # won value per matched closed lead (lost = 0)
    historical_win_rate: Rate  # over every closed lead
    historical_value_per_lead: Mean

    def as_dict(self) -> dict[str, Any]:
        return {
            "closed": self.closed,
            "matched": self.matched,
            "agreed": self.agreed,
            "win_rate": self.win_rate.as_dict(),
            "value_per_lead": self.value_per_lead.as_dict(),
            "historical_win_rate": self.historical_win_rate.as_dict(),
            "historical_value_per_lead": self.historical_value_per_lead.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Simulation:
    leads: int
    first: datetime | None
    last: datetime | None
    statuses: dict[str, int]
    not_placed: dict[str, int]  # why leads were not given to a rep
    sla_risk: dict[str, int]  # off_hours / near_cap
    reps: tuple[RepLoad, ...]
    estimate: Estimate
    decisions: tuple[Decision, ...] = field(repr=False, default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "statuses": self.statuses,
            "not_placed": self.not_placed,
            "sla_risk": self.sla_risk,
            "near_cap": NEAR_CAP,
            "reps": [r.as_dict() for r in self.reps],
            "estimate": self.estimate.as_dict(),
        }


@collector_paused()  # every decision is kept: see gc_pause
def simulate(
    history: Sequence[HistoryRow],
    policy: CompiledPolicy,
    org: Org,
    *,
    accounts: Sequence[Account] = (),
) -> Simulation:
    """Replay ``history`` through ``decide`` under ``policy`` on ``org`` (see the module doc).

    ``accounts`` are every account, for a policy that matches company names (``fuzzy_name``);
    domains are matched through ``org.accounts_by_domain``.
    """
    rows = sorted(history, key=lambda r: r.lead.received_at)  # stable: ties keep file order
    snapshot = Snapshot(
        now=rows[0].lead.received_at if rows else datetime.min,
        reps=org.reps,
        teams=org.teams,
        accounts_by_domain=org.accounts_by_domain,
        team_members=org.team_members,
    )
    rules = policy.model.matching.accounts
    if rules is not None and rules.fuzzy_name is not None:
        from leadrelay.pipeline.account_index import AccountIndex

        snapshot.account_index = AccountIndex(list(accounts))
    span = window(policy)
    dupes = DuplicateIndex({}, span) if span is not None else None

    closing: list[tuple[datetime, int, str]] = []  # (closed_at, order, rep): open loads to release
    per_day: Counter[tuple[str, date]] = Counter()
    risk: Counter[str] = Counter()
    risk_by_rep: Counter[str] = Counter()
    decisions: list[Decision] = []
    for order, row in enumerate(rows):
        at = row.lead.received_at
        while closing and closing[0][0] <= at:
            _, _, rep_id = heapq.heappop(closing)
            snapshot.open_leads[rep_id] = max(snapshot.open_leads.get(rep_id, 0) - 1, 0)
        snapshot.now = at
        keys = keys_for(row.lead, policy) if dupes is not None else ()
        if dupes is not None and keys:
            snapshot.originals = dupes.originals_for(keys, at)
        decision = decide(row.lead, snapshot, policy)
        decisions.append(decision)
        if dupes is not None and keys and decision.status in HOLDS:
            dupes.held(order, keys, Original(None, decision.owner, at, row.lead.external_id))
        owner = decision.owner
        if decision.status is not Status.ASSIGNED or owner is None:
            continue
        snapshot.record(decision.route, owner, at)
        rep = org.reps.get(owner)
        if rep is not None:
            per_day[(owner, rep.local_time(at).date())] += 1
            why = _sla_risk(snapshot, rep_id=owner, at=at, policy=policy)
            if why is not None:
                risk[why] += 1
                risk_by_rep[owner] += 1
        if row.closed_at is not None:
            heapq.heappush(closing, (row.closed_at, order, owner))

    unplaced = [d for d in decisions if d.status is not Status.ASSIGNED]
    return Simulation(
        leads=len(rows),
        first=rows[0].lead.received_at if rows else None,
        last=rows[-1].lead.received_at if rows else None,
        statuses=dict(Counter(d.status.value for d in decisions).most_common()),
        not_placed=dict(Counter(map(why_not_placed, unplaced)).most_common()),
        sla_risk={"off_hours": risk["off_hours"], "near_cap": risk["near_cap"]},
        reps=_rep_loads(rows, decisions, org, policy, per_day, risk_by_rep),
        estimate=replay_estimate(rows, decisions),
        decisions=tuple(decisions),
    )


def _sla_risk(
    snapshot: Snapshot, *, rep_id: str, at: datetime, policy: CompiledPolicy
) -> str | None:
    """Why the lead just given to ``rep_id`` (already recorded) is at risk of a late answer."""
    rep = snapshot.reps[rep_id]
    if not rep.working_hours.covers(rep.local_time(at)):
        return "off_hours"
    for period, cap in rep.effective_caps(policy.default_caps).items():
        if cap and snapshot.count(rep, period) >= NEAR_CAP * cap:
            return "near_cap"
    return None


def why_not_placed(decision: Decision) -> str:
    """One short line: why a lead did not go to a rep."""
    if decision.status is Status.SCREENED_OUT:
        return f"screened out: {decision.screening.rejected_by}"
    if decision.status is Status.MANUAL:
        return decision.reason.split(" (", 1)[0]
    if decision.status is Status.DUPLICATE:
        return "duplicate of an earlier lead"
    return f"{decision.status.value}: {decision.team or decision.pool or ''}".rstrip(": ")


def _rep_loads(
    rows: Sequence[HistoryRow],
    decisions: Sequence[Decision],
    org: Org,
    policy: CompiledPolicy,
    per_day: Counter[tuple[str, date]],
    risk_by_rep: Counter[str],
) -> tuple[RepLoad, ...]:
    given = Counter(d.owner for d in decisions if d.status is Status.ASSIGNED and d.owner)
    historical = Counter(r.owner for r in rows if r.owner)
    most: dict[str, int] = {}
    days: dict[str, list[int]] = {}
    for (rep_id, _), n in per_day.items():
        most[rep_id] = max(most.get(rep_id, 0), n)
        days.setdefault(rep_id, []).append(n)
    ids = list(dict.fromkeys([*org.reps, *sorted(given), *sorted(historical)]))
    out = []
    for rep_id in ids:
        rep = org.reps.get(rep_id)
        cap = rep.effective_caps(policy.default_caps).per_day if rep is not None else None
        at_cap = sum(1 for n in days.get(rep_id, ()) if cap is not None and n >= cap)
        load = RepLoad(
            rep_id, given[rep_id], historical[rep_id], most.get(rep_id, 0), cap, at_cap,
            risk_by_rep[rep_id],
        )  # fmt: skip
        out.append(load)
    return tuple(out)


def replay_estimate(rows: Sequence[HistoryRow], decisions: Sequence[Decision]) -> Estimate:
    """The replay method: outcomes count only where the simulated owner is the historical one."""
    closed_values: list[float] = []
    matched_values: list[float] = []
    won = matched_won = agreed = 0
    for row, decision in zip(rows, decisions, strict=True):
        same = (
            row.owner is not None
            and decision.status is Status.ASSIGNED
            and decision.owner == row.owner
        )
        agreed += same
        if row.outcome is None or row.owner is None:
            continue
        value = (row.won_value or 0.0) if row.outcome == "won" else 0.0
        closed_values.append(value)
        won += row.outcome == "won"
        if same:
            matched_values.append(value)
            matched_won += row.outcome == "won"
    return Estimate(
        closed=len(closed_values),
        matched=len(matched_values),
        agreed=agreed,
        win_rate=wilson(matched_won, len(matched_values)),
        value_per_lead=mean_interval(matched_values),
        historical_win_rate=wilson(won, len(closed_values)),
        historical_value_per_lead=mean_interval(closed_values),
    )


def org_from_parts(
    reps: Sequence[Any], teams: Sequence[Any] = (), accounts: Sequence[Account] = ()
) -> Org:
    """An ``Org`` from reps, teams and accounts read from files (as the store would hold it)."""
    by_domain: dict[str, Account] = {}
    for account in sorted(accounts, key=lambda a: a.id):
        if account.domain:
            by_domain.setdefault(account.domain, account)
    members: dict[str, list[str]] = {}
    for rep in reps:
        for team in rep.teams:
            members.setdefault(team, []).append(rep.id)
    return Org(
        version="files",
        reps={rep.id: rep for rep in reps},
        teams={team.id: team for team in teams},
        accounts_by_domain=by_domain,
        team_members={team: tuple(ids) for team, ids in members.items()},
    )


def org_from_files(
    reps: Path, teams: Path | None = None, accounts: Path | None = None
) -> tuple[Org, list[Account]]:
    """The org from reps/teams/accounts files (validated as ``leadrelay load`` does)."""
    from leadrelay import files

    rep_list = files.read_reps(reps)
    team_list = files.read_teams(teams) if teams is not None else []
    account_list = files.read_accounts(accounts) if accounts is not None else []
    return org_from_parts(rep_list, team_list, account_list), account_list


def crm_inputs(workdir: Path) -> tuple[Org, list[Account], list[HistoryRow]]:
    """The CRM history case (``demo_org.build_crm_case``) written to ``workdir`` and read back."""
    from leadrelay.demo_org import build_crm_case
    from leadrelay.files.history import read_history

    case = build_crm_case(workdir)
    org, accounts = org_from_files(case.reps, case.teams, case.accounts)
    return org, accounts, read_history(case.history)
