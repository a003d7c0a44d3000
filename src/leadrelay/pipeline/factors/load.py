"""Load: room left under the rep's capacity (open leads against its widest cap)."""

from __future__ import annotations

from leadrelay.domain.rep import Rep
from leadrelay.pipeline.factors.base import (
    Factor,
    FactorOptions,
    FactorScore,
    Scorer,
    clamp,
    quick_score,
)
from leadrelay.pipeline.strategies.base import RouteContext
from leadrelay.pipeline.strategies.least_loaded import rep_load


class Load(Factor):
    name = "load"
    summary = "1 - open leads / capacity: the emptier desk scores higher"

    def for_lead(self, ctx: RouteContext, options: FactorOptions) -> Scorer:
        open_leads, default = ctx.snapshot.open_leads, ctx.policy.default_caps

        def score(rep: Rep) -> FactorScore:
            load, note = rep_load(open_leads.get(rep.id, 0), rep, default)
            return quick_score(clamp(1.0 - load), note)

        return score
