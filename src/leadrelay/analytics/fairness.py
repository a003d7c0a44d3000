"""Is the rotation honest? Per route: each candidate's leads against its target share.

The target share of a rotating route (round robin, least loaded, territory's tie-break) is
equal among its candidates; of a weighted round robin, weight ÷ total weight. Criteria, team,
claim and account-owner routes do not promise shares, so they show counts only. Spread is the
largest minus the smallest count among candidates, Gini the inequality of counts (0 = equal).
Counts come from the stored leads; the round-robin ledger (``leadrelay ledger``) shows the same
rotation from the router's side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

EQUAL_SHARES = frozenset({"round_robin", "least_loaded", "territory"})
WEIGHTED = "weighted_round_robin"


@dataclass(frozen=True, slots=True)
class RepShare:
    rep: str
    leads: int
    share: float | None  # of the route's leads
    target: float | None  # None: the strategy promises no share
    deviation: float | None  # share - target, in share points


@dataclass(frozen=True, slots=True)
class RouteFairness:
    route: str
    strategy: str | None
    leads: int
    spread: int | None
    gini: float | None
    reps: tuple[RepShare, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "strategy": self.strategy,
            "leads": self.leads,
            "spread": self.spread,
            "gini": self.gini,
            "reps": [
                {"rep": r.rep, "leads": r.leads, "share": r.share, "target": r.target,
                 "deviation": r.deviation}
                for r in self.reps
            ],
        }  # fmt: skip


def route_fairness(
    route: str,
    strategy: str | None,
    candidates: Sequence[str],
    counts: Mapping[str, int],
    weights: Mapping[str, float] | None = None,
) -> RouteFairness:
    """Fairness of one route: ``candidates`` in route order (reps given leads who are no longer
    candidates are listed after them), ``counts`` of leads per rep from this route."""
    reps = list(dict.fromkeys([*candidates, *sorted(counts)]))
    total = sum(counts.get(rep, 0) for rep in reps)
    targets: dict[str, float] = {}
    if candidates and strategy in EQUAL_SHARES:
        targets = {rep: 1 / len(candidates) for rep in candidates}
    elif candidates and strategy == WEIGHTED:
        given = {rep: max((weights or {}).get(rep, 1.0), 0.0) for rep in candidates}
        whole = sum(given.values())
        targets = {rep: w / whole for rep, w in given.items()} if whole else {}
    rows = []
    for rep in reps:
        n = counts.get(rep, 0)
        share = n / total if total else None
        target = targets.get(rep) if targets else None
        deviation = share - target if share is not None and target is not None else None
        rows.append(RepShare(rep, n, share, target, deviation))
    among = [counts.get(rep, 0) for rep in candidates] or list(counts.values())
    return RouteFairness(
        route=route,
        strategy=strategy,
        leads=total,
        spread=max(among) - min(among) if among else None,
        gini=gini(among) if among else None,
        reps=tuple(rows),
    )


def gini(values: Sequence[float]) -> float:
    """Gini coefficient of non-negative values: 0 all equal, towards 1 all to one."""
    ordered = sorted(values)
    n = len(ordered)
    whole = sum(ordered)
    if n == 0 or whole == 0:
        return 0.0
    ranked = sum((i + 1) * v for i, v in enumerate(ordered))
    return (2 * ranked) / (n * whole) - (n + 1) / n
