"""Optimal batch assignment at scale: 100,000 leads x 1,000 reps, top 20 candidate edges each.

Random (seeded) instance: each lead has 40 candidate reps, a value (log-normal, like deal sizes)
and a win rate per rep; ``top_k`` keeps its 20 best edges. Each rep may take 110 leads (the
batch fills 91% of all room), with fairness bounds of +-20% around the fair share. Printed:
build (edges, top-k, bounds) and solve time, the greedy baseline's time and value, and the
process's peak resident memory (``resource.getrusage``). Targets: < 30 s, < 2 GB.
"""

from __future__ import annotations

import resource
import time

import numpy as np

from bench.common import Result, say
from leadrelay.analytics.optimize import Edges, fair_bounds, greedy, solve, top_k

DEFAULT_LEADS = 100_000
LEADS_PER_REP = 100
CANDIDATES = 40
TOP_K = 20
ROOM = 110  # per rep
FAIRNESS = 0.2
TARGET_S = 30.0
TARGET_MB = 2048.0


def run(n_leads: int | None = None, repeat: int = 1) -> list[Result]:
    n = n_leads or DEFAULT_LEADS
    m = max(n // LEADS_PER_REP, 1)
    rng = np.random.default_rng(6)
    started = time.perf_counter()
    lead = np.repeat(np.arange(n, dtype=np.int32), CANDIDATES)
    rep = rng.integers(0, m, n * CANDIDATES, dtype=np.int32)
    value = rng.lognormal(8.0, 1.2, n)[lead] * rng.beta(2.0, 5.0, n * CANDIDATES)
    edges = top_k(Edges(lead, rep, value), TOP_K)
    room = np.full(m, ROOM, dtype=np.int64)
    ceiling, floor = fair_bounds(edges, room, np.ones(m), FAIRNESS)
    built = time.perf_counter() - started
    started = time.perf_counter()
    plan = solve(edges, n, ceiling, floor)
    solved = time.perf_counter() - started
    started = time.perf_counter()
    rival = greedy(edges, n, ceiling)
    greedy_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    total = built + solved
    gain = plan.value / rival.value - 1 if rival.value else 0.0
    say(
        f"optimize: {n:,} leads x {m:,} reps, {len(edges):,} edges (top {TOP_K} of {CANDIDATES});"
        f" build {built:.1f} s, solve {solved:.1f} s; assigned {plan.assigned:,}"
        f" (floors met: {plan.floors_met}); optimal {plan.value:,.0f} vs greedy"
        f" {rival.value:,.0f} ({gain:+.2%}, greedy {rival.assigned:,} assigned in"
        f" {greedy_s:.1f} s); peak RSS {peak_mb:,.0f} MB"
    )
    at_scale = n >= DEFAULT_LEADS
    return [
        Result("optimize build+solve", total, "s", greedy_s, "greedy",
               f"< {TARGET_S:.0f} s", total < TARGET_S if at_scale else None),
        Result("optimize peak RSS", peak_mb, "MB", target=f"< {TARGET_MB:,.0f} MB",
               met=peak_mb < TARGET_MB if at_scale else None),
        Result("optimize gain over greedy", gain * 100, "%"),
    ]  # fmt: skip
