"""The routing brain: ``decide(lead, snapshot, policy) -> Decision``, pure.

No I/O, no clock, no global state: live routing, dry runs, simulation and experiments all call
this one function with snapshots they build, so there is no second implementation of anything.

What depends on the policy alone (each route's strategy, the candidates of a route naming reps
and their order, the route to an account's owner) is worked out once per policy object and
remembered in ``_PLANS``. A compiled policy is immutable, so the memo gives exactly the answer
recomputing would: it changes speed, never a decision. Team rosters come from the snapshot in
hand every time (see ``_RoutePlan.lineup``). The plan also keeps what eligibility works out for
the reps of the snapshots it meets (``eligibility.RepProfile``, ``eligibility.Roster``): each is
checked against the snapshot in hand (the very same Rep objects, a minute inside its span) before
it is used, and cap counters are read from the snapshot for every lead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from leadrelay.domain.decision import (
    Candidate,
    Decision,
    RouteTrial,
    Screening,
    Status,
)
from leadrelay.domain.lead import Lead
from leadrelay.domain.org import Account
from leadrelay.domain.quick import quick_constructor
from leadrelay.domain.rep import Rep
from leadrelay.domain.snapshot import Snapshot
from leadrelay.pipeline.duplicates import find_duplicate
from leadrelay.pipeline.eligibility import Eligibility, RepProfiles, Roster
from leadrelay.pipeline.match import account_keys, match_account, match_company
from leadrelay.pipeline.screen import screen
from leadrelay.pipeline.split import split_bucket
from leadrelay.pipeline.strategies.base import NoParams, Pass, Pick, RouteContext, Strategy
from leadrelay.pipeline.strategies.registry import STRATEGIES
from leadrelay.policy.compiled import CompiledPolicy, CompiledRoute, Target

EXISTING_ACCOUNT_ROUTE = "existing-account"

# built for every lead or matched route: the quick way (see domain/quick.py)
_new_decision = quick_constructor(Decision)
_new_trial = quick_constructor(RouteTrial)
_new_context = quick_constructor(RouteContext)

# the member lists of a route's teams, as the snapshot had them (None: no such team)
_Members = tuple[tuple[str, ...] | None, ...]


class _Lookup:
    """What every route of one decision shares."""

    __slots__ = (
        "account",
        "account_match",
        "eligibility",
        "lead",
        "plain",
        "policy",
        "screening",
        "snapshot",
        "values",
    )

    def __init__(
        self,
        lead: Lead,
        values: Mapping[str, Any],
        screening: Screening,
        snapshot: Snapshot,
        policy: CompiledPolicy,
        profiles: RepProfiles,
        account: Account | None,
        account_match: str | None,
    ) -> None:
        self.lead = lead
        self.values = values
        self.screening = screening
        self.snapshot = snapshot
        self.policy = policy
        self.account = account
        self.account_match = account_match
        # the decision's moment in each time zone, worked out once for all its routes
        self.eligibility = Eligibility(snapshot, profiles)
        self.plain = profiles.plain


def decide(lead: Lead, snapshot: Snapshot, policy: CompiledPolicy) -> Decision:
    """Decide who is accountable for ``lead``; every step and candidate is in the Decision."""
    screening, values = screen(lead, policy)
    if screening.rejected_by is not None:
        return Decision(
            lead_key=lead.seed_key,
            status=Status.SCREENED_OUT,
            reason=f"screened out by rule {screening.rejected_by!r}",
            decided_at=snapshot.now,
            policy_version=policy.revision,
            screening=screening,
        )

    if snapshot.originals:
        duplicate = find_duplicate(lead, snapshot, policy, screening)
        if duplicate is not None:
            return duplicate

    plan = _plan_for(policy)
    matched = match_account(lead, snapshot.accounts_by_domain, plan.account_keys) or match_company(
        lead, snapshot, policy
    )
    account, how = matched if matched else (None, None)
    look = _Lookup(lead, values, screening, snapshot, policy, plan.profiles, account, how)

    routes: list[_RoutePlan] = []
    if account is not None and policy.existing_account_owner:
        routes.append(plan.account_route(account.owner))
    experiment, arm = None, None
    if policy.experiments:
        entered = _experiment_arm(look)
        if entered is not None:
            experiment, arm, challenger = entered
            if challenger is not None:
                routes.append(plan.challengers[id(challenger)])
    routes.extend(plan.routes)

    trials: list[RouteTrial] = []
    for route_plan in routes:
        when = route_plan.route.when
        if when is not None:
            holds = when.evaluate(values)
            if not holds:
                trials.append(
                    route_plan.does_not_hold if holds is False else route_plan.cannot_evaluate
                )
                continue
        pick, trial = _try_route(route_plan, look)
        trials.append(trial)
        if pick is not None:
            route: CompiledRoute | None = route_plan.route
            break
    else:
        pick, route = Pick(Status.MANUAL, _fallthrough_reason(trials)), None
    # positional, in field order: one per lead
    return _new_decision(
        lead.seed_key,
        pick.status,
        pick.reason,
        snapshot.now,
        policy.revision,
        pick.owner,
        pick.team,
        pick.pool,
        route.name if route is not None else None,
        route.strategy if route is not None else None,
        screening,
        account.id if account is not None else None,
        how,
        None,  # duplicate_of
        experiment,
        arm,
        tuple(trials),
        pick.rotation,
    )


def _try_route(plan: _RoutePlan, look: _Lookup) -> tuple[Pick | None, RouteTrial]:
    """A route whose condition holds: its candidates, their eligibility, the strategy's answer."""
    route = plan.route
    snapshot = look.snapshot
    lineup = plan.lineup(snapshot.team_members)
    candidates = lineup.candidates
    if plan.picks_rep:
        trace, eligible, excluded, slots = look.eligibility.screen(
            candidates, snapshot.reps, route.off_hours, lineup.rosters
        )
        if snapshot.barred:
            trace, eligible, excluded, slots = _bar(
                snapshot.barred, trace, eligible, excluded, slots, candidates
            )
    else:
        trace, eligible, excluded = [None] * len(candidates), (), {}
        slots = tuple(range(len(candidates)))
    answer = plan.strategy.choose(
        _new_context(
            look.lead,
            look.values,
            look.screening,
            snapshot,
            look.policy,
            route,
            candidates,
            eligible,
            excluded,
            look.account,
            look.account_match,
            lineup.order,
        )
    )
    if slots:
        _fill(trace, slots, lineup, answer.scored, look.plain)
    full: tuple[Candidate, ...] = tuple(trace)  # type: ignore[arg-type]
    if isinstance(answer, Pass):
        outcome = answer.reason
        if plan.picks_rep and not eligible and candidates:
            outcome = f"{answer.reason}: all {len(candidates)} candidate(s) excluded"
        return None, _new_trial(route.name, True, outcome, route.strategy, full)
    return answer, _new_trial(route.name, True, answer.reason, route.strategy, full)


def _bar(
    barred: Mapping[str, str],
    trace: list[Candidate | None],
    eligible: tuple[Rep, ...],
    excluded: Mapping[str, str],
    slots: tuple[int, ...],
    candidates: tuple[str, ...],
) -> tuple[list[Candidate | None], tuple[Rep, ...], dict[str, str], tuple[int, ...]]:
    """Take out of the eligible the reps this lead may not go back to (they declined it or
    missed its SLA), with that reason in the trace."""
    trace = trace.copy()
    left = dict(excluded)
    for index in slots:
        why = barred.get(candidates[index])
        if why is not None:
            trace[index] = Candidate(candidates[index], excluded=why)
            left[candidates[index]] = why
    kept = tuple(rep for rep in eligible if rep.id not in barred)
    return trace, kept, left, tuple(i for i in slots if candidates[i] not in barred)


def _fill(
    trace: list[Candidate | None],
    slots: tuple[int, ...],
    lineup: _Lineup,
    scored: tuple[Candidate, ...],
    plain: Callable[[str], Candidate],
) -> None:
    """Put in each eligible candidate's trace slot how the strategy scored it (plain if not)."""
    candidates = lineup.candidates
    if not scored:
        plains = lineup.plains(plain)
        for index in slots:
            trace[index] = plains[index]
        return
    if lineup.distinct and len(scored) == len(slots):
        # usual: the strategy scored each eligible rep once, in order
        for index, candidate in zip(slots, scored, strict=True):
            if candidate.rep != candidates[index]:
                break
            trace[index] = candidate
        else:
            return
    by_rep = {c.rep: c for c in scored}
    for index in slots:
        rep_id = candidates[index]
        known = by_rep.get(rep_id)
        trace[index] = known if known is not None else plain(rep_id)


class _Lineup:
    """A route's candidates: rep ids in the order the route names them, each one's first place,
    and their eligibility rosters (see ``eligibility.Roster``; one for routes that allow off
    hours, one for routes that do not). Routes of a policy naming the same reps in the same order
    share one lineup, so routes over one team share that work."""

    __slots__ = ("_plains", "candidates", "distinct", "order", "rosters")

    def __init__(self, candidates: tuple[str, ...]) -> None:
        self.candidates = candidates
        self.order: dict[str, int] = {}
        for index, rep_id in enumerate(candidates):
            self.order.setdefault(rep_id, index)
        self.distinct = len(self.order) == len(candidates)  # no rep named twice
        self.rosters: list[Roster | None] = [None, None]  # by off_hours
        self._plains: tuple[Candidate, ...] | None = None

    def plains(self, plain: Callable[[str], Candidate]) -> tuple[Candidate, ...]:
        """Each candidate's trace entry when eligible and not scored (the same every lead)."""
        if self._plains is None:
            self._plains = tuple(map(plain, self.candidates))
        return self._plains


# candidate rep ids -> their lineup, one dict per policy plan
_Lineups = dict[tuple[str, ...], _Lineup]
_MAX_LINEUPS = 4096


def _lineup(lineups: _Lineups, candidates: tuple[str, ...]) -> _Lineup:
    lineup = lineups.get(candidates)
    if lineup is None:
        if len(lineups) >= _MAX_LINEUPS:
            lineups.clear()  # route plans keep the lineups they hold; only sharing restarts
        lineup = lineups[candidates] = _Lineup(candidates)
    return lineup


class _RoutePlan:
    """One route with what ``decide`` needs of it that does not change from lead to lead.

    A route naming reps has a fixed lineup. A route naming teams takes its candidates from the
    snapshot's ``team_members``; the last lineup is kept with the member lists it came from and
    reused while the snapshot in hand has the same lists.
    """

    __slots__ = (
        "_fixed",
        "_from_members",
        "_lineups",
        "_teams",
        "cannot_evaluate",
        "does_not_hold",
        "picks_rep",
        "route",
        "strategy",
    )

    def __init__(self, route: CompiledRoute, lineups: _Lineups) -> None:
        self.route = route
        # Every lead the condition turns away gets the same trial; it holds only strings, so one
        # instance serves them all (and leaves the collector fewer objects to track).
        self.does_not_hold = RouteTrial(route.name, False, "condition does not hold")
        self.cannot_evaluate = RouteTrial(
            route.name, False, "condition could not be evaluated: a field it uses is empty"
        )
        self.strategy: Strategy = STRATEGIES[route.strategy]
        self.picks_rep = self.strategy.picks_rep
        self._lineups = lineups
        target = route.target
        self._teams: tuple[str, ...] | None = None
        self._fixed: _Lineup | None = None
        if target.rep is not None:
            self._fixed = _lineup(lineups, (target.rep,))
        elif target.reps:
            self._fixed = _lineup(lineups, target.reps)
        else:
            self._teams = (target.team,) if target.team is not None else target.teams
        self._from_members: tuple[_Members, _Lineup] | None = None

    def lineup(self, team_members: Mapping[str, tuple[str, ...]]) -> _Lineup:
        """The route's candidates (team members in roster order, each rep once)."""
        if self._fixed is not None:
            return self._fixed
        assert self._teams is not None
        members = tuple(map(team_members.get, self._teams))
        last = self._from_members
        if last is not None and last[0] == members:
            return last[1]
        seen: dict[str, None] = {}
        for ids in members:
            for rep_id in ids or ():
                seen.setdefault(rep_id, None)
        answer = _lineup(self._lineups, tuple(seen))
        self._from_members = (members, answer)
        return answer


class _Plan:
    """A policy's route plans, in policy order, and its experiments' challenger routes."""

    __slots__ = (
        "_account_routes", "_lineups", "account_keys", "challengers", "policy", "profiles",
        "routes",
    )  # fmt: skip

    def __init__(self, policy: CompiledPolicy) -> None:
        self.policy = policy
        self.account_keys = account_keys(policy)
        # eligibility's per-rep data under this policy's default caps (see RepProfile)
        self.profiles = RepProfiles(policy.default_caps)
        self._lineups: _Lineups = {}
        self.routes = tuple(_RoutePlan(route, self._lineups) for route in policy.routes)
        self._account_routes: dict[str | None, _RoutePlan] = {}
        self.challengers = {
            id(experiment.route): _RoutePlan(experiment.route, self._lineups)
            for experiment in policy.experiments
        }

    def account_route(self, owner: str | None) -> _RoutePlan:
        """The route to an existing account's owner (it depends on nothing else)."""
        plan = self._account_routes.get(owner)
        if plan is None:
            if len(self._account_routes) >= _MAX_ACCOUNT_ROUTES:
                self._account_routes.clear()
            plan = _RoutePlan(_existing_account_route(owner), self._lineups)
            self._account_routes[owner] = plan
        return plan


# id(policy) -> its plan; the plan holds the policy, so the id cannot be reused while it is here
_PLANS: dict[int, _Plan] = {}
_MAX_PLANS = 16
_MAX_ACCOUNT_ROUTES = 4096  # one per account owner


def _plan_for(policy: CompiledPolicy) -> _Plan:
    plan = _PLANS.get(id(policy))
    if plan is None or plan.policy is not policy:
        plan = _Plan(policy)
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()  # policies are few; one clear is simpler than a thread-safe LRU
        _PLANS[id(policy)] = plan
    return plan


def _existing_account_route(owner: str | None) -> CompiledRoute:
    return CompiledRoute(
        name=EXISTING_ACCOUNT_ROUTE,
        when=None,
        target=Target(rep=owner) if owner else Target(),
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


def _fallthrough_reason(trials: list[RouteTrial]) -> str:
    tried = [t for t in trials if t.matched]
    if not tried:
        return "manual: no route's condition holds for this lead"
    last = "; ".join(f"{t.route}: {t.outcome}" for t in tried[-3:])
    return f"manual: no route could place it ({last})"
