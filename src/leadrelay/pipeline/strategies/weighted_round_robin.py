"""Weighted round robin, smooth: each lead goes to the rep furthest below its weight share.

With counts c and weights w over the eligible reps, the next lead goes to the rep maximising
w * (n + 1) / W - c (n leads so far, W total weight): counts stay within one lead of the shares.
"""

from __future__ import annotations

from leadrelay.domain.decision import Candidate, Status
from leadrelay.pipeline.strategies.base import Pass, Pick, RouteContext, Strategy


class WeightedRoundRobin(Strategy):
    name = "weighted_round_robin"
    summary = "share leads in proportion to rep weights, smoothly"

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        if not ctx.eligible:
            return Pass("no eligible rep")
        counts = {rep.id: ctx.snapshot.entry(ctx.route.name, rep.id).count for rep in ctx.eligible}
        total_weight = sum(rep.weight for rep in ctx.eligible)
        after = sum(counts.values()) + 1
        deficit = {
            rep.id: rep.weight * after / total_weight - counts[rep.id] for rep in ctx.eligible
        }
        chosen = min(ctx.eligible, key=lambda rep: (-deficit[rep.id], *ctx.entry_order(rep)))
        scored = tuple(
            Candidate(
                rep=rep.id,
                score=round(deficit[rep.id], 4),
                note=f"weight {rep.weight:g}, {counts[rep.id]} lead(s) from this route,"
                f" {deficit[rep.id]:+.2f} against its share",
            )
            for rep in ctx.eligible
        )
        share = chosen.weight / total_weight
        reason = (
            f"weighted round robin: {chosen.id} was furthest below its {share:.0%} share"
            f" ({counts[chosen.id]} of {after - 1} leads so far)"
        )
        return Pick(Status.ASSIGNED, reason, owner=chosen.id, scored=scored)
