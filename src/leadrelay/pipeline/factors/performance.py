"""Performance: the rep's win rate on leads it was *given*, in the lead's segment.

Rates are shrunk toward the rep's team (``domain/performance.py``), and a rep with fewer closed
leads than ``min_closed`` gets the team's rate, so one lucky win does not outrank a long record.
"""

from __future__ import annotations

from leadrelay.domain.performance import lead_segment
from leadrelay.domain.rep import Rep
from leadrelay.pipeline.factors.base import Factor, FactorOptions, FactorScore, Scorer, quick_score
from leadrelay.pipeline.strategies.base import RouteContext


class PerformanceFactor(Factor):
    name = "performance"
    summary = "win rate on given leads of the lead's segment, shrunk toward the team's"

    def for_lead(self, ctx: RouteContext, options: FactorOptions) -> Scorer:
        stats = ctx.snapshot.performance
        segment = lead_segment(options.segment, ctx.values)

        def score(rep: Rep) -> FactorScore:
            if stats is None:
                return quick_score(0.0, "no outcomes recorded yet")
            estimate = stats.win_rate(
                rep.id,
                rep.teams,
                segment,
                strength=options.prior_strength,
                min_closed=options.min_closed,
            )
            return quick_score(estimate.rate, estimate.text(segment))

        return score
