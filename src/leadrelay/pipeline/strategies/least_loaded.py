"""Least loaded: the eligible rep with the fewest open leads for its capacity."""

from __future__ import annotations

from leadrelay.domain.decision import Status, quick_candidate
from leadrelay.domain.rep import Rep
from leadrelay.pipeline.strategies.base import Pass, Pick, RouteContext, Strategy


class LeastLoaded(Strategy):
    name = "least_loaded"
    summary = "the rep with the lowest open leads / capacity"

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        if not ctx.eligible:
            return Pass("no eligible rep")
        load = {rep.id: self._load(ctx, rep) for rep in ctx.eligible}
        chosen = min(ctx.eligible, key=lambda rep: (load[rep.id][0], *ctx.entry_order(rep)))
        scored = tuple(
            quick_candidate(rep=rep.id, score=round(load[rep.id][0], 4), note=load[rep.id][1])
            for rep in ctx.eligible
        )
        return Pick(
            Status.ASSIGNED,
            f"least loaded: {chosen.id} had the lowest load ({load[chosen.id][1]})",
            owner=chosen.id,
            scored=scored,
        )

    @staticmethod
    def _load(ctx: RouteContext, rep: Rep) -> tuple[float, str]:
        """Open leads divided by the rep's widest cap (month, else week, else day), else weight."""
        open_leads = ctx.snapshot.open_leads.get(rep.id, 0)
        caps = rep.effective_caps(ctx.policy.default_caps)
        for word, cap in (
            ("monthly", caps.per_month),
            ("weekly", caps.per_week),
            ("daily", caps.per_day),
        ):
            if cap:
                return open_leads / cap, f"{open_leads} open / {word} cap {cap}"
        return open_leads / rep.weight, f"{open_leads} open / weight {rep.weight:g}"
