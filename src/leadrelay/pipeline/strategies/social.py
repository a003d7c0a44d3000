"""Social: the eligible rep closest to the lead's person or company in the relationship graph.

When the best path runs through a colleague who is not the rep, the reason names that person,
so the rep knows whom to ask for an introduction. Nobody connected: the lead falls to the next
route. Equally strong connections go to round-robin order.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from leadrelay.domain.decision import Candidate, Status
from leadrelay.pipeline.strategies.base import Pass, Pick, RouteContext, Strategy

_TIE = 1e-9


class SocialParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_strength: float = Field(default=0.0, ge=0, le=1)  # weaker connections do not count


class SocialStrategy(Strategy):
    name = "social"
    Params = SocialParams
    summary = "the rep with the closest relationship to the lead's person or company"

    def reads(self, params: BaseModel) -> frozenset[str]:
        return frozenset({"social"})

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        if not ctx.eligible:
            return Pass("no eligible rep")
        params = ctx.route.params
        assert isinstance(params, SocialParams)
        graph = ctx.snapshot.social
        if graph is None:
            return Pass("no relationship graph loaded")
        found = graph.proximity(ctx.lead, [rep.id for rep in ctx.eligible])
        scored: list[Candidate] = []
        connected = []
        for rep in ctx.eligible:
            link = found.get(rep.id)
            if link is None or link.strength <= 0 or link.strength < params.min_strength:
                note = "no known connection" if link is None else f"too weak: {link.note}"
                scored.append(Candidate(rep.id, score=0.0, factors={"social": 0.0}, note=note))
                continue
            connected.append((rep, link))
            strength = round(link.strength, 4)
            scored.append(
                Candidate(rep.id, score=strength, factors={"social": strength}, note=link.note)
            )
        if not connected:
            return Pass("no eligible rep is connected to the lead", tuple(scored))
        top = max(link.strength for _, link in connected)
        rep, link = min(
            ((r, c) for r, c in connected if c.strength >= top - _TIE),
            key=lambda pair: ctx.entry_order(pair[0]),
        )
        return Pick(
            Status.ASSIGNED,
            f"social: {rep.id} is closest to the lead ({link.note})",
            owner=rep.id,
            scored=tuple(scored),
        )
