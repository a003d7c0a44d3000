"""Scale-out on one durable PostgreSQL: POST /v1/leads at 1, 2 and 4 API processes, and the
outbox drained by 1 and 2 workers.

- **API**: the ``bench.api`` setup (50 reps, 5 teams, 300 accounts, the 10-route policy, a
  manager key) in a durable throwaway PostgreSQL (``PG_TEST_DURABLE=1``: fsync,
  synchronous_commit and full_page_writes on), then ``leadrelay serve --workers N`` for N in
  1, 2, 4 (uvicorn's worker processes share the listening socket), a closed loop of 32
  connections for ``SECONDS`` after a warm-up, every request a new lead. Throughput, p50, p99.
- **Worker**: ``NOTIFICATIONS`` webhook messages put in the outbox (as routing would), then M
  ``leadrelay worker --no-timers`` processes (M = 1, 2) deliver them to a receiver in this
  process that answers 200 at once; the figure is messages/s from the workers' start to the
  outbox being empty (start-up included, as a deployment sees it).

Every line also says how busy the machine was: two cores shared by the load generator, the API
processes and PostgreSQL, so more processes cannot mean proportionally more leads; the figures
show where the knee is on this machine. See docs/scale-out.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import api
from bench.common import Result, say, scratch_dir
from bench.loadgen import closed_loop
from bench.org import build_org, load_policy, make_leads, policy_dict
from bench.servers import HOST, CpuMeter, postgres_of

REPO = Path(__file__).resolve().parent.parent
PG_STATE = REPO / ".pg" / "bench-scale.env"
PROCESSES = (1, 2, 4)
WORKERS = (1, 2)
SECONDS = 10.0
WARM_UP = 2.0
CONNECTIONS = 32
NOTIFICATIONS = 4_000
DRAIN_TIMEOUT_S = 300.0


def run(n_leads: int | None = None, repeat: int = 3) -> list[Result]:
    """Fixed durations (about 1.5 minutes); ``n_leads`` sets the number of notifications."""
    del repeat
    notifications = n_leads or NOTIFICATIONS
    say(
        f"[bold]scale[/]: durable PostgreSQL; POST /v1/leads at {', '.join(map(str, PROCESSES))}"
        f" API processes (closed loop, {CONNECTIONS} connections, {SECONDS:.0f} s after"
        f" {WARM_UP:.0f} s warm-up); {notifications:,} notifications drained by"
        f" {' and '.join(map(str, WORKERS))} workers"
    )
    results: list[Result] = []
    with scratch_dir("scale") as tmp, durable_postgres() as pg:
        if pg is None:
            return []
        url, data_dir = pg
        org = build_org()
        token = api._load_store(url, org, load_policy(policy_dict(), org))
        source = api.LeadRequests(token, make_leads(api.TEMPLATES))
        postgres = postgres_of(data_dir)
        also = {"postgres": postgres} if postgres else {}
        for n in PROCESSES:
            with api._leadrelay(url, n, tmp / f"api-{n}.log", also) as (port, groups):
                meter = CpuMeter(groups)
                load = closed_loop(
                    HOST, port, source, connections=CONNECTIONS, seconds=SECONDS,
                    warm_up=WARM_UP, meter=meter,
                )  # fmt: skip
            api._report(f"POST /v1/leads, {n} API process{'es' if n > 1 else ''}", load, meter)
            label = f"scale POST /v1/leads ({n} API process{'es' if n > 1 else ''})"
            results += [
                Result(label, load.rate, "leads/s"),
                Result(f"{label} p50", load.percentile(0.5) * 1e3, "ms"),
                Result(f"{label} p99", load.percentile(0.99) * 1e3, "ms"),
            ]
        for m in WORKERS:
            rate = _drain(url, m, notifications, tmp)
            results.append(
                Result(f"scale outbox drained ({m} worker{'s' * (m > 1)})", rate, "msg/s")
            )
    return results


class _Receiver:
    """A webhook endpoint answering 200 at once; counts what it got."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _drain(url: str, workers: int, n: int, tmp: Path) -> float:
    from sqlalchemy import insert

    from leadrelay.store import make_engine
    from leadrelay.store.outbox import pending_count
    from leadrelay.store.tables import outbox

    receiver = _Receiver()
    engine = make_engine(url)
    now = datetime.now(UTC)
    stamp = f"{time.time_ns():x}"
    with engine.begin() as conn:
        conn.execute(
            insert(outbox),
            [
                {
                    "event": "assigned", "channel": "webhook", "target": receiver.url,
                    "payload": {"text": f"lead {i}", "lead_id": i},
                    "idempotency_key": f"scale-{stamp}-{i}", "created_at": now,
                    "next_attempt_at": now, "attempts": 0,
                }
                for i in range(n)
            ],
        )  # fmt: skip
    exe = Path(sys.executable).with_name("leadrelay")
    cmd = [str(exe), "worker", "--no-timers", "--poll", "0.05", "--db", url]
    started = time.perf_counter()
    procs = []
    for k in range(workers):
        with (tmp / f"worker-{workers}-{k}.log").open("ab") as log:
            procs.append(
                subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            )
    try:
        while time.perf_counter() - started < DRAIN_TIMEOUT_S:
            with engine.connect() as conn:
                if pending_count(conn) == 0:
                    break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    finally:
        for proc in procs:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, 15)
            proc.wait(30)
        engine.dispose()
        receiver.close()
    rate = n / seconds
    say(
        f"  outbox, {workers} worker{'s' * (workers > 1)}: {n:,} webhooks in {seconds:.1f} s ="
        f" [bold]{rate:,.0f}/s[/] (receiver got {receiver.count:,}); load average"
        f" {os.getloadavg()[0]:.2f}"
    )
    return rate


@contextmanager
def durable_postgres() -> Iterator[tuple[str, Path] | None]:
    """A durable throwaway PostgreSQL of this benchmark's own: (URL, data dir), or None."""
    script = REPO / "scripts" / "pg-test-server"
    env = {**os.environ, "PG_TEST_DURABLE": "1", "PG_TEST_SERVER_STATE": str(PG_STATE)}
    subprocess.run([script, "stop"], env=env, capture_output=True, check=False, timeout=60)
    started = subprocess.run(
        [script, "start"], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    if started.returncode != 0:
        say(f"  [yellow]scale skipped[/]: {(started.stderr.strip().splitlines() or ['?'])[-1]}")
        yield None
        return
    try:
        values = dict(
            line.split("=", 1) for line in PG_STATE.read_text().splitlines() if "=" in line
        )
        yield started.stdout.strip(), Path(values["PGT_DIR"]) / "data"
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, check=False, timeout=60)
