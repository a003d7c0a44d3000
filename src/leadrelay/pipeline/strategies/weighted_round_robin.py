"""Weighted round robin, smooth: counts stay within one lead of each rep's weight share.

With counts c and weights w over the k eligible reps, the share of lead n is w * n / W. Taking
simply the rep furthest below its share (nginx's smooth weighted round robin) can leave a rep
more than one lead behind (weights 1, 1, 1, 20, 20: 1.02 after 28 leads). Tijdeman's rule keeps
every rep within 1 - 1 / (2k - 2): among the reps the next lead would not put more than that
ahead of their share, pick the one that would otherwise fall that far behind soonest.
"""

from __future__ import annotations

import math

from leadrelay.domain.decision import Status, quick_candidate
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
        slack = 1 - 1 / (2 * len(ctx.eligible) - 2) if len(ctx.eligible) > 1 else 1.0
        due = {  # the lead number at which the rep would fall `slack` behind its share
            rep.id: (counts[rep.id] + slack) * total_weight / rep.weight
            if rep.weight > 0
            else math.inf
            for rep in ctx.eligible
        }
        allowed = [rep for rep in ctx.eligible if deficit[rep.id] >= 1 - slack - 1e-9]
        chosen = min(allowed or ctx.eligible, key=lambda rep: (due[rep.id], *ctx.entry_order(rep)))
        scored = tuple(
            quick_candidate(
                rep=rep.id,
                score=round(deficit[rep.id], 4),
                note=f"weight {rep.weight:g}, {counts[rep.id]} lead(s) from this route,"
                f" {deficit[rep.id]:+.2f} against its share",
            )
            for rep in ctx.eligible
        )
        share = chosen.weight / total_weight
        reason = (
            f"weighted round robin: {chosen.id} was due next for its {share:.0%} share"
            f" ({counts[chosen.id]} of {after - 1} leads so far)"
        )
        return Pick(Status.ASSIGNED, reason, owner=chosen.id, scored=scored)
