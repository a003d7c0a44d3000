"""Live routing: ``route_lead`` per lead, one transaction each, and ``route_group`` (group
commit, as the API's batcher does under load), beside raw single-row commits.

A fresh store in a temp dir holds the benchmark org (50 reps, 5 teams, 300 accounts) and the
10-route policy. After a warm-up of 100 leads, N leads (default 5,000) are routed in arrival
order: one by one, each in its own transaction, as a lone API request or the worker does; then,
on another fresh store, in groups of ``GROUP`` leads, one transaction per group. The figure is
the rate over the whole run; the printout also gives the rate over each third of it, to show
whether routing slows down as the store fills. The baseline is the raw single-row
INSERT + COMMIT rate (``bench.raw``) measured in the same run: the target compares a lead with
a row, whatever the number of leads per commit.

With ``LEADRELAY_BENCH_PG_URL`` set (a SQLAlchemy or libpq URL of a PostgreSQL server where the
user may create databases), the same is measured on PostgreSQL, in a scratch database created
for the run and dropped after it, beside raw psycopg single-row INSERT + COMMITs into that
database.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bench import raw, sql_floor
from bench.common import Result, rate, say, scratch_dir
from bench.org import Org, build_org, load_policy, make_leads, policy_dict
from leadrelay.domain import Lead
from leadrelay.policy.compiled import CompiledPolicy

TARGET_SHARE = 0.5  # of the raw single-row commit rate
DEFAULT_LEADS = 5_000
WARM_UP = 100
GROUP = 50  # leads per transaction in the group commit figure
PG_URL_ENV = "LEADRELAY_BENCH_PG_URL"
STORE_FILE = "leadrelay.db"


def fresh_store(
    directory: Path, org: Org, policy: CompiledPolicy, **engine_options: Any
) -> tuple[Engine, CompiledPolicy]:
    """A new SQLite store (``directory/STORE_FILE``) with the org loaded and the policy saved
    and active. ``engine_options`` go to ``create_engine``."""
    directory.mkdir(parents=True, exist_ok=True)
    return _loaded(f"sqlite:///{directory / STORE_FILE}", org, policy, **engine_options)


def _loaded(
    url: str, org: Org, policy: CompiledPolicy, **engine_options: Any
) -> tuple[Engine, CompiledPolicy]:
    from leadrelay.store import (
        activate,
        open_store,
        save_accounts,
        save_policy,
        save_reps,
        save_teams,
    )

    engine = open_store(url, **engine_options)
    with engine.begin() as conn:
        save_reps(conn, org.reps)
        save_teams(conn, org.teams)
        save_accounts(conn, org.accounts)
        revision = save_policy(conn, policy)
        activate(conn, revision)
    return engine, policy.with_revision(revision)


@dataclass(frozen=True)
class _Run:
    per_s: float
    seconds: float
    thirds: list[float]
    cpu_share: float

    def describe(self, n: int) -> str:
        return (
            f"{self.per_s:,.0f} leads/s ({self.seconds * 1e3 / n:.2f} ms/lead;"
            f" {self.seconds:.1f} s; by thirds {', '.join(f'{r:,.0f}' for r in self.thirds)}"
            f" leads/s, median {statistics.median(self.thirds):,.0f}; CPU {self.cpu_share:.0%}"
            " of wall)"
        )


def _warm_up(engine: Engine, leads: list[Lead], policy: CompiledPolicy) -> None:
    from leadrelay.workflow import route_lead

    for lead in leads[:WARM_UP]:
        route_lead(engine, lead, policy)


def _route(
    engine: Engine,
    leads: list[Lead],
    policy: CompiledPolicy,
    group: int,
    mark: Callable[[], object] = lambda: None,
) -> None:
    """Route the leads after the warm-up in order, ``group`` a transaction; ``mark()`` at each
    third of them."""
    from leadrelay.workflow import route_lead
    from leadrelay.workflow.group import route_group

    n = len(leads) - WARM_UP
    rest = leads[WARM_UP:]
    thirds = {n // 3, 2 * n // 3}
    done = 0
    for start in range(0, n, group):
        chunk = rest[start : start + group]
        if group == 1:
            route_lead(engine, chunk[0], policy)
        else:
            route_group(engine, chunk, policy)
        before, done = done, done + len(chunk)
        if any(before < t <= done for t in thirds):
            mark()


def _route_all(engine: Engine, leads: list[Lead], policy: CompiledPolicy, group: int = 1) -> _Run:
    """Route the warm-up untimed, then the rest in order (``group`` leads a transaction), timed."""
    _warm_up(engine, leads, policy)
    n = len(leads) - WARM_UP
    marks = [time.perf_counter()]
    cpu_start = time.process_time()
    _route(engine, leads, policy, group, lambda: marks.append(time.perf_counter()))
    marks.append(time.perf_counter())
    cpu = time.process_time() - cpu_start
    seconds = marks[-1] - marks[0]
    sizes = (n // 3, 2 * n // 3 - n // 3, n - 2 * n // 3)
    segment_rates = [rate(k, b - a) for k, a, b in zip(sizes, marks[:-1], marks[1:], strict=True)]
    return _Run(rate(n, seconds), seconds, segment_rates, cpu / seconds if seconds else 1.0)


@dataclass(frozen=True)
class _Floor:
    """The SQL a run sent to SQLite, replayed raw (``bench.sql_floor``)."""

    per_s: float  # every statement, in the run's transactions
    least_per_s: float  # only the INSERTs of the leads and their decisions, same transactions
    statements: float  # a lead

    def describe(self, routed: _Run, baseline: float) -> str:
        return (
            f"{self.per_s:,.0f} leads/s ({1e6 / self.per_s:.0f} us/lead, {self.statements:.1f}"
            f" statements a lead) = {self.per_s / baseline:.1%} of the raw single-row commit;"
            f" SQLite's share of routing's time: {routed.per_s / self.per_s:.0%}. The INSERTs of"
            f" the leads and their decisions alone: {self.least_per_s:,.0f} leads/s ="
            f" {self.least_per_s / baseline:.0%} of the raw single-row commit"
        )


def _lead_and_decision(sql: str) -> bool:
    """The least a routing transaction writes: the lead and its decision (with the trace)."""
    return sql.startswith(("BEGIN", "INSERT INTO leads ", "INSERT INTO decisions "))


def _floor(
    directory: Path, org: Org, policy: CompiledPolicy, leads: list[Lead], group: int, repeat: int
) -> _Floor:
    """Route the leads as ``_route_all`` does on a store whose driver records the SQL, then
    replay the timed part's SQL raw (checked to redo it exactly): median of ``repeat``."""
    recorder = sql_floor.Recorder()
    engine, loaded = fresh_store(directory, org, policy, connect_args=recorder.connect_args())
    made = recorder.record(
        engine,
        directory / STORE_FILE,
        warm_up=lambda: _warm_up(engine, leads, loaded),
        work=lambda: _route(engine, leads, loaded, group),
    )
    replayed = directory / "replay" / STORE_FILE
    every = statistics.median(made.replay(replayed) for _ in range(repeat))
    made.check(replayed)
    rows = statistics.median(made.replay(replayed, keep=_lead_and_decision) for _ in range(repeat))
    n = len(leads) - WARM_UP
    return _Floor(rate(n, every), rate(n, rows), made.statements() / n)


def _measure(
    make: Callable[[], tuple[Engine, CompiledPolicy]], leads: list[Lead], group: int
) -> _Run:
    engine, loaded = make()
    try:
        return _route_all(engine, leads, loaded, group)
    finally:
        engine.dispose()


def run(n_leads: int | None = None, repeat: int = 3) -> list[Result]:
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
        single = _measure(lambda: fresh_store(tmp / "single", org, policy), leads, 1)
        grouped = _measure(lambda: fresh_store(tmp / "group", org, policy), leads, GROUP)
        floors = [
            _floor(tmp / f"floor-{group}", org, policy, leads, group, repeat)
            for group in (1, GROUP)
        ]
    say(f"  route_lead: {single.describe(n)}")
    say(f"    its SQL replayed raw: {floors[0].describe(single, baseline)}")
    say(f"  route_group, {GROUP} a transaction: {grouped.describe(n)}")
    say(f"    its SQL replayed raw: {floors[1].describe(grouped, baseline)}")
    results = [
        Result(
            f"live {name} (SQLite)",
            run.per_s,
            "leads/s",
            baseline=baseline,
            baseline_name="raw single-row commit",
            target=f">= {TARGET_SHARE:.0%} of baseline",
            met=run.per_s >= TARGET_SHARE * baseline,
        )
        for name, run in (("route_lead", single), (f"groups of {GROUP}", grouped))
    ]
    results += [
        Result(
            f"live {name}: its SQL alone, raw (SQLite)",
            floor.per_s,
            "leads/s",
            baseline=baseline,
            baseline_name="raw single-row commit",
        )
        for name, floor in (("route_lead", floors[0]), (f"groups of {GROUP}", floors[1]))
    ]
    pg_url = os.environ.get(PG_URL_ENV)
    if pg_url:
        results.extend(_run_postgres(pg_url, org, policy, leads, repeat))
    return results


def _run_postgres(
    server: str, org: Org, policy: CompiledPolicy, leads: list[Lead], repeat: int
) -> list[Result]:
    n = len(leads) - WARM_UP
    say(f"  on PostgreSQL ({PG_URL_ENV}), in a scratch database:")
    with _scratch_database(server) as url:
        baseline = raw.pg_single_row_rate(url, raw.PG_SINGLE_ROWS, repeat)
        single = _measure(lambda: _loaded(url, org, policy), leads, 1)
    with _scratch_database(server) as url:
        grouped = _measure(lambda: _loaded(url, org, policy), leads, GROUP)
    say(f"  route_lead (PostgreSQL): {single.describe(n)}")
    say(f"  route_group, {GROUP} a transaction (PostgreSQL): {grouped.describe(n)}")
    return [
        Result("raw pg single-row commit", baseline, "rows/s"),
        *(
            Result(
                f"live {name} (PostgreSQL)",
                run.per_s,
                "leads/s",
                baseline=baseline,
                baseline_name="raw pg single-row commit",
                target=">= 2,000 leads/s",
                met=run.per_s >= 2_000,
            )
            for name, run in (("route_lead", single), (f"groups of {GROUP}", grouped))
        ),
    ]


@contextmanager
def _scratch_database(server: str) -> Iterator[str]:
    """A new database on ``server`` (SQLAlchemy URL of it), dropped afterwards."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    from leadrelay.store.engine import normalise_url

    parsed = normalise_url(server)
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"leadrelay_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(parsed).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
