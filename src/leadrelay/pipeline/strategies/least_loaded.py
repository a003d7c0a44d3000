"""Least loaded: the eligible rep with the fewest open leads for its capacity."""

from __future__ import annotations

from leadrelay.domain.decision import NO_FACTORS, Candidate, Status, quick_candidate
from leadrelay.domain.rep import Caps, Rep
from leadrelay.pipeline.strategies.base import (
    Pass,
    Pick,
    RouteContext,
    Strategy,
    quick_pass,
    quick_pick,
)


class LeastLoaded(Strategy):
    name = "least_loaded"
    summary = "the rep with the lowest open leads / capacity"

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        eligible = ctx.eligible
        if not eligible:
            return quick_pass("no eligible rep")
        open_leads, default = ctx.snapshot.open_leads, ctx.policy.default_caps
        loads = [_scored(rep, open_leads.get(rep.id, 0), default) for rep in eligible]
        entry_order = ctx.entry_order  # ties go to round-robin order
        first = min(range(len(eligible)), key=lambda i: (loads[i][0], *entry_order(eligible[i])))
        chosen = eligible[first]
        scored = tuple([candidate for _, candidate in loads])
        return quick_pick(
            Status.ASSIGNED,
            f"least loaded: {chosen.id} had the lowest load ({loads[first][1].note})",
            owner=chosen.id,
            scored=scored,
        )


def _scored(rep: Rep, open_leads: int, default: Caps) -> tuple[float, Candidate]:
    """The rep's load and trace entry. A rep's open count changes only when it is given a lead,
    so the entry is remembered (for this very Rep and default) and shared until then."""
    known = _SCORED.get((rep.id, open_leads))
    if known is not None and known[0] is rep and known[1] is default:
        return known[2]
    load, note = rep_load(open_leads, rep, default)
    made = load, quick_candidate(rep.id, None, round(load, 4), NO_FACTORS, note)
    if len(_SCORED) >= _MAX_SCORED:
        _SCORED.clear()
    _SCORED[(rep.id, open_leads)] = (rep, default, made)
    return made


# (rep id, open leads) -> (rep, default caps, its load and entry): a pure function's memo
_SCORED: dict[tuple[str, int], tuple[Rep, Caps, tuple[float, Candidate]]] = {}
_MAX_SCORED = 65536


def rep_load(open_leads: int, rep: Rep, default: Caps) -> tuple[float, str]:
    """Open leads divided by the rep's widest cap (month, else week, else day), else weight."""
    caps = rep.effective_caps(default)
    for word, cap in (
        ("monthly", caps.per_month),
        ("weekly", caps.per_week),
        ("daily", caps.per_day),
    ):
        if cap:
            return open_leads / cap, f"{open_leads} open / {word} cap {cap}"
    return open_leads / rep.weight, f"{open_leads} open / weight {rep.weight:g}"
