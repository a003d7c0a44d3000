"""Proximity: how near the rep's office is to the lead (great-circle distance).

The value halves every ``scale_km`` (1 at the door, 0.5 at ``scale_km``, 0.25 at twice that),
so nearby offices are told apart finely and far ones still rank.
"""

from __future__ import annotations

from leadrelay.domain.rep import Rep
from leadrelay.pipeline.factors.base import Factor, FactorOptions, FactorScore, Scorer, quick_score
from leadrelay.pipeline.strategies.base import RouteContext
from leadrelay.pipeline.strategies.territory import great_circle_km


class Proximity(Factor):
    name = "proximity"
    summary = "nearness of the rep's office to the lead's coordinates"

    def for_lead(self, ctx: RouteContext, options: FactorOptions) -> Scorer:
        lat, lon = ctx.lead.lat, ctx.lead.lon
        scale = options.scale_km

        def score(rep: Rep) -> FactorScore:
            if lat is None or lon is None:
                return quick_score(0.0, "the lead has no coordinates")
            if rep.office_lat is None or rep.office_lon is None:
                return quick_score(0.0, "no office location on file")
            km = great_circle_km(lat, lon, rep.office_lat, rep.office_lon)
            return quick_score(0.5 ** (km / scale), f"office {km:,.0f} km away")

        return score
