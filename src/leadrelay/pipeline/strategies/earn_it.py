"""Earn it: reps join the route only past gates, and their share grows with their close rate.

Gates (each optional): a minimum of self-sourced wins (leads the rep found and won itself) and
a minimum close rate on given leads, judged once the rep has ``min_closed`` closed leads. Reps
past the gates share the route's leads by smooth weighted round robin, each weighted by its
weight times its close rate shrunk toward the team's (never below ``floor``), so a better
closer gets more, and a newcomer who just earned its place still gets some.
"""

from __future__ import annotations

import dataclasses

from pydantic import BaseModel, ConfigDict, Field

from leadrelay.domain.decision import Candidate
from leadrelay.domain.performance import ALL, Performance, lead_segment
from leadrelay.domain.rep import Rep
from leadrelay.pipeline.strategies.base import Pass, Pick, RouteContext, Strategy
from leadrelay.pipeline.strategies.weighted_round_robin import WeightedRoundRobin


class EarnItParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_self_sourced_wins: int = Field(default=0, ge=0)
    min_close_rate: float = Field(default=0.0, ge=0, le=1)
    min_closed: int = Field(default=5, ge=0)
    prior_strength: float = Field(default=10.0, ge=0)
    segment: str = ALL  # the lead field whose win rates set the shares ("*" = all leads)
    floor: float = Field(default=0.05, gt=0, le=1)


_ROTATION = WeightedRoundRobin()


class EarnIt(Strategy):
    name = "earn_it"
    Params = EarnItParams
    summary = "only reps past win gates; shares grow with their close rate"

    def reads(self, params: BaseModel) -> frozenset[str]:
        return frozenset({"performance"})

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        if not ctx.eligible:
            return Pass("no eligible rep")
        params = ctx.route.params
        assert isinstance(params, EarnItParams)
        stats = ctx.snapshot.performance or Performance()
        segment = lead_segment(params.segment, ctx.values)
        earned: list[Rep] = []
        barred: list[Candidate] = []
        rates: dict[str, str] = {}
        for rep in ctx.eligible:
            refusal = _gate(rep, stats, params)
            if refusal is not None:
                barred.append(Candidate(rep.id, excluded=f"earn it: {refusal}"))
                continue
            estimate = stats.win_rate(
                rep.id,
                rep.teams,
                segment,
                strength=params.prior_strength,
                min_closed=params.min_closed,
            )
            weight = rep.weight * max(params.floor, estimate.rate)
            rates[rep.id] = estimate.describe(segment)
            earned.append(dataclasses.replace(rep, weight=weight))
        if not earned:
            return Pass("no eligible rep has earned this route yet", tuple(barred))
        answer = _ROTATION.choose(dataclasses.replace(ctx, eligible=tuple(earned)))
        scored = tuple(
            dataclasses.replace(c, note=f"{rates[c.rep]}; {c.note}") for c in answer.scored
        )
        if isinstance(answer, Pass):
            return Pass(answer.reason, scored + tuple(barred))
        return dataclasses.replace(
            answer,
            reason=f"earn it ({len(earned)}/{len(ctx.eligible)} past the gates); {answer.reason}",
            scored=scored + tuple(barred),
        )


def _gate(rep: Rep, stats: Performance, params: EarnItParams) -> str | None:
    """Why the rep has not earned the route yet, or None."""
    wins = stats.self_sourced_wins.get(rep.id, 0)
    if wins < params.min_self_sourced_wins:
        return f"{wins} self-sourced win(s), {params.min_self_sourced_wins} needed"
    if params.min_close_rate > 0:
        tally = stats.tally(rep.id)
        if tally.closed < params.min_closed:
            return f"{tally.closed} closed lead(s), {params.min_closed} needed to judge"
        rate = tally.rate or 0.0
        if rate < params.min_close_rate:
            return f"close rate {rate:.0%}, {params.min_close_rate:.0%} needed"
    return None
