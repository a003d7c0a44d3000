"""Social proximity: the strength of the rep's best path to the lead's person or company."""

from __future__ import annotations

from leadrelay.domain.rep import Rep
from leadrelay.pipeline.factors.base import Factor, FactorOptions, FactorScore, Scorer, quick_score
from leadrelay.pipeline.strategies.base import RouteContext


class Social(Factor):
    name = "social"
    summary = "closest relationship to the lead's person or company (introductions named)"

    def for_lead(self, ctx: RouteContext, options: FactorOptions) -> Scorer:
        graph = ctx.snapshot.social
        found = {} if graph is None else graph.proximity(ctx.lead, [r.id for r in ctx.eligible])
        missing = "no relationship graph loaded" if graph is None else "no known connection"

        def score(rep: Rep) -> FactorScore:
            connection = found.get(rep.id)
            if connection is None:
                return quick_score(0.0, missing)
            return quick_score(connection.strength, connection.note)

        return score
