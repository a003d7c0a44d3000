"""Manual: the lead waits in the manager queue for a person to assign it."""

from __future__ import annotations

from leadrelay.domain.decision import Status
from leadrelay.pipeline.strategies.base import Pick, RouteContext, Strategy, quick_pick


class Manual(Strategy):
    name = "manual"
    picks_rep = False
    summary = "queue the lead for a manager to assign by hand"

    def choose(self, ctx: RouteContext) -> Pick:
        return quick_pick(
            Status.MANUAL, f"manual: route {ctx.route.name!r} queues these for a manager"
        )
