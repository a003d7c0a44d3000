"""Modified round robin: a share of leads (say 20-30%) goes to the best match, the rest rotate.

Which leads go which way is a sticky hash of the lead and the route, so a replay decides the
same. Merit picks count in a ledger of their own (``<route>#merit``, see Decision.rotation),
so reps all get a similar number of base leads, as the ratable share rotates undisturbed.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from pydantic import BaseModel, Field

from leadrelay.pipeline.split import split_bucket
from leadrelay.pipeline.strategies.base import Pass, Pick, RouteContext, Strategy
from leadrelay.pipeline.strategies.best_match import BestMatchParams, rank, weights_read
from leadrelay.pipeline.strategies.round_robin import RoundRobin, RoundRobinParams
from leadrelay.pipeline.strategies.weighted_round_robin import WeightedRoundRobin


class ModifiedRoundRobinParams(BestMatchParams):
    share: float = Field(default=0.25, ge=0, le=1)  # of leads routed by best match
    rest: Literal["round_robin", "weighted_round_robin"] = "round_robin"


_ROTATIONS: dict[str, Strategy] = {
    "round_robin": RoundRobin(),
    "weighted_round_robin": WeightedRoundRobin(),
}
_SEQUENTIAL = RoundRobinParams()
MERIT = "#merit"  # merit picks count in their own ledger, "<route>#merit"


class ModifiedRoundRobin(Strategy):
    name = "modified_round_robin"
    Params = ModifiedRoundRobinParams
    summary = "a share of leads to the best match, the rest in rotation"

    def reads(self, params: BaseModel) -> frozenset[str]:
        assert isinstance(params, ModifiedRoundRobinParams)
        return weights_read(params.weights)

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        if not ctx.eligible:
            return Pass("no eligible rep")
        params = ctx.route.params
        assert isinstance(params, ModifiedRoundRobinParams)
        bucket = split_bucket(ctx.lead.seed_key, ctx.route.name)
        if bucket < params.share:
            ranking = rank(ctx, params, params.weights)
            label = f"modified round robin, in the {params.share:.0%} routed on merit; best match"
            return ranking.pick(label, rotation=f"{ctx.route.name}{MERIT}")
        route = dataclasses.replace(ctx.route, params=_SEQUENTIAL)
        answer = _ROTATIONS[params.rest].choose(dataclasses.replace(ctx, route=route))
        if isinstance(answer, Pass):
            return answer
        reason = (
            f"modified round robin, in the {1 - params.share:.0%} ratable share; {answer.reason}"
        )
        return dataclasses.replace(answer, reason=reason)
