"""Round robin: the eligible rep this route gave a lead to least recently (or a seeded random one).

Sequential order rotates strictly by the route's ledger, so with a stable eligible set the
counts never differ by more than one. The random order picks, with a generator seeded by the
lead, among the eligible reps with the fewest leads from this route: random order, same fairness.
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict

from leadrelay.domain.decision import Candidate, Status
from leadrelay.pipeline.strategies.base import Pass, Pick, RouteContext, Strategy


class RoundRobinParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    order: Literal["sequential", "random"] = "sequential"


class RoundRobin(Strategy):
    name = "round_robin"
    Params = RoundRobinParams
    summary = "rotate through the eligible reps, least recently given a lead first"

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        if not ctx.eligible:
            return Pass("no eligible rep")
        params = ctx.route.params
        assert isinstance(params, RoundRobinParams)
        scored = rotation_notes(ctx)
        if params.order == "random":
            counts = {
                rep.id: ctx.snapshot.entry(ctx.route.name, rep.id).count for rep in ctx.eligible
            }
            fewest = min(counts.values())
            pool = [rep for rep in ctx.eligible if counts[rep.id] == fewest]
            chosen = random.Random(f"{ctx.lead.seed_key}:{ctx.route.name}").choice(pool)
            reason = (
                f"random round robin: {chosen.id} drawn among {len(pool)} eligible rep(s)"
                f" with the fewest leads from this route ({fewest})"
            )
        else:
            chosen = min(ctx.eligible, key=ctx.entry_order)
            reason = f"round robin: {chosen.id} was next in rotation ({_since(ctx, chosen.id)})"
        return Pick(Status.ASSIGNED, reason, owner=chosen.id, scored=scored)


def rotation_notes(ctx: RouteContext) -> tuple[Candidate, ...]:
    """Each eligible rep's place in this route's rotation, for the decision trace."""
    return tuple(
        Candidate(
            rep=rep.id,
            score=float(ctx.snapshot.entry(ctx.route.name, rep.id).count),
            note=_since(ctx, rep.id),
        )
        for rep in ctx.eligible
    )


def _since(ctx: RouteContext, rep_id: str) -> str:
    entry = ctx.snapshot.entry(ctx.route.name, rep_id)
    if entry.last_seq == 0:
        return "never given a lead by this route"
    since = ctx.snapshot.route_seq.get(ctx.route.name, entry.last_seq) - entry.last_seq
    if since == 0:
        return f"{entry.count} lead(s) from this route, including the latest"
    return f"{entry.count} lead(s) from this route, none in the last {since}"
