"""Optimal batch assignment: give a batch of leads to reps so the total expected value is highest.

Pure: candidate edges (lead, rep, expected value), each rep's capacity and optional floor in; an
assignment out. No database, no policy: ``optimize_batch`` feeds it from the store.

The problem is a transportation problem, solved exactly as a min-cost flow (OR-Tools
``SimpleMinCostFlow``, integer costs). Every lead node supplies one unit; it flows either along
one candidate edge to a rep (cost ``-(BONUS + value)``) or straight to the sink ("unassigned",
cost 0). A rep passes at most ``capacity - floor`` units to the sink and keeps ``floor`` units
itself (the standard lower-bound transformation: a rep node with demand ``floor``). ``BONUS``
exceeds the sum of every scaled value, so the solver first assigns as many leads as the bounds
allow and only then maximises value: a lead is never left unassigned to make room for value.

Values are scaled to integers with the largest at ``_RESOLUTION``; smaller differences than one
part in that are ties. Never import highspy next to this (OR-Tools ships its own HiGHS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_RESOLUTION = 1_000_000  # the largest expected value becomes this many cost units
# OR-Tools multiplies costs by (nodes + 1) while scaling; keep that inside int64 with room to spare
_COST_BUDGET = 2**62
UNASSIGNED = -1

IntArray = NDArray[np.int32]
FloatArray = NDArray[np.float64]
CountArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Edges:
    """Candidate pairs as parallel arrays: lead index, rep index, expected value."""

    lead: IntArray
    rep: IntArray
    value: FloatArray

    @classmethod
    def from_options(cls, options: Sequence[Sequence[tuple[int, float]]]) -> Edges:
        """``options[i]`` lists lead i's (rep index, expected value) pairs."""
        lead = [i for i, pairs in enumerate(options) for _ in pairs]
        rep = [r for pairs in options for r, _ in pairs]
        value = [v for pairs in options for _, v in pairs]
        return cls(
            np.asarray(lead, dtype=np.int32),
            np.asarray(rep, dtype=np.int32),
            np.asarray(value, dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.lead)


@dataclass(frozen=True, slots=True)
class Plan:
    """An assignment: each lead's rep index (``UNASSIGNED`` = nobody) and what it is worth."""

    owner: IntArray
    value: float  # sum of the chosen edges' expected values
    assigned: int
    floors_met: bool = True  # False: the floors could not all be met and were dropped


def top_k(edges: Edges, k: int) -> Edges:
    """Each lead's ``k`` most valuable edges (ties: the earlier edge), grouped by lead."""
    if k < 1:
        raise ValueError("top_k: k must be at least 1")
    order = _by_lead_best_first(edges)
    lead = edges.lead[order]
    starts = np.flatnonzero(np.r_[True, lead[1:] != lead[:-1]]) if len(lead) else lead
    rank = np.arange(len(lead)) - np.repeat(starts, np.diff(np.r_[starts, len(lead)]))
    keep = order[rank < k]
    return Edges(edges.lead[keep], edges.rep[keep], edges.value[keep])


def fair_bounds(
    edges: Edges,
    capacity: CountArray,
    weights: FloatArray,
    fairness: float,
) -> tuple[CountArray, CountArray]:
    """Ceilings and floors keeping each rep within ``fairness`` of its fair share.

    A rep's fair share is what it would get if every lead were split among the lead's candidates
    in proportion to their weights (for one team, ``leads * weight / total weight``). The
    ceiling is ``ceil(share * (1 + fairness))`` (never above the capacity), the floor
    ``floor(share * (1 - fairness))`` (never above the ceiling).
    """
    if fairness < 0:
        raise ValueError("fairness must be 0 or more")
    share = fair_shares(edges, len(capacity), weights)
    ceiling = np.minimum(capacity, np.ceil(share * (1 + fairness) - 1e-9).astype(np.int64))
    floor = np.minimum(ceiling, np.floor(share * (1 - fairness) + 1e-9).astype(np.int64))
    return ceiling, np.maximum(floor, 0)


def fair_shares(edges: Edges, n_reps: int, weights: FloatArray) -> FloatArray:
    """Each rep's expected count if every lead went to its candidates in proportion to weight."""
    w = weights[edges.rep]
    per_lead = np.bincount(edges.lead, weights=w)
    shares = np.divide(w, per_lead[edges.lead], out=np.zeros_like(w), where=w > 0)
    return np.bincount(edges.rep, weights=shares, minlength=n_reps).astype(np.float64)


def solve(
    edges: Edges,
    n_leads: int,
    capacity: CountArray,
    floor: CountArray | None = None,
    prefer: IntArray | None = None,
) -> Plan:
    """The assignment with the most leads assigned and, among those, the highest total value.

    Each lead gets at most one of its candidate reps; rep ``r`` gets at most ``capacity[r]``
    and, when ``floor`` is given, at least ``floor[r]``. If the floors cannot all be met at
    once, they are dropped (``Plan.floors_met`` is False) and only the ceilings hold.
    ``prefer[i]`` (a rep index, or ``UNASSIGNED``) breaks ties of value for lead ``i``: one cost
    unit, less than any difference of value the scaling keeps, so with no evidence (every rate
    the same) the plan keeps the route's own pick.
    """
    from ortools.graph.python.min_cost_flow import (  # type: ignore[import-untyped]
        SimpleMinCostFlow,
    )

    n_reps = len(capacity)
    _check(edges, n_leads, n_reps)
    capacity = np.maximum(np.asarray(capacity, dtype=np.int64), 0)
    lows = np.zeros(n_reps, dtype=np.int64) if floor is None else np.asarray(floor, np.int64)
    lows = np.clip(lows, 0, capacity)
    sink = n_leads + n_reps
    units = _cost_units(edges.value, n_leads, sink + 1)
    # above the sum of every scaled value and tie-break: assigning one more lead always wins
    bonus = (2 * units + 1) * n_leads + 1
    scaled = 2 * _scaled(edges.value, units)
    if prefer is not None and len(edges):
        scaled += (np.asarray(prefer)[edges.lead] == edges.rep).astype(np.int64)
    tails = np.concatenate(
        [
            edges.lead,
            np.arange(n_leads, dtype=np.int32),
            n_leads + np.arange(n_reps, dtype=np.int32),
        ]
    ).astype(np.int32)
    heads = np.concatenate(
        [n_leads + edges.rep, np.full(n_leads + n_reps, sink, dtype=np.int32)]
    ).astype(np.int32)
    costs = np.concatenate([-(bonus + scaled), np.zeros(n_leads + n_reps, dtype=np.int64)])
    nodes = np.arange(sink + 1, dtype=np.int32)

    def run(low: CountArray) -> tuple[int, SimpleMinCostFlow]:
        flow = SimpleMinCostFlow()
        caps = np.concatenate([np.ones(len(edges) + n_leads, dtype=np.int64), capacity - low])
        flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        supplies = np.concatenate(
            [np.ones(n_leads, dtype=np.int64), -low, [-(n_leads - int(low.sum()))]]
        ).astype(np.int64)
        flow.set_nodes_supplies(nodes, supplies)
        return int(flow.solve()), flow

    status, flow = run(lows)
    floors_met = True
    if status == SimpleMinCostFlow.INFEASIBLE and lows.any():
        floors_met = False
        status, flow = run(np.zeros(n_reps, dtype=np.int64))
    if status != SimpleMinCostFlow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status} (a bug: please report)")
    owner = np.full(n_leads, UNASSIGNED, dtype=np.int32)
    if len(edges):
        used = np.asarray(flow.flows(np.arange(len(edges), dtype=np.int32))) > 0
        owner[edges.lead[used]] = edges.rep[used]
        value = float(edges.value[used].sum())
    else:
        value = 0.0
    return Plan(owner, value, int((owner != UNASSIGNED).sum()), floors_met)


def greedy(edges: Edges, n_leads: int, capacity: CountArray) -> Plan:
    """Each lead in order (index = arrival) to its most valuable rep with room left."""
    _check(edges, n_leads, len(capacity))
    left = [int(c) for c in capacity]
    owner = [UNASSIGNED] * n_leads
    total = 0.0
    order = _by_lead_best_first(edges)
    leads, reps, values = (a[order].tolist() for a in (edges.lead, edges.rep, edges.value))
    for lead, rep, value in zip(leads, reps, values, strict=True):
        if owner[lead] == UNASSIGNED and left[rep] > 0:
            owner[lead] = rep
            left[rep] -= 1
            total += value
    chosen = np.asarray(owner, dtype=np.int32)
    return Plan(chosen, total, int((chosen != UNASSIGNED).sum()))


def plan_value(edges: Edges, owner: IntArray) -> float:
    """The expected value of an assignment (an owner with no edge to its lead adds nothing)."""
    hit = owner[edges.lead] == edges.rep
    # a lead listing the same rep twice counts once: its first (best) edge
    seen: set[int] = set()
    total = 0.0
    for index in np.flatnonzero(hit).tolist():
        lead = int(edges.lead[index])
        if lead not in seen:
            seen.add(lead)
            total += float(edges.value[index])
    return total


def _by_lead_best_first(edges: Edges) -> NDArray[np.intp]:
    """Edge positions sorted by lead, then value high to low, then position (stable)."""
    return np.lexsort((np.arange(len(edges)), -edges.value, edges.lead))


def _cost_units(values: FloatArray, n_leads: int, nodes: int) -> int:
    """How many integer cost units the largest value gets: ``_RESOLUTION`` unless the bonus
    (units x leads) times the node count would leave int64."""
    room = _COST_BUDGET // (nodes + 1) // (2 * n_leads + 2) // 2
    return max(1, min(_RESOLUTION, room))


def _scaled(values: FloatArray, units: int) -> CountArray:
    top = float(values.max()) if len(values) else 0.0
    if top <= 0:
        return np.zeros(len(values), dtype=np.int64)
    return np.rint(np.clip(values, 0, None) / top * units).astype(np.int64)


def _check(edges: Edges, n_leads: int, n_reps: int) -> None:
    if not len(edges):
        return
    if edges.lead.min() < 0 or edges.lead.max() >= n_leads:
        raise ValueError(f"an edge names a lead outside 0..{n_leads - 1}")
    if edges.rep.min() < 0 or edges.rep.max() >= n_reps:
        raise ValueError(f"an edge names a rep outside 0..{n_reps - 1}")
    if not np.isfinite(edges.value).all() or (edges.value < 0).any():
        raise ValueError("expected values must be finite and not negative")
