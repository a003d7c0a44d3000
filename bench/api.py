"""``POST /v1/leads`` over HTTP on SQLite and on durable PostgreSQL, beside same-run baselines.

Each store gets the benchmark org (50 reps, 5 teams, 300 accounts), the 10-route policy
(active) and a manager key, then ``leadrelay serve`` runs on it and ``bench.loadgen`` posts
leads: every request a new lead (its own ``external_id``) from ``bench.org.make_leads``, so every
request routes one lead and answers 201. Every server figure is taken twice: with group commit
off (``LEADRELAY_GROUP_COMMIT=0``: one transaction per request) and on (the default: concurrent
requests share transactions, ``workflow.batcher``), each on a fresh server process. The
leads' ``received_at`` walk one business week of arrivals; the next 7,500 requests reuse the
same leads a week later.

- **hello**: ``bench.hello_app`` on uvicorn with the flags ``leadrelay serve`` uses (no access
  log), 1 and 2 workers: what the HTTP stack alone costs on this machine.
- **SQLite**: one worker (SQLite takes one writer at a time, so one process is how it is
  deployed); closed loop, then open loops at 150 leads/s (a rate every mode sustains here:
  latency without a queue) and 500 leads/s. Baselines: hello (1 worker) and ``bench.raw``'s
  single-row commits.
- **PostgreSQL, durable**: ``scripts/pg-test-server`` with ``PG_TEST_DURABLE=1`` (fsync,
  synchronous_commit and full_page_writes on, data on this machine's disk); 1 and 2 workers,
  closed loop, then 2 workers in open loops at 150 and 500 leads/s (the latency target).
  Baselines: hello and psycopg single-row INSERTs in autocommit (one durable commit each).
  Skipped, with a note, when the PostgreSQL server binaries are missing.

Closed loop: 32 connections back to back; open loop: requests due at a fixed rate, latency from
when each was due (see ``bench.loadgen``). Each figure is one 10 s run after a 2 s warm-up;
``--repeat`` applies to the raw baselines only. Every line also gives the CPU each party used
per request (server, PostgreSQL, load generator) and how busy the machine was: the generator
shares the two cores with the server, and the split says where the time went.
Under each ``leadrelay serve`` figure: the routing transactions the load took and the leads a
transaction (``RoutingMeter``, from ``/metrics``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from bench import raw
from bench.common import Result, say, scratch_dir
from bench.loadgen import Load, Source, closed_loop, loop_name, open_loop
from bench.org import LEAD_COLUMNS, Org, build_org, load_policy, make_leads, policy_dict
from bench.servers import HOST, CpuMeter, Member, free_port, in_group, postgres_of, serving
from leadrelay.domain import Lead
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.workflow.router_process import PROCESS_NAME as ROUTER

REPO = Path(__file__).resolve().parent.parent
SECONDS = 10.0
WARM_UP = 2.0
CONNECTIONS = 32
OPEN_RATE = 500.0
LOW_RATE = 150.0  # a rate every mode should sustain here: latency without a queue
OPEN_CONNECTIONS = 64
TEMPLATES = 7_500  # one business week of bench arrivals (1,500 a day)
TARGET_RATE = 2_000.0  # leads/s, PostgreSQL durable
TARGET_P99_MS = 25.0  # at OPEN_RATE, PostgreSQL durable
PG_STATE = REPO / ".pg" / "bench-api.env"
PG_RAW_ROWS = 2_000
PG_RAW_SECONDS = 1.5
# WAL segments (16 MB each) made and recycled before the first server run: more than one run
# writes (3-5 KB of WAL a lead), as a server that has been running has them (see _recycle_wal)
WAL_STOCK = 24
OPEN_DRAIN = 2.0  # s after the last request falls due; then what is still queued is cut
# Each server figure with group commit off (one transaction per request) and on (the default).
MODES = {"one tx a lead": "0", "group commit": "1"}


class LeadRequests:
    """``POST /v1/leads`` requests as bytes, each with a new ``external_id`` (``bench-%08d``).

    Built once from the leads; a call fills in the counter and the day, so the hot loop does no
    JSON. After every ``len(leads)`` requests the same leads come again a week later.
    """

    def __init__(self, token: str, leads: Sequence[Lead]) -> None:
        self.sent = 0
        self.token = token
        self._templates = [(_template(lead, token), lead.received_at.date()) for lead in leads]
        self._days: dict[date, bytes] = {}

    def __call__(self) -> bytes:
        week, k = divmod(self.sent, len(self._templates))
        template, day = self._templates[k]
        request = template % (b"%08d" % self.sent, self._day(day, week))
        self.sent += 1
        return request

    def _day(self, day: date, week: int) -> bytes:
        key = date.fromordinal(day.toordinal() + 7 * week)
        text = self._days.get(key)
        if text is None:
            text = self._days[key] = key.isoformat().encode()
        return text


def _template(lead: Lead, token: str) -> bytes:
    """The request with ``%b`` for the id's digits and for the day of ``received_at``."""
    fields = {c: getattr(lead, c) for c in LEAD_COLUMNS if getattr(lead, c) is not None}
    fields["external_id"] = "@ID@"
    fields["received_at"] = "@DAY@" + lead.received_at.isoformat()[10:]
    body = json.dumps(fields, separators=(",", ":")).encode().replace(b"%", b"%%")
    body = body.replace(b"@ID@", b"bench-%b").replace(b"@DAY@", b"%b")
    length = len(body % (b"0" * 8, b"2026-01-05"))
    return _head("/v1/leads", length, token).replace(b"%", b"%%") + body


def _head(path: str, length: int, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\n{auth}Content-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def run(n_leads: int | None = None, repeat: int = 3) -> list[Result]:
    """Fixed durations whatever ``n_leads`` says (about 3 minutes in all)."""
    del n_leads
    say(
        f"[bold]api[/]: POST /v1/leads over HTTP ({loop_name()} client on this machine; closed"
        f" loop {CONNECTIONS} connections, open loop {OPEN_RATE:,.0f}/s; {SECONDS:.0f} s per"
        f" figure after {WARM_UP:.0f} s warm-up); every request routes a new lead"
    )
    org = build_org()
    policy = load_policy(policy_dict(), org)
    leads = make_leads(TEMPLATES)
    results: list[Result] = []
    with scratch_dir("api") as tmp:
        hello = {workers: _hello(tmp, leads[0], workers) for workers in (1, 2)}
        results += [
            Result(f"api FastAPI hello ({_workers(w)})", per_s, "req/s")
            for w, per_s in hello.items()
        ]
        results += _sqlite(tmp, org, policy, leads, hello[1], repeat)
        results += _postgres(tmp, org, policy, leads, hello, repeat)
    return results


def _hello(tmp: Path, lead: Lead, workers: int) -> float:
    body = _template(lead, "")
    body = body[body.index(b"\r\n\r\n") + 4 :] % (b"0" * 8, b"2026-01-05")
    request = _head("/hello", len(body), None) + body
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", "bench.hello_app:app", "--host", HOST,
        "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with serving(cmd, port, tmp / f"hello-{workers}.log", env=_env()) as server:
        load, meter = _closed(port, lambda: request, {"server": in_group(server.pid)})
    _report(f"FastAPI hello, {_workers(workers)}", load, meter)
    return load.rate


def _sqlite(
    tmp: Path, org: Org, policy: CompiledPolicy, leads: Sequence[Lead], hello: float, repeat: int
) -> list[Result]:
    say("  SQLite (WAL, synchronous=NORMAL), 1 worker: SQLite takes one writer at a time")
    commits = raw.single_row_rate(raw.SINGLE_ROWS, repeat)
    results = []
    for mode, grouped in MODES.items():
        url = f"sqlite:///{tmp / f'api-{grouped}.db'}"
        source = LeadRequests(_load_store(url, org, policy), leads)
        with _leadrelay(url, 1, tmp / f"sqlite-{grouped}.log", grouped=grouped) as (port, groups):
            load, meter = _closed(port, source, groups)
            _report(f"POST /v1/leads, SQLite, 1 worker, {mode}", load, meter)
            _ratios(load.rate, hello, commits)
            paced = {}
            for rate in (LOW_RATE, OPEN_RATE):
                paced[rate], meter = _open(port, source, groups, rate)
                _report(f"POST /v1/leads, SQLite, 1 worker, {mode}", paced[rate], meter)
        name = f"api POST /v1/leads (SQLite, 1 worker, {mode})"
        results += [
            Result(name, load.rate, "leads/s", hello, "hello, 1 worker"),
            Result(name, load.rate, "leads/s", commits, "raw sqlite single-row commit"),
        ]
        for rate, at_rate in paced.items():
            at = f"at {rate:,.0f} leads/s (SQLite, {mode})"
            results += [
                Result(f"api p50 {at}", at_rate.percentile(0.5) * 1e3, "ms"),
                Result(f"api p99 {at}", at_rate.percentile(0.99) * 1e3, "ms"),
            ]
    return results


def _postgres(
    tmp: Path,
    org: Org,
    policy: CompiledPolicy,
    leads: Sequence[Lead],
    hello: dict[int, float],
    repeat: int,
) -> list[Result]:
    with durable_postgres() as pg:
        if pg is None:
            return []
        url, data_dir = pg
        durable = _durable(url)
        kind = "PostgreSQL durable" if durable else "PostgreSQL NOT durable"
        commits = raw.pg_single_row_rate(url, PG_RAW_ROWS, repeat, max_seconds=PG_RAW_SECONDS)
        source = LeadRequests(_load_store(url, org, policy), leads)
        _recycle_wal(url, stock=WAL_STOCK)
        postgres = postgres_of(data_dir) if data_dir else None
        also = {"postgres": postgres} if postgres else {}
        rows: list[Result] = []
        for mode, grouped in MODES.items():
            loads = {}
            ceilings: dict[int, float | None] = {}
            for workers in (1, 2):
                log = tmp / f"pg-{workers}-{grouped}.log"
                _recycle_wal(url)
                with _leadrelay(url, workers, log, also, grouped=grouped) as (port, groups):
                    load, meter = _closed(port, source, groups)
                    label = f"POST /v1/leads, {kind}, {_workers(workers)}, {mode}"
                    ceilings[workers] = _report(label, load, meter)
                    _ratios(load.rate, hello[workers], commits)
                    loads[workers] = load
                    if workers == 2:
                        low, meter = _open(port, source, groups, LOW_RATE)
                        _report(f"POST /v1/leads, {kind}, 2 workers, {mode}", low, meter)
                        paced, meter = _open(port, source, groups)
                        _report(f"POST /v1/leads, {kind}, 2 workers, {mode}", paced, meter)
            rows += [
                Result(
                    f"api POST /v1/leads ({kind}, {_workers(w)}, {mode})",
                    load.rate,
                    "leads/s",
                    baseline=hello[w],
                    baseline_name=f"hello, {_workers(w)}",
                    target=f">= {TARGET_RATE:,.0f} leads/s",
                    met=load.rate >= TARGET_RATE,
                )
                for w, load in loads.items()
            ]
            best = max(load.rate for load in loads.values())
            rows += [
                Result(
                    f"api CPU ceiling ({kind}, {_workers(w)}, {mode}): every core busy",
                    ceiling,
                    "leads/s",
                )
                for w, ceiling in ceilings.items()
                if ceiling is not None
            ]
            at_low = f"at {LOW_RATE:,.0f} leads/s ({kind}, 2 workers, {mode})"
            rows += [
                Result(f"api p50 {at_low}", low.percentile(0.5) * 1e3, "ms"),
                Result(f"api p99 {at_low}", low.percentile(0.99) * 1e3, "ms"),
            ]
            at = f"at {OPEN_RATE:,.0f} leads/s ({kind}, 2 workers, {mode})"
            p99 = paced.percentile(0.99) * 1e3
            rows += [
                Result(
                    f"api POST /v1/leads ({kind}, best, {mode})",
                    best,
                    "leads/s",
                    commits,
                    "raw pg commit",
                ),
                Result(f"api p50 {at}", paced.percentile(0.5) * 1e3, "ms"),
                Result(
                    f"api p99 {at}",
                    p99,
                    "ms",
                    target=f"< {TARGET_P99_MS:.0f} ms",
                    met=p99 < TARGET_P99_MS and not paced.failed,
                ),
            ]
    return [
        *rows,
        Result(f"raw pg single-row commit ({'' if durable else 'NOT '}durable)", commits, "rows/s"),
    ]


def _closed(port: int, source: Source, groups: dict[str, Member]) -> tuple[Load, CpuMeter]:
    meter = _meter(groups, port, source)
    load = closed_loop(
        HOST,
        port,
        source,
        connections=CONNECTIONS,
        seconds=SECONDS,
        warm_up=WARM_UP,
        meter=meter,
    )
    return load, meter


def _open(
    port: int, source: Source, groups: dict[str, Member], rate: float = OPEN_RATE
) -> tuple[Load, CpuMeter]:
    meter = _meter(groups, port, source)
    load = open_loop(
        HOST,
        port,
        source,
        rate=rate,
        seconds=SECONDS,
        connections=OPEN_CONNECTIONS,
        warm_up=WARM_UP,
        drain=OPEN_DRAIN,
        meter=meter,
    )
    return load, meter


class RoutingMeter(CpuMeter):
    """``CpuMeter``, and the leads ``leadrelay serve`` routed meanwhile with the routing
    transactions they took (group commit puts the leads that arrive together in one), read
    from ``/metrics`` when the timed part of a load starts and ends."""

    def __init__(self, groups: dict[str, Member], port: int, token: str) -> None:
        super().__init__(groups)
        self.port, self.token = port, token
        self.transactions = (0.0, 0.0)  # (leads, transactions)
        self._start = (0.0, 0.0)

    def start(self) -> None:
        self._start = routing_counts(self.port, self.token)  # before: its CPU is not the load's
        super().start()

    def stop(self) -> None:
        super().stop()
        leads, transactions = routing_counts(self.port, self.token)
        self.transactions = (leads - self._start[0], transactions - self._start[1])


def _meter(groups: dict[str, Member], port: int, source: Source) -> CpuMeter:
    if isinstance(source, LeadRequests):
        return RoutingMeter(groups, port, source.token)
    return CpuMeter(groups)


def routing_counts(port: int, token: str) -> tuple[float, float]:
    """(leads routed, routing transactions) so far, summed over ``/metrics``' labels: a
    transaction is a group (``leadrelay_route_batch_seconds``) or a lone lead
    (``leadrelay_route_seconds``)."""
    request = urllib.request.Request(
        f"http://{HOST}:{port}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read().decode()
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            name = name.split("{", 1)[0]
            totals[name] = totals.get(name, 0.0) + float(value)
    transactions = totals.get("leadrelay_route_batch_seconds_count", 0.0) + totals.get(
        "leadrelay_route_seconds_count", 0.0
    )
    return totals.get("leadrelay_leads_routed_total", 0.0), transactions


@contextmanager
def durable_postgres() -> Iterator[tuple[str, Path | None] | None]:
    """A throwaway durable PostgreSQL: (URL, data directory), or None (with a note) if none."""
    script = REPO / "scripts" / "pg-test-server"
    env = {**os.environ, "PG_TEST_DURABLE": "1", "PG_TEST_SERVER_STATE": str(PG_STATE)}
    # A server left by an interrupted run would hold its old store: start afresh.
    try:
        subprocess.run([script, "stop"], env=env, capture_output=True, check=False, timeout=60)
        started = subprocess.run(
            [script, "start"], env=env, capture_output=True, text=True, check=False, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        started = subprocess.CompletedProcess([script], 1, "", f"{script}: {exc}")
    if started.returncode != 0:
        why = next((ln for ln in started.stderr.splitlines() if "error" in ln), "")
        why = why or (started.stderr.strip().splitlines() or ["no output"])[0]
        say(f"  [yellow]PostgreSQL figures skipped[/]: {why}")
        yield None
        return
    try:
        yield started.stdout.strip(), _data_dir()
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, check=False, timeout=60)


def _data_dir() -> Path | None:
    for line in PG_STATE.read_text().splitlines():
        if line.startswith("PGT_DIR="):
            return Path(line.removeprefix("PGT_DIR=")) / "data"
    return None


def _psycopg_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _durable(url: str) -> bool:
    import psycopg

    with psycopg.connect(_psycopg_url(url)) as conn:
        row = conn.execute(
            "SELECT current_setting('fsync'), current_setting('synchronous_commit'),"
            " current_setting('full_page_writes'), version()"
        ).fetchone()
    assert row is not None
    say(
        f"  {row[3].split(',')[0]}: fsync={row[0]}, synchronous_commit={row[1]},"
        f" full_page_writes={row[2]}"
    )
    return row[:3] == ("on", "on", "on")


def _recycle_wal(url: str, stock: int = 0) -> None:
    """A checkpoint, so that the WAL segments written since are recycled for the next run.

    A server that has been running writes its WAL into recycled segment files. A new cluster
    has none: each 16 MB of WAL (~10 s at 500 leads/s here) went into a new file, zero-filled
    and synced while every commit waited (25-30 ms; on a fresh server, the slowest requests
    of an open loop at 500 leads/s came in those moments and nowhere else). ``stock`` > 0
    first writes that many segments (``pg_switch_wal``) and keeps up to 1 GB of them for reuse
    (``min_wal_size``).
    """
    import psycopg

    with psycopg.connect(_psycopg_url(url), autocommit=True) as conn:
        if stock:
            conn.execute("ALTER SYSTEM SET min_wal_size = '1GB'")
            conn.execute("SELECT pg_reload_conf()")
            conn.execute("CREATE TABLE bench_wal (n int)")
            for _ in range(stock):
                conn.execute("INSERT INTO bench_wal VALUES (1)")  # a switch needs new WAL
                conn.execute("SELECT pg_switch_wal()")
            conn.execute("DROP TABLE bench_wal")
        conn.execute("CHECKPOINT")


def _load_store(url: str, org: Org, policy: CompiledPolicy) -> str:
    """The org, the policy (saved and active) and a manager key in the store; the key's token."""
    from leadrelay.store import (
        activate,
        open_store,
        save_accounts,
        save_policy,
        save_reps,
        save_teams,
    )
    from leadrelay.store.keys import create_key

    engine = open_store(url)
    try:
        with engine.begin() as conn:
            save_reps(conn, org.reps)
            save_teams(conn, org.teams)
            save_accounts(conn, org.accounts)
            activate(conn, save_policy(conn, policy))
            _key, token = create_key(conn, "manager", name="bench")
    finally:
        engine.dispose()
    return token


@contextmanager
def _leadrelay(
    url: str,
    workers: int,
    log: Path,
    groups: dict[str, Member] | None = None,
    *,
    grouped: str = "1",
) -> Iterator[tuple[int, dict[str, Member]]]:
    """``leadrelay serve`` on ``url`` (``grouped``: ``LEADRELAY_GROUP_COMMIT``): its port and the
    process groups to meter."""
    exe = Path(sys.executable).with_name("leadrelay")
    prefix = [str(exe)] if exe.exists() else [sys.executable, "-m", "leadrelay.cli"]
    port = free_port()
    cmd = [
        *prefix, "serve", "--host", HOST, "--port", str(port), "--workers", str(workers),
        "--db", url,
    ]  # fmt: skip
    env = _env() | {"LEADRELAY_GROUP_COMMIT": grouped}
    with serving(cmd, port, log, env=env) as server:
        if grouped == "0":  # no routing process: the workers route
            mine = {"server": in_group(server.pid)}
        else:
            mine = {
                "workers": in_group(server.pid, unless=ROUTER),
                "router": in_group(server.pid, named=ROUTER),
            }
        yield port, mine | (groups or {})


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def _workers(n: int) -> str:
    return f"{n} worker{'s' if n > 1 else ''}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def _report(label: str, load: Load, meter: CpuMeter) -> float | None:
    """Print a load's figures; its CPU ceiling (``cpu_ceiling``)."""
    per = max(load.answered, 1)
    cpu = [f"{name} {used * 1e3 / per:.2f}" for name, used in meter.used.items()]
    cpu.append(f"load generator {load.cpu_seconds * 1e3 / per:.2f}")
    busy = meter.machine_busy
    machine = "" if busy is None else f"; machine busy {busy:.0%} of {os.cpu_count()} cores"
    ceiling = cpu_ceiling(load, meter)
    if ceiling is not None:
        machine += f"; every core busy at this CPU a request: {ceiling:,.0f}/s"
    say(
        f"  {label}: [bold]{load.rate:,.0f}/s[/] ({load.shape}, {load.seconds:.1f} s);"
        f" latency p50 {_ms(load.percentile(0.5))}, p99 {_ms(load.percentile(0.99))},"
        f" max {_ms(load.latencies[-1] if load.latencies else float('nan'))}"
    )
    say(f"    answers: {load.outcome()}; CPU ms per request: {', '.join(cpu)}{machine}")
    leads, transactions = meter.transactions if isinstance(meter, RoutingMeter) else (0, 0)
    if transactions:
        say(
            f"    routing transactions: {transactions:,.0f} for {leads:,.0f} leads"
            f" ({leads / transactions:.1f} leads a transaction)"
        )
    return ceiling


def cpu_ceiling(load: Load, meter: CpuMeter) -> float | None:
    """Requests a second the machine's cores could serve at the CPU a request measured (every
    process metered and the load generator), all of them busy: no design that keeps that CPU
    a request goes faster on this machine."""
    spent = sum(meter.used.values()) + load.cpu_seconds
    if not load.answered or spent <= 0:
        return None
    return (os.cpu_count() or 1) * load.answered / spent


def _ratios(leads: float, hello: float, commits: float) -> None:
    say(
        f"    leads/s / hello req/s = {_share(leads, hello)};"
        f" leads/s / raw commits/s = {_share(leads, commits)}"
    )


def _share(a: float, b: float) -> str:
    return f"{a / b:.1%}" if b else "n/a"
