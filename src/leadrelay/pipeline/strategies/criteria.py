"""Criteria-based: the route's condition picks the lead, the route names its owner.

With ``to: {rep: X}`` the lead goes to X when X is eligible; with ``to: {reps: [X, Y]}`` to the
first eligible rep in the listed order (a named backup).
"""

from __future__ import annotations

from leadrelay.domain.decision import NO_FACTORS, Status, quick_candidate
from leadrelay.pipeline.strategies.base import (
    Pass,
    Pick,
    RouteContext,
    Strategy,
    quick_pass,
    quick_pick,
)


class Criteria(Strategy):
    name = "criteria"
    summary = "a fixed owner for the leads the route's condition selects"

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        if not ctx.eligible:
            named = ", ".join(
                f"{rep} ({ctx.excluded.get(rep, 'unknown')})" for rep in ctx.candidates
            )
            return quick_pass(f"the fixed owner may not take it: {named}")
        chosen = ctx.eligible[0]
        skipped = ctx.candidates.index(chosen.id)
        reason = f"criteria: route {ctx.route.name!r} gives these leads to {chosen.id}"
        if skipped:
            reason += f" (first eligible of {len(ctx.candidates)} listed)"
        scored = tuple(
            quick_candidate(
                rep=rep.id,
                factors=NO_FACTORS,
                note="first eligible rep the route lists"
                if rep is chosen
                else f"eligible, but listed after {chosen.id}",
            )
            for rep in ctx.eligible
        )
        return quick_pick(Status.ASSIGNED, reason, owner=chosen.id, scored=scored)
