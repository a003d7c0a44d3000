"""Expertise: does the rep know the lead's industry, product, company type, language, region?

Skills come from the reps file (``industry:airline;product:crm;language:de``); regions from its
``regions`` column, matched like the territory strategy. The value is the share of the lead's
known traits the rep covers, so a lead that names only its industry asks about that alone.
"""

from __future__ import annotations

from leadrelay.domain.rep import Rep, skill_key
from leadrelay.pipeline.factors.base import Factor, FactorOptions, FactorScore, Scorer, quick_score
from leadrelay.pipeline.strategies.base import RouteContext
from leadrelay.pipeline.strategies.territory import covers, describe, territory_keys

SKILL_KINDS = ("industry", "product", "company_type", "language")


class Expertise(Factor):
    name = "expertise"
    summary = "share of the lead's industry, product, company type, language and region known"

    def for_lead(self, ctx: RouteContext, options: FactorOptions) -> Scorer:
        values = ctx.values
        # each trait's skill key, worked out once per lead rather than once per rep
        traits = [
            (f"{kind} {values[kind]}", skill_key(kind, str(values[kind])))
            for kind in SKILL_KINDS
            if values.get(kind) not in (None, "")
        ]
        lead = ctx.lead
        place = territory_keys(lead)
        postal = lead.postal_code
        where = describe(lead) if place or postal else None
        asked = len(traits) + (where is not None)

        def score(rep: Rep) -> FactorScore:
            if not asked:
                return quick_score(0.0, "the lead names no industry, product, type or place")
            skills = rep.skills
            known = [shown for shown, key in traits if key in skills]
            if where is not None and rep.regions and covers(rep, place, postal):
                known.append(f"region {where}")
            if not known:
                return quick_score(0.0, f"knows none of the lead's {asked} trait(s)")
            return quick_score(
                len(known) / asked, f"knows {', '.join(known)} ({len(known)}/{asked})"
            )

        return score
