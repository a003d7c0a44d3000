"""A stored Decision laid out for the lead page: the same facts as ``explain_lines``, as parts
a template can put in tables (screening steps, each route tried, each candidate and why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadrelay.domain.decision import Candidate, Decision, RouteTrial, ScreeningStep
from leadrelay.explain import headline

# What each strategy does, for a rep who never read the policy reference.
STRATEGY_WORDS = {
    "round_robin": "takes turns: the eligible rep who waited longest gets it",
    "weighted_round_robin": "takes turns in proportion to each rep's weight",
    "least_loaded": "the eligible rep with the fewest open leads for their capacity",
    "criteria": "a fixed rep: the first eligible one the route names",
    "territory": "the rep whose territory covers the lead, nearest office first",
    "account_owner": "the owner of the lead's existing account",
    "team": "held by the team; its owner is accountable until a member takes it",
    "claim": "open in a pool: the first rep to claim it gets it",
    "manual": "queued for a manager to assign",
    "best_match": "the best score over weighted factors (expertise, performance, ...)",
    "performance": "shares earned by measured win rates",
    "earn_it": "only reps who passed the route's gates",
    "social": "the rep closest to the lead's person or company",
    "claimed": "claimed from a pool by the rep",
    "reassigned": "reassigned by a manager",
    "assigned_manually": "assigned by a manager",
}


@dataclass(frozen=True, slots=True)
class StepLine:
    text: str
    matched: bool
    note: str


@dataclass(frozen=True, slots=True)
class CandidateLine:
    rep: str
    chosen: bool
    excluded: str | None
    score: float | None
    factors: tuple[tuple[str, float], ...]
    note: str


@dataclass(frozen=True, slots=True)
class RouteLine:
    number: int
    name: str
    strategy: str | None
    strategy_words: str
    matched: bool
    took: bool
    outcome: str
    candidates: tuple[CandidateLine, ...]


@dataclass(frozen=True, slots=True)
class TraceView:
    headline: str
    reason: str
    policy_version: int
    decided_at: datetime
    score: float
    value_slab: str
    priority: str
    rejected_by: str | None
    steps: tuple[StepLine, ...]
    account: str | None
    duplicate_of: int | None
    experiment: str | None
    routes: tuple[RouteLine, ...]


def step_line(step: ScreeningStep) -> StepLine:
    if step.kind == "reject":
        text = f"screened out by rule {step.rule!r}" if step.matched else f"passed {step.rule!r}"
    elif step.kind == "score":
        gained = f"+{step.points:g} points" if step.matched else "no points"
        text = f"{gained} from {step.rule!r}"
    else:
        text = f"{step.kind} {step.rule!r}: {'yes' if step.matched else 'no'}"
    return StepLine(text, step.matched, step.note)


def candidate_line(candidate: Candidate, chosen: bool) -> CandidateLine:
    return CandidateLine(
        rep=candidate.rep,
        chosen=chosen,
        excluded=candidate.excluded,
        score=candidate.score,
        factors=tuple(sorted(candidate.factors.items())),
        note=candidate.note,
    )


def route_line(number: int, trial: RouteTrial, decision: Decision) -> RouteLine:
    took = trial.matched and trial.route == decision.route
    return RouteLine(
        number=number,
        name=trial.route,
        strategy=trial.strategy,
        strategy_words=STRATEGY_WORDS.get(trial.strategy or "", ""),
        matched=trial.matched,
        took=took,
        outcome=trial.outcome,
        candidates=tuple(
            candidate_line(c, took and c.rep == decision.owner) for c in trial.candidates
        ),
    )


def trace_view(decision: Decision) -> TraceView:
    s = decision.screening
    account = None
    if decision.account:
        account = f"{decision.account} (matched by {decision.account_match or 'its key'})"
    experiment = f"{decision.experiment}: {decision.arm} arm" if decision.experiment else None
    return TraceView(
        headline=headline(decision),
        reason=decision.reason,
        policy_version=decision.policy_version,
        decided_at=decision.decided_at,
        score=s.score,
        value_slab=s.value_slab,
        priority=s.priority,
        rejected_by=s.rejected_by,
        steps=tuple(step_line(step) for step in s.steps),
        account=account,
        duplicate_of=decision.duplicate_of,
        experiment=experiment,
        routes=tuple(route_line(n, t, decision) for n, t in enumerate(decision.trials, 1)),
    )
