"""``leadrelay route --optimize``: give a batch of leads to reps for the most expected value.

1. Plain routing decides the batch (``route_many`` dry run: screening, duplicates, account
   owners, routes, eligibility — the one ``decide``). A lead the plain run gave to a rep by a
   route choosing among reps is *open to optimisation*; its candidates are that route's
   candidates that were eligible, or excluded only by a cap (caps are the flow's job here).
   Everything else — screened out, duplicates, account owners, teams, pools, manual, leads in an
   experiment — keeps its plain decision.
2. Each candidate edge is worth ``value x P(win | rep, segment)``: the lead's value (1 when
   blank) times the rep's Bayesian-shrunk win rate in the lead's segment (``Performance``).
3. ``analytics.optimize.solve`` assigns the open leads (each lead's top ``k`` edges) within each
   rep's room in the batch and, with ``fairness``, within that share of its fair share.
4. The batch is routed again for real with ``decide_with``: each open lead is decided afresh on
   the live snapshot and, when its planned rep is still eligible there, given to that rep with a
   Decision that says so (expected value, rank among candidates, every candidate's value).
   Re-checking on the live snapshot keeps every cap (DESIGN invariant 3) whatever happens.

A rep's room in the batch is the least, over its caps and every cap period the batch touches,
of cap minus the leads already counted there, minus the leads the batch gives it that are not
open to optimisation. That is exact for a batch inside one day and conservative across days.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

import numpy as np
from sqlalchemy import Engine

from leadrelay.analytics.optimize import UNASSIGNED, Edges, Plan, fair_bounds, greedy, solve, top_k
from leadrelay.domain.decision import Candidate, Decision, RouteTrial, Status
from leadrelay.domain.lead import Lead
from leadrelay.domain.performance import ALL, SEGMENT_FIELDS, Performance, segment_key
from leadrelay.domain.rep import Rep
from leadrelay.domain.snapshot import Snapshot, period_starts
from leadrelay.errors import InputFileError, Problem
from leadrelay.pipeline.decide import EXISTING_ACCOUNT_ROUTE, decide
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.workflow.assign import RouteResult

STRATEGY = "optimal_batch"  # Decision.strategy of a lead the optimiser placed
DEFAULT_TOP_K = 20
DEFAULT_SEGMENT = "industry"

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Option:
    """One candidate of an open lead: the rep, its win rate and the edge's expected value."""

    rep: str
    win_rate: float
    expected: float
    why: str  # the rate estimate in words


@dataclass(frozen=True, slots=True)
class OpenLead:
    index: int  # position in the batch
    route: str
    value: float  # the lead's value, 1 when blank
    options: tuple[Option, ...]  # best first
    plain_owner: str


@dataclass(frozen=True, slots=True)
class BatchReport:
    """What ``--optimize`` did: results per lead and the figures it prints."""

    results: list[RouteResult]
    leads: int
    open_leads: int
    optimal_value: float  # expected value of the optimal plan over the open leads
    greedy_value: float  # each open lead in arrival order to its best rep with room
    plain_value: float  # what plain routing gave them
    planned: int  # open leads the plan assigned
    placed: int  # open leads stored with their planned rep
    fell_back: int  # planned leads whose rep was no longer eligible: plain decision kept
    floors_met: bool
    fairness: float | None
    top_k: int
    solve_seconds: float

    @property
    def gain_over_greedy(self) -> float:
        return self.optimal_value - self.greedy_value

    @property
    def gain_over_plain(self) -> float:
        return self.optimal_value - self.plain_value

    def as_dict(self) -> dict[str, object]:
        return {
            "leads": self.leads, "open_leads": self.open_leads,
            "optimal_value": self.optimal_value, "greedy_value": self.greedy_value,
            "plain_value": self.plain_value, "gain_over_greedy": self.gain_over_greedy,
            "gain_over_plain": self.gain_over_plain, "planned": self.planned,
            "placed": self.placed, "fell_back": self.fell_back, "floors_met": self.floors_met,
            "fairness": self.fairness, "top_k": self.top_k, "solve_seconds": self.solve_seconds,
        }  # fmt: skip


def route_optimized(
    engine: Engine,
    leads: Sequence[Lead],
    policy: CompiledPolicy,
    *,
    fairness: float | None = None,
    segment: str = DEFAULT_SEGMENT,
    k: int = DEFAULT_TOP_K,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> BatchReport:
    """Route ``leads`` with the open ones assigned for the most expected value (see above)."""
    from leadrelay.store import load_org, reader
    from leadrelay.store.performance import load_performance
    from leadrelay.store.snapshot import build_snapshot
    from leadrelay.workflow import route_many

    check_options(fairness, segment, k)
    batch = list(leads)
    if not batch:
        return _empty(fairness, k)
    plain = route_many(engine, batch, policy, dry_run=True)
    times = [lead.received_at for lead in batch]
    with reader(engine).connect() as conn:
        org = load_org(conn)
        before = build_snapshot(conn, org, min(times), through=max(times))
        performance = load_performance(conn, org.reps)
        conn.rollback()
    open_leads = open_to_optimise(batch, plain, org.reps, performance, segment)
    reps = sorted({o.rep for lead in open_leads for o in lead.options})
    index = {rep: i for i, rep in enumerate(reps)}
    edges = Edges.from_options(
        [[(index[o.rep], o.expected) for o in lead.options] for lead in open_leads]
    )
    room = _room(reps, org.reps, policy, before, batch, plain, open_leads)
    ceiling, floor = room, None
    if fairness is not None:
        weights = np.asarray([org.reps[r].weight for r in reps], dtype=np.float64)
        ceiling, floor = fair_bounds(edges, room, weights, fairness)
    started = time.perf_counter()
    best = top_k(edges, k) if len(edges) else edges
    prefer = np.asarray([index[lead.plain_owner] for lead in open_leads], dtype=np.int32)
    optimal = solve(best, len(open_leads), ceiling, floor, prefer)
    seconds = time.perf_counter() - started
    baseline = greedy(best, len(open_leads), ceiling)
    plain_value = sum(_expected(lead, lead.plain_owner) for lead in open_leads)

    plans = {
        id(batch[lead.index]): (lead, reps[owner], _rank(lead, reps[owner]))
        for lead, owner in zip(open_leads, optimal.owner.tolist(), strict=True)
        if owner != UNASSIGNED
    }
    placed: list[int] = []
    decider = _decider(plans, _summary(optimal, baseline, plain_value, len(open_leads)), placed)
    results = route_many(
        engine, batch, policy, dry_run=dry_run, progress=progress, decide_with=decider
    )
    return BatchReport(
        results=results,
        leads=len(batch),
        open_leads=len(open_leads),
        optimal_value=optimal.value,
        greedy_value=baseline.value,
        plain_value=plain_value,
        planned=optimal.assigned,
        placed=len(placed),
        fell_back=optimal.assigned - len(placed),
        floors_met=optimal.floors_met,
        fairness=fairness,
        top_k=k,
        solve_seconds=seconds,
    )


def open_to_optimise(
    batch: Sequence[Lead],
    plain: Sequence[RouteResult],
    reps: Mapping[str, Rep],
    performance: Performance,
    segment: str,
) -> list[OpenLead]:
    """The leads plain routing gave to a rep by choosing among a route's reps, with their
    candidates' expected values (best first)."""
    found: list[OpenLead] = []
    for i, (lead, result) in enumerate(zip(batch, plain, strict=True)):
        decision = result.decision
        trial = decision.chosen_trial
        if (
            not result.created
            or decision.status is not Status.ASSIGNED
            or decision.owner is None
            or trial is None
            or decision.route == EXISTING_ACCOUNT_ROUTE
            or decision.experiment is not None
        ):
            continue
        value = lead.value if lead.value is not None and lead.value > 0 else 1.0
        seg = _segment(lead, decision, segment)
        options = []
        for candidate in _takers(trial):
            rep = reps.get(candidate.rep)
            if rep is None:
                continue
            estimate = performance.win_rate(rep.id, rep.teams, seg)
            options.append(Option(rep.id, estimate.rate, value * estimate.rate, estimate.text(seg)))
        if options:
            options.sort(key=lambda o: -o.expected)  # stable: the route's order breaks ties
            found.append(OpenLead(i, trial.route, value, tuple(options), decision.owner))
    return found


def _takers(trial: RouteTrial) -> list[Candidate]:
    """Candidates eligible, or excluded only by a cap; each rep once."""
    seen: dict[str, Candidate] = {}
    for c in trial.candidates:
        if c.excluded is None or _cap_reason(c.excluded):
            seen.setdefault(c.rep, c)
    return list(seen.values())


def _cap_reason(text: str) -> bool:
    return text.startswith("at ") and " cap (" in text  # eligibility.RepProfile.at_cap


def _segment(lead: Lead, decision: Decision, name: str) -> str:
    if name == ALL:
        return ALL
    value = decision.screening.value_slab if name == "value_slab" else getattr(lead, name)
    return segment_key(name, value)


def _expected(lead: OpenLead, rep: str) -> float:
    for option in lead.options:
        if option.rep == rep:
            return option.expected
    return 0.0


def _rank(lead: OpenLead, rep: str) -> int:
    return next(i for i, o in enumerate(lead.options, 1) if o.rep == rep)


def _room(
    reps: list[str],
    org_reps: Mapping[str, Rep],
    policy: CompiledPolicy,
    before: Snapshot,
    batch: Sequence[Lead],
    plain: Sequence[RouteResult],
    open_leads: list[OpenLead],
) -> np.ndarray:
    """Each rep's room in the batch (see the module docstring)."""
    opened = {lead.index for lead in open_leads}
    fixed: dict[str, int] = {}
    for i, result in enumerate(plain):
        owner = result.decision.owner
        assigned = result.created and result.decision.status is Status.ASSIGNED
        if i not in opened and assigned and owner is not None:
            fixed[owner] = fixed.get(owner, 0) + 1
    times = sorted({batch[lead.index].received_at for lead in open_leads})
    windows: dict[str, set[tuple[str, date]]] = {}
    room = np.full(len(reps), len(open_leads), dtype=np.int64)
    for i, rep_id in enumerate(reps):
        rep = org_reps[rep_id]
        caps = rep.effective_caps(policy.default_caps)
        if all(cap is None for _, cap in caps.items()):
            continue
        spans = windows.get(rep.timezone)
        if spans is None:
            spans = windows[rep.timezone] = _windows(times, rep.timezone)
        limits = [
            cap - before.counters.get((rep_id, period, start), 0)
            for period, cap in caps.items()
            if cap is not None
            for kind, start in spans
            if kind == period
        ]
        room[i] = max(min([*limits, len(open_leads)]) - fixed.get(rep_id, 0), 0)
    return room


def _windows(times: list[datetime], timezone: str) -> set[tuple[str, date]]:
    """Every (period, first day) the batch's moments fall in, in ``timezone``."""
    found: set[tuple[str, date]] = set()
    last_hour: datetime | None = None
    for moment in times:
        hour = moment.replace(minute=0, second=0, microsecond=0)
        if hour == last_hour:
            continue  # a period never starts inside an hour
        last_hour = hour
        found.update(period_starts(moment, timezone).items())
    return found


def _summary(optimal: Plan, baseline: Plan, plain_value: float, n_open: int) -> str:
    return (
        f"batch of {n_open} open leads: optimal {optimal.value:,.2f},"
        f" greedy {baseline.value:,.2f}, plain routing {plain_value:,.2f}"
    )


def _decider(
    plans: dict[int, tuple[OpenLead, str, int]], summary: str, placed: list[int]
) -> Callable[[Lead, Snapshot, CompiledPolicy], Decision]:
    """``decide``, then the planned rep for an open lead if the live snapshot still allows it."""

    def decide_with(lead: Lead, snapshot: Snapshot, policy: CompiledPolicy) -> Decision:
        fresh = decide(lead, snapshot, policy)
        planned = plans.get(id(lead))
        if planned is None:
            return fresh
        open_lead, rep, rank = planned
        trial = fresh.chosen_trial
        if fresh.status is not Status.ASSIGNED or trial is None or trial.route != open_lead.route:
            return fresh
        if not any(c.rep == rep and c.excluded is None for c in trial.candidates):
            return fresh  # the rep's cap or hours moved since the plan: the plain decision
        placed.append(open_lead.index)
        return _placed(fresh, trial, open_lead, rep, rank, summary)

    return decide_with


def _placed(
    fresh: Decision, trial: RouteTrial, lead: OpenLead, rep: str, rank: int, summary: str
) -> Decision:
    """The Decision of a lead the plan placed: it explains itself from the stored trace."""
    chosen = lead.options[rank - 1]
    reason = (
        f"optimal batch assignment: expected value {chosen.expected:,.2f}"
        f" (value {lead.value:,.2f} x win rate {chosen.win_rate:.1%}), rank {rank} of"
        f" {len(lead.options)} candidates"
    )
    by_rep = {o.rep: o for o in lead.options}
    candidates = []
    for c in trial.candidates:
        option = by_rep.get(c.rep)
        if option is None or c.excluded is not None:
            candidates.append(c)
            continue
        mark = "chosen by the batch optimiser: " if c.rep == rep else ""
        note = f"{mark}expected value {option.expected:,.2f}; {option.why}"
        candidates.append(Candidate(c.rep, None, option.expected, dict(c.factors), note))
    outcome = f"{reason}; {summary}; the route's own pick would have been {fresh.owner}"
    return replace(
        fresh,
        owner=rep,
        reason=reason,
        strategy=STRATEGY,
        rotation=None,
        trials=tuple(
            replace(t, outcome=outcome, candidates=tuple(candidates)) if t is trial else t
            for t in fresh.trials
        ),
    )


def check_options(fairness: float | None, segment: str, k: int) -> None:
    if fairness is not None and not 0 <= fairness <= 1:
        raise InputFileError(Problem(f"{fairness} is not between 0 and 1", field="--fairness"))
    if segment != ALL and segment not in SEGMENT_FIELDS:
        choices = ", ".join((ALL, *SEGMENT_FIELDS))
        raise InputFileError(Problem(f"{segment!r}: use one of {choices}", field="--segment"))
    if k < 1:
        raise InputFileError(Problem(f"{k} is not a positive number", field="--top-k"))


def _empty(fairness: float | None, k: int) -> BatchReport:
    return BatchReport([], 0, 0, 0.0, 0.0, 0.0, 0, 0, 0, True, fairness, k, 0.0)
