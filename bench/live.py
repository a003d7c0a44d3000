"""Live routing on SQLite: ``route_lead`` per lead, one transaction each, beside raw commits.

A fresh store in a temp dir holds the benchmark org (50 reps, 5 teams, 300 accounts) and the
10-route policy. After a warm-up of 100 leads, N leads (default 5,000) are routed one by one, in
arrival order, each in its own transaction, as the API and the worker do. The figure is the
rate over the whole run; the printout also gives the rate over each third of it, to show
whether routing slows down as the store fills. The baseline is the raw single-row
INSERT + COMMIT rate (``bench.raw``) measured in the same run.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from sqlalchemy import Engine

from bench import raw
from bench.common import Result, rate, say, scratch_dir
from bench.org import Org, build_org, load_policy, make_leads, policy_dict
from leadrelay.policy.compiled import CompiledPolicy

TARGET_SHARE = 0.5  # of the raw single-row commit rate
DEFAULT_LEADS = 5_000
WARM_UP = 100


def fresh_store(directory: Path, org: Org, policy: CompiledPolicy) -> tuple[Engine, CompiledPolicy]:
    """A new SQLite store with the org loaded and the policy saved and active."""
    from leadrelay.store import (
        activate,
        open_store,
        save_accounts,
        save_policy,
        save_reps,
        save_teams,
    )

    engine = open_store(f"sqlite:///{directory / 'leadrelay.db'}")
    with engine.begin() as conn:
        save_reps(conn, org.reps)
        save_teams(conn, org.teams)
        save_accounts(conn, org.accounts)
        revision = save_policy(conn, policy)
        activate(conn, revision)
    return engine, policy.with_revision(revision)


def run(n_leads: int | None = None, repeat: int = 3) -> list[Result]:
    from leadrelay.workflow import route_lead

    n = n_leads or DEFAULT_LEADS
    org = build_org()
    policy = load_policy(policy_dict(), org)
    leads = make_leads(WARM_UP + n)
    say(
        f"[bold]live[/]: route_lead on SQLite (WAL, synchronous=NORMAL), one transaction per"
        f" lead; {n:,} leads after {WARM_UP} warm-up"
    )
    baseline = raw.single_row_rate(raw.SINGLE_ROWS, repeat)
    with scratch_dir("live") as tmp:
        engine, policy = fresh_store(tmp, org, policy)
        try:
            for lead in leads[:WARM_UP]:
                route_lead(engine, lead, policy)
            marks = [time.perf_counter()]
            cpu_start = time.process_time()
            thirds = {n // 3, 2 * n // 3}
            for i, lead in enumerate(leads[WARM_UP:], start=1):
                route_lead(engine, lead, policy)
                if i in thirds:
                    marks.append(time.perf_counter())
            marks.append(time.perf_counter())
            cpu = time.process_time() - cpu_start
        finally:
            engine.dispose()
    seconds = marks[-1] - marks[0]
    sizes = (n // 3, 2 * n // 3 - n // 3, n - 2 * n // 3)
    segment_rates = [rate(k, b - a) for k, a, b in zip(sizes, marks[:-1], marks[1:], strict=True)]
    per_s = rate(n, seconds)
    share = cpu / seconds if seconds else 1.0
    say(
        f"  route_lead: {per_s:,.0f} leads/s ({seconds * 1e3 / n:.2f} ms/lead; {seconds:.1f} s;"
        f" by thirds {', '.join(f'{r:,.0f}' for r in segment_rates)} leads/s,"
        f" median {statistics.median(segment_rates):,.0f}; CPU {share:.0%} of wall)"
    )
    return [
        Result(
            "live route_lead (SQLite)",
            per_s,
            "leads/s",
            baseline=baseline,
            baseline_name="raw single-row commit",
            target=f">= {TARGET_SHARE:.0%} of baseline",
            met=per_s >= TARGET_SHARE * baseline,
        )
    ]
