"""Social proximity on a synthetic relationship graph of 1,000,000 edges.

The graph is shaped like a company's exports (fixed seed): 2,000 employees of whom 200 are reps,
each with a LinkedIn network whose size is log-normal (median ~250, a few networkers with
thousands), 300,000 contacts who each work at one of 50,000 companies (company sizes are
Zipf-like: a few giants with thousands of contacts, most with a handful), and 10,000 ties between
employees. 690,000 ``knows`` + 300,000 ``works_at`` + 10,000 colleague edges = 1,000,000.

The 2,000 leads: 60% at a company of the graph (drawn by size, so the giants come up often),
20% a contact by email, 20% at a company nobody knows. Each is asked for all 200 reps. Printed:
the build (Edge objects -> graph) time and the arrays' memory, then ms per lead (mean, p50,
p99, max) at 3 hops (the default) and 4, beside a same-run baseline: scipy's csgraph Dijkstra
from the lead's nodes over the whole graph (unbounded, no pruning), for 50 leads.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from datetime import UTC, datetime

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from bench.common import Result, say
from leadrelay.domain.lead import Lead
from leadrelay.domain.rep import Rep
from leadrelay.social import Edge, SocialGraph

SEED = 20261124
EMPLOYEES, REPS = 2_000, 200
CONTACTS, COMPANIES = 300_000, 50_000
KNOWS, COLLEAGUES = 690_000, 10_000
DEFAULT_LEADS = 2_000
BASELINE_LEADS = 50
TARGET_MS = 5.0
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _employee(i: int) -> str:
    return f"rep:r{i:03d}" if i < REPS else f"person:e{i:04d}@our.co"


def synthetic_edges(seed: int = SEED) -> tuple[list[Edge], list[Rep], np.ndarray]:
    """The edges, the reps, and each contact's company (for making leads)."""
    rng = np.random.default_rng(seed)
    company_weight = 1.0 / np.arange(1, COMPANIES + 1) ** 0.9
    company_of = rng.choice(COMPANIES, size=CONTACTS, p=company_weight / company_weight.sum())
    reach = rng.lognormal(mean=0.0, sigma=1.0, size=EMPLOYEES)
    who = rng.choice(EMPLOYEES, size=KNOWS, p=reach / reach.sum())
    whom = rng.integers(0, CONTACTS, size=KNOWS)
    knows = np.round(rng.uniform(0.3, 0.7, size=KNOWS), 3)
    pairs = rng.integers(0, EMPLOYEES, size=(COLLEAGUES, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]

    employees = [_employee(i) for i in range(EMPLOYEES)]
    labels = ["" if i < REPS else f"E{i:04d} (employee)" for i in range(EMPLOYEES)]
    contacts = [f"person:c{i:06d}@co{company_of[i]:05d}.example" for i in range(CONTACTS)]
    companies = [f"company:company {j:05d}" for j in range(COMPANIES)]
    edges = [Edge(contacts[i], companies[company_of[i]], "works_at", 0.8) for i in range(CONTACTS)]
    edges += [
        Edge(employees[a], contacts[b], "knows", float(s), labels[a])
        for a, b, s in zip(who.tolist(), whom.tolist(), knows.tolist(), strict=True)
    ]
    edges += [Edge(employees[a], employees[b], "knows", 0.6) for a, b in pairs.tolist()]
    reps = [Rep(f"r{i:03d}", f"Rep {i:03d}") for i in range(REPS)]
    return edges, reps, company_of


def make_leads(n: int, company_of: np.ndarray, seed: int = SEED + 1) -> list[Lead]:
    rng = np.random.default_rng(seed)
    leads = []
    for k in range(n):
        roll = rng.random()
        if roll < 0.6:
            contact = int(rng.integers(0, CONTACTS))  # a company drawn by its size
            company = f"Company {company_of[contact]:05d} Inc."
            leads.append(Lead(received_at=NOW, email=f"new{k}@gmail.com", company=company))
        elif roll < 0.8:
            contact = int(rng.integers(0, CONTACTS))
            email = f"c{contact:06d}@co{company_of[contact]:05d}.example"
            leads.append(Lead(received_at=NOW, email=email))
        else:
            leads.append(Lead(received_at=NOW, company=f"Unknown {k} GmbH"))
    return leads


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _time(
    graph: SocialGraph, leads: list[Lead], reps: list[str], hops: int, repeat: int
) -> list[float]:
    for lead in leads[:100]:  # warm-up
        graph.proximity(lead, reps, max_hops=hops)
    runs: list[list[float]] = [[] for _ in leads]
    for _ in range(repeat):
        for i, lead in enumerate(leads):
            start = time.perf_counter()
            graph.proximity(lead, reps, max_hops=hops)
            runs[i].append((time.perf_counter() - start) * 1e3)
    return [statistics.median(r) for r in runs]


def _baseline(edges: list[Edge], graph: SocialGraph, leads: list[Lead]) -> float:
    """ms per lead for an unbounded, unpruned csgraph Dijkstra from the lead's nodes."""
    index = {key: i for i, key in enumerate(dict.fromkeys(k for e in edges for k in (e.a, e.b)))}
    a = np.fromiter((index[e.a] for e in edges), dtype=np.int64, count=len(edges))
    b = np.fromiter((index[e.b] for e in edges), dtype=np.int64, count=len(edges))
    w = -np.log(np.fromiter((e.strength for e in edges), dtype=np.float64, count=len(edges)))
    # both directions stored once, so each call does not symmetrise the matrix again
    size = len(index)
    matrix = csr_matrix(
        (np.concatenate((w, w)) + 1e-12, (np.concatenate((a, b)), np.concatenate((b, a)))),
        shape=(size, size),
    )
    total = 0.0
    done = 0
    for lead in leads:
        sources = [index[k] for k in graph.targets(lead) if k in index]
        if not sources:
            continue
        start = time.perf_counter()
        dijkstra(matrix, directed=True, indices=sources, min_only=True)
        total += time.perf_counter() - start
        done += 1
    return total * 1e3 / max(done, 1)


def run(n_leads: int | None = None, repeat: int = 3) -> list[Result]:
    n = n_leads or DEFAULT_LEADS
    say(
        f"[bold]social[/]: proximity of {REPS} reps to {n:,} leads on a graph of"
        f" {KNOWS + CONTACTS + COLLEAGUES:,} edges"
    )
    start = time.perf_counter()
    edges, reps, company_of = synthetic_edges()
    leads = make_leads(n, company_of)
    say(f"  {len(edges):,} edges and {n:,} leads made in {time.perf_counter() - start:.1f} s")

    rss_before = _peak_rss_mib()
    start = time.perf_counter()
    graph = SocialGraph.build(edges, reps, max_hops=4)
    build = time.perf_counter() - start
    say(
        f"    build {build:.1f} s: {len(graph):,} nodes, {graph.edge_count:,} edges, arrays"
        f" {graph.memory_bytes() / 2**20:,.0f} MiB (peak RSS +{_peak_rss_mib() - rss_before:,.0f}"
        " MiB during the build, key index and labels included)"
    )
    rep_ids = [rep.id for rep in reps]
    found = [len(graph.proximity(lead, rep_ids)) for lead in leads]
    say(
        f"    leads with a connected rep: {sum(1 for f in found if f) / n:.0%}; reps connected"
        f" per such lead: median {statistics.median([f for f in found if f] or [0]):.0f}"
    )
    results = [Result("social build (1M edges)", build, "s")]
    baseline = _baseline(edges, graph, leads[:BASELINE_LEADS])
    for hops in (3, 4):
        per_lead = _time(graph, leads, rep_ids, hops, repeat)
        mean, cuts = statistics.fmean(per_lead), statistics.quantiles(per_lead, n=100)
        say(
            f"    {hops} hops: {mean:.2f} ms/lead mean, p50 {cuts[49]:.2f}, p99 {cuts[98]:.2f},"
            f" max {max(per_lead):.2f} (median of {repeat} passes)"
        )
        default = hops == 3
        results += [
            Result(
                f"social proximity ({hops} hops)", cuts[49], "ms/lead p50",
                baseline=baseline, baseline_name="csgraph dijkstra",
                target=f"< {TARGET_MS:.0f}" if default else "",
                met=cuts[49] < TARGET_MS if default else None,
            ),
            Result(
                f"social proximity p99 ({hops} hops)", cuts[98], "ms/lead",
                target=f"< {TARGET_MS:.0f}" if default else "",
                met=cuts[98] < TARGET_MS if default else None,
            ),
        ]  # fmt: skip
    say(f"    baseline: csgraph dijkstra from the lead's nodes, {baseline:.1f} ms/lead")
    return results
