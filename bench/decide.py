"""In-process ``decide`` throughput: the 10-route x 50-rep policy, no I/O at all.

Each lead is decided at its own arrival time (``snapshot.now = lead.received_at``), as bulk
routing does. "+ record" advances the snapshot after every assignment (caps, loads and rotations
move, as in bulk routing and simulation); "no record" decides every lead against the same empty
snapshot; "+ screening" adds a reject rule, two score rules and a priority rule (four more
conditions per lead) on top of "+ record". Each is also run with the garbage collector off (as
bulk routing runs), printed beside it: the decisions are kept, and with the collector on its
passes over them are part of the figure.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Sequence

from bench.common import Result, Timing, median_seconds, rate, say
from bench.org import Org, build_org, load_policy, make_leads, policy_dict
from leadrelay.domain import Decision, Lead, Snapshot, Status
from leadrelay.pipeline.decide import decide
from leadrelay.policy.compiled import CompiledPolicy

TARGET = 50_000  # leads/s
DEFAULT_LEADS = 5_000


def route_all(
    leads: Sequence[Lead], snapshot: Snapshot, policy: CompiledPolicy, *, record: bool
) -> list[Decision]:
    decisions = []
    for lead in leads:
        snapshot.now = lead.received_at
        decision = decide(lead, snapshot, policy)
        if record and decision.status is Status.ASSIGNED:
            snapshot.record(decision.route, decision.owner, lead.received_at)
        decisions.append(decision)
    return decisions


def _measure(
    org: Org,
    leads: list[Lead],
    policy: CompiledPolicy,
    *,
    record: bool,
    repeat: int,
    collector: bool = True,
) -> tuple[Timing, list[Decision]]:
    """Route the leads ``repeat`` times; ``collector=False`` runs with the cyclic garbage
    collector off, as bulk routing does (decisions hold no cycles)."""
    state: dict[str, Snapshot] = {}
    out: dict[str, list[Decision]] = {}

    def setup() -> None:
        # every repetition starts alike: without the last one's decisions still alive
        out.pop("decisions", None)
        state["snap"] = org.snapshot(leads[0].received_at)

    def run() -> None:
        enabled = gc.isenabled()
        if not collector:
            gc.disable()
        try:
            out["decisions"] = route_all(leads, state["snap"], policy, record=record)
        finally:
            if enabled:
                gc.enable()

    return median_seconds(run, repeat, setup=setup), out["decisions"]


def _spread(decisions: list[Decision]) -> str:
    by_route = Counter(d.route or d.status.value for d in decisions)
    total = len(decisions)
    return ", ".join(f"{name} {count / total:.0%}" for name, count in by_route.most_common())


def run(n_leads: int | None = None, repeat: int = 3) -> list[Result]:
    n = n_leads or DEFAULT_LEADS
    org = build_org()
    policy = load_policy(policy_dict(), org)
    screened = load_policy(policy_dict(screening=True), org)
    leads = make_leads(n)
    say(
        f"[bold]decide[/]: {n:,} leads, policy of {len(policy.routes)} routes over"
        f" {len(org.reps)} reps / {len(org.teams)} teams / {len(org.accounts)} accounts;"
        f" median of {repeat}, after a warm-up"
    )
    route_all(leads[:2000], org.snapshot(leads[0].received_at), policy, record=True)

    results = []
    variants = (
        ("decide + record", policy, True),
        ("decide, no record", policy, False),
        ("decide + screening + record", screened, True),
    )
    for name, pol, record in variants:
        timing, decisions = _measure(org, leads, pol, record=record, repeat=repeat)
        per_s = rate(n, timing.seconds)
        say(
            f"  {name}: {per_s:,.0f} leads/s ({timing.seconds * 1e6 / n:.1f} us/lead;"
            f" {timing.describe()}); per CPU second: {rate(n, timing.cpu_seconds):,.0f} leads"
        )
        # The decisions are kept (as bulk routing keeps its results), so the collector's passes
        # over them are part of the figure above; bulk routing turns it off for its run.
        quiet, _ = _measure(org, leads, pol, record=record, repeat=repeat, collector=False)
        say(
            f"    with the garbage collector off: {rate(n, quiet.seconds):,.0f} leads/s"
            f" ({quiet.seconds * 1e6 / n:.1f} us/lead; {quiet.describe()});"
            f" per CPU second: {rate(n, quiet.cpu_seconds):,.0f} leads"
        )
        if record:
            statuses = Counter(d.status.value for d in decisions)
            say(f"    statuses: {dict(statuses.most_common())}")
            say(f"    routes: {_spread(decisions)}")
        if pol is screened:  # shown for the cost of screening; the target is for the routes
            results.append(Result(name, per_s, "leads/s"))
        else:
            results.append(
                Result(name, per_s, "leads/s", target=f">= {TARGET:,}", met=per_s >= TARGET)
            )
    return results


def profile(n_leads: int | None = None, top: int = 30) -> None:
    """cProfile of ``decide + record``, sorted by cumulative and by own time."""
    import cProfile
    import pstats

    n = n_leads or DEFAULT_LEADS
    org = build_org()
    policy = load_policy(policy_dict(), org)
    leads = make_leads(n)
    route_all(leads[:2000], org.snapshot(leads[0].received_at), policy, record=True)
    snap = org.snapshot(leads[0].received_at)
    profiler = cProfile.Profile()
    profiler.enable()
    route_all(leads, snap, policy, record=True)
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
