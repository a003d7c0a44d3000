"""Team (shotgun): the team holds the lead and its owner is accountable until a member takes it."""

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


class TeamHold(Strategy):
    name = "team"
    picks_rep = False
    summary = "the team holds the lead; its owner is accountable and hands it on"

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        team_id = ctx.route.target.team
        if team_id is None:
            return quick_pass("route names no team")
        team = ctx.snapshot.teams.get(team_id)
        if team is None:
            return quick_pass(f"team {team_id} does not exist")
        owner = ctx.snapshot.reps.get(team.owner) if team.owner else None
        if owner is None or not owner.active:
            return quick_pass(f"team {team_id} has no active owner to be accountable")
        return quick_pick(
            Status.TEAM,
            f"team: held by team {team_id}; its owner {owner.id} is accountable until a member"
            " takes it",
            owner=owner.id,
            team=team_id,
        )
