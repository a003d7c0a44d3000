"""Cherry-pick: the lead waits in an open pool until an eligible rep claims it."""

from __future__ import annotations

from leadrelay.domain.decision import Status
from leadrelay.pipeline.strategies.base import (
    Pass,
    Pick,
    RouteContext,
    Strategy,
    quick_pass,
    quick_pick,
)


class Claim(Strategy):
    name = "claim"
    picks_rep = False
    summary = "an open pool the route's reps claim from"

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        target = ctx.route.target
        if target.pool is None:
            return quick_pass("route names no pool")
        owner = target.owner
        if owner is None and target.team is not None:
            team = ctx.snapshot.teams.get(target.team)
            owner = team.owner if team else None
        if owner:
            held_by = ctx.snapshot.reps.get(owner)
            if held_by is None or not held_by.active:
                return quick_pass(
                    f"pool {target.pool}'s owner {owner} is not an active rep to be accountable"
                )
        reason = f"pool: open in pool {target.pool} for its reps to claim"
        if owner:
            reason += f"; {owner} is accountable until then"
        return quick_pick(Status.POOL, reason, owner=owner, team=target.team, pool=target.pool)
