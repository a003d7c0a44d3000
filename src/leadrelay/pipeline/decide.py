"""The routing brain: ``decide(lead, snapshot, policy) -> Decision``, pure.

No I/O, no clock, no global state: live routing, dry runs, simulation and experiments all call
this one function with snapshots they build, so there is no second implementation of anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from leadrelay.domain.decision import Candidate, Decision, RouteTrial, Screening, Status
from leadrelay.domain.lead import Lead
from leadrelay.domain.org import Account
from leadrelay.domain.rep import Rep
from leadrelay.domain.snapshot import Snapshot
from leadrelay.pipeline.eligibility import exclusion
from leadrelay.pipeline.match import match_account
from leadrelay.pipeline.screen import screen
from leadrelay.pipeline.strategies.base import NoParams, Pass, Pick, RouteContext
from leadrelay.pipeline.strategies.registry import STRATEGIES
from leadrelay.policy.compiled import CompiledPolicy, CompiledRoute, Target

EXISTING_ACCOUNT_ROUTE = "existing-account"


@dataclass(frozen=True, slots=True)
class _Lookup:
    """What every route of one decision shares."""

    lead: Lead
    values: Mapping[str, Any]
    screening: Screening
    snapshot: Snapshot
    policy: CompiledPolicy
    account: Account | None
    account_match: str | None
    # (rep, off_hours_ok) -> why not eligible; many routes share reps within one decision
    exclusions: dict[tuple[str, bool], str | None]


def decide(lead: Lead, snapshot: Snapshot, policy: CompiledPolicy) -> Decision:
    """Decide who is accountable for ``lead``; every step and candidate is in the Decision."""
    screening, values = screen(lead, policy)
    base = Decision(
        lead_key=lead.seed_key,
        status=Status.MANUAL,
        reason="",
        decided_at=snapshot.now,
        policy_version=policy.revision,
        screening=screening,
    )
    if screening.rejected_by is not None:
        return replace(
            base,
            status=Status.SCREENED_OUT,
            reason=f"screened out by rule {screening.rejected_by!r}",
        )

    matched = match_account(lead, snapshot.accounts_by_domain)
    account, how = matched if matched else (None, None)
    look = _Lookup(lead, values, screening, snapshot, policy, account, how, {})
    if account is not None:
        base = replace(base, account=account.id, account_match=how)

    trials: list[RouteTrial] = []
    routes: list[CompiledRoute] = []
    if account is not None and policy.existing_account_owner:
        routes.append(_existing_account_route(account))
    experiment = _experiment_arm(look)
    if experiment is not None:
        base = replace(base, experiment=experiment[0], arm=experiment[1])
        if experiment[2] is not None:
            routes.append(experiment[2])
    routes.extend(policy.routes)

    for route in routes:
        pick, trial = _try_route(route, look)
        trials.append(trial)
        if pick is not None:
            return replace(
                base,
                status=pick.status,
                reason=pick.reason,
                owner=pick.owner,
                team=pick.team,
                pool=pick.pool,
                route=route.name,
                strategy=route.strategy,
                trials=tuple(trials),
            )
    return replace(base, reason=_fallthrough_reason(trials), trials=tuple(trials))


def _try_route(route: CompiledRoute, look: _Lookup) -> tuple[Pick | None, RouteTrial]:
    if route.when is not None:
        holds = route.when.evaluate(look.values)
        if not holds:
            why = (
                "condition does not hold"
                if holds is False
                else "condition could not be evaluated: a field it uses is empty"
            )
            return None, RouteTrial(route=route.name, matched=False, outcome=why)

    strategy = STRATEGIES[route.strategy]
    candidates = _candidates(route.target, look.snapshot)
    excluded: dict[str, str] = {}
    eligible: list[Rep] = []
    if strategy.picks_rep:
        for rep_id in candidates:
            rep = look.snapshot.reps.get(rep_id)
            if rep is None:
                excluded[rep_id] = "not a known rep"
                continue
            key = (rep_id, route.off_hours)
            if key in look.exclusions:
                reason = look.exclusions[key]
            else:
                reason = exclusion(
                    rep, look.snapshot, look.policy.default_caps, off_hours_ok=route.off_hours
                )
                look.exclusions[key] = reason
            if reason is None:
                eligible.append(rep)
            else:
                excluded[rep_id] = reason
    ctx = RouteContext(
        lead=look.lead,
        values=look.values,
        screening=look.screening,
        snapshot=look.snapshot,
        policy=look.policy,
        route=route,
        candidates=candidates,
        eligible=tuple(eligible),
        excluded=excluded,
        account=look.account,
        account_match=look.account_match,
    )
    answer = strategy.choose(ctx)
    scored = {c.rep: c for c in answer.scored}
    trace = tuple(
        Candidate(rep=rep_id, excluded=excluded[rep_id])
        if rep_id in excluded
        else scored.get(rep_id, Candidate(rep=rep_id))
        for rep_id in candidates
    )
    if isinstance(answer, Pass):
        outcome = answer.reason
        if strategy.picks_rep and not eligible and candidates:
            outcome = f"{answer.reason}: all {len(candidates)} candidate(s) excluded"
        return None, RouteTrial(route.name, True, outcome, route.strategy, trace)
    return answer, RouteTrial(route.name, True, answer.reason, route.strategy, trace)


def _candidates(target: Target, snapshot: Snapshot) -> tuple[str, ...]:
    """Rep ids a route names, in the order it names them (team members in roster order)."""
    if target.rep is not None:
        return (target.rep,)
    if target.reps:
        return target.reps
    teams = (target.team,) if target.team is not None else target.teams
    seen: dict[str, None] = {}
    for team in teams:
        for rep_id in snapshot.team_members.get(team, ()):
            seen.setdefault(rep_id, None)
    return tuple(seen)


def _existing_account_route(account: Account) -> CompiledRoute:
    return CompiledRoute(
        name=EXISTING_ACCOUNT_ROUTE,
        when=None,
        target=Target(rep=account.owner) if account.owner else Target(),
        strategy="account_owner",
        params=NoParams(),
    )


def _experiment_arm(look: _Lookup) -> tuple[str, str, CompiledRoute | None] | None:
    """The first experiment the lead enters: its name, arm, and the challenger route if any."""
    for experiment in look.policy.experiments:
        if experiment.when is not None and not experiment.when.evaluate(look.values):
            continue
        if split_bucket(look.lead.seed_key, experiment.name) < experiment.share:
            return experiment.name, "challenger", experiment.route
        return experiment.name, "control", None
    return None


def split_bucket(key: str, salt: str) -> float:
    """A sticky number in [0, 1) for (lead, experiment): the same lead always lands the same."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _fallthrough_reason(trials: list[RouteTrial]) -> str:
    tried = [t for t in trials if t.matched]
    if not tried:
        return "manual: no route's condition holds for this lead"
    last = "; ".join(f"{t.route}: {t.outcome}" for t in tried[-3:])
    return f"manual: no route could place it ({last})"
