"""Weighted round robin, smooth: counts stay within one lead of each rep's weight share.

With counts c and weights w over the k eligible reps, the share of lead n is w * n / W. Taking
simply the rep furthest below its share (nginx's smooth weighted round robin) can leave a rep
more than one lead behind (weights 1, 1, 1, 20, 20: 1.02 after 28 leads). Tijdeman's rule keeps
every rep within 1 - 1 / (2k - 2): among the reps the next lead would not put more than that
ahead of their share, pick the one that would otherwise fall that far behind soonest.
"""

from __future__ import annotations

import math
from functools import lru_cache

from leadrelay.domain.decision import NO_FACTORS, Status, quick_candidate
from leadrelay.domain.snapshot import NEVER
from leadrelay.pipeline.strategies.base import (
    Pass,
    Pick,
    RouteContext,
    Strategy,
    quick_pass,
    quick_pick,
)


class WeightedRoundRobin(Strategy):
    name = "weighted_round_robin"
    summary = "share leads in proportion to rep weights, smoothly"

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        eligible = ctx.eligible
        if not eligible:
            return quick_pass("no eligible rep")
        route = ctx.route.name
        ledger = ctx.snapshot.ledger
        entries = [ledger.get((route, rep.id), NEVER) for rep in eligible]
        # by rep id, as a rep listed twice counts once
        counts = {rep.id: entry.count for rep, entry in zip(eligible, entries, strict=True)}
        total_weight = sum(rep.weight for rep in eligible)
        after = sum(counts.values()) + 1
        deficit = [rep.weight * after / total_weight - counts[rep.id] for rep in eligible]
        slack = 1 - 1 / (2 * len(eligible) - 2) if len(eligible) > 1 else 1.0
        floor = 1 - slack - 1e-9
        # among the reps the next lead would not put too far ahead, the one that would otherwise
        # fall `slack` behind its share soonest (at lead number `due`); then round-robin order
        best: tuple[float, int, int] | None = None
        chosen = eligible[0]
        place = ctx.order.get
        for allowed_only in (True, False):
            for rep, entry, behind in zip(eligible, entries, deficit, strict=True):
                if allowed_only and not behind >= floor:
                    continue
                weight = rep.weight
                due = (counts[rep.id] + slack) * total_weight / weight if weight > 0 else math.inf
                at = place(rep.id)  # ctx.place(rep), inline: it is asked for every eligible rep
                key = (due, entry.last_seq, ctx.place(rep) if at is None else at)
                if best is None or key < best:
                    best, chosen = key, rep
            if best is not None:
                break
        scored = tuple(
            [
                quick_candidate(
                    rep.id,
                    None,
                    round(behind, 4),
                    NO_FACTORS,
                    f"{_weight(rep.weight)}, {counts[rep.id]} lead(s) from this route,"
                    f" {behind:+.2f} against its share",
                )
                for rep, behind in zip(eligible, deficit, strict=True)
            ]
        )
        share = chosen.weight / total_weight
        reason = (
            f"weighted round robin: {chosen.id} was due next for its {share:.0%} share"
            f" ({counts[chosen.id]} of {after - 1} leads so far)"
        )
        return quick_pick(Status.ASSIGNED, reason, owner=chosen.id, scored=scored)


@lru_cache(maxsize=256)
def _weight(weight: float) -> str:
    return f"weight {weight:g}"  # reps share a few weights
