"""Seniority for value: senior reps for high-value or urgent leads, juniors for small ones.

A lead's need is 1 when its value slab or priority is high, 0.5 when medium, else 0; a rep's
level is 1 (senior), 0.5 (mid) or 0 (junior); the value is how close the two are. Small leads
so lean toward juniors, which keeps seniors free for the leads that need them. With a learned
lead score in the policy (``screening.score_model``), a lead's win probability raises its need
when it is higher than its slab or priority says.
"""

from __future__ import annotations

from leadrelay.domain.rep import Rep, Seniority
from leadrelay.pipeline.factors.base import Factor, FactorOptions, FactorScore, Scorer
from leadrelay.pipeline.strategies.base import RouteContext

LEVEL = {Seniority.JUNIOR: 0.0, Seniority.MID: 0.5, Seniority.SENIOR: 1.0}
NEED = {"high": 1.0, "medium": 0.5}


class SeniorityFit(Factor):
    name = "seniority"
    summary = "senior reps for high-value or high-priority leads, juniors for small ones"

    def for_lead(self, ctx: RouteContext, options: FactorOptions) -> Scorer:
        screening = ctx.screening
        need = max(NEED.get(screening.value_slab, 0.0), NEED.get(screening.priority, 0.0))
        policy = ctx.policy
        chance = ctx.values.get(policy.score_field) if policy.score_model is not None else None
        if isinstance(chance, float) and chance > need:
            # the learned lead score: the likelier the win, the more a senior rep is worth
            need, why = chance, f"a lead the model gives {chance:.0%}"
        elif need == 1.0:
            why = (
                f"{screening.value_slab} value"
                if screening.value_slab == "high"
                else f"{screening.priority} priority"
            )
        elif need == 0.5:
            why = "a medium lead"
        else:
            why = "a low-value, low-priority lead"

        # three levels: three answers per lead
        answers = {
            level: FactorScore(1.0 - abs(need - LEVEL[level]), f"{level.value} rep for {why}")
            for level in Seniority
        }

        def score(rep: Rep) -> FactorScore:
            return answers[rep.seniority]

        return score
