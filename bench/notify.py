"""From ``POST /v1/leads`` to the rep's webhook receiving the notification, with the worker on.

A SQLite store gets a small org (8 reps in one team, round robin), a policy whose webhook points
at a receiver in this process (``http.server`` in a thread, recording when each lead's message
arrived) and a manager key. ``leadrelay serve`` (1 worker) and ``leadrelay worker`` run as
their own processes; this process posts N leads at a steady rate, one connection, and measures
for each lead the time from just before its POST to the receiver reading its webhook: routing,
the outbox row, the worker's poll, the delivery. Run once per worker poll interval: 1 s (the
latency is then bounded by the poll: about half of it on average, p99 about all of it), the
default 0.25 s, and 50 ms, where the work bounds it instead.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.common import Result, say, scratch_dir
from bench.servers import HOST, free_port, serving

REPO = Path(__file__).resolve().parent.parent
RATE = 20.0  # leads per second, steady
LEADS = 200
POLLS = (1.0, 0.25, 0.05)
DRAIN_S = 15.0
POLICY = """\
notifications:
  webhooks: [{{name: bench, url: 'http://{host}:{port}/hook', events: [assigned]}}]
routes:
  - {{name: everyone, to: {{team: sales}}, strategy: round_robin}}
"""


class _Receiver:
    """Webhook messages by lead id: when each first arrived (``time.time()``)."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.lock = threading.Lock()

    @contextmanager
    def serving(self) -> Iterator[int]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                with suppress(ValueError, KeyError, TypeError):
                    lead_id = int(json.loads(body)["lead_id"])
                    with receiver.lock:
                        receiver.arrived.setdefault(lead_id, now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer((HOST, 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield int(server.server_address[1])
        finally:
            server.shutdown()
            server.server_close()


def run(n_leads: int | None = None, repeat: int = 3) -> list[Result]:
    n = n_leads or LEADS
    results: list[Result] = []
    for poll in POLLS:
        answered: list[float] = []
        with scratch_dir("leadrelay-notify-") as tmp:
            latencies, lost = _measure(tmp, n, poll, answered)
        if not latencies:
            say(f"  poll {poll:g} s: [red]no notification arrived[/] ({lost} lost)")
            continue
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        p50, p99 = statistics.median(latencies), cuts[98]
        say(
            f"  worker poll {poll:g} s: {len(latencies)} of {n} leads notified at {RATE:g}/s;"
            f" POST -> webhook p50 [bold]{p50 * 1e3:.0f} ms[/], p99 [bold]{p99 * 1e3:.0f} ms[/],"
            f" max {max(latencies) * 1e3:.0f} ms; {lost} not notified within {DRAIN_S:g} s;"
            f" the POST alone: p50 {statistics.median(answered) * 1e3:.0f} ms;"
            f" load average {os.getloadavg()[0]:.1f}"
        )
        name = f"notify POST->webhook (SQLite, poll {poll:g} s)"
        results.append(Result(f"{name} p50", p50 * 1e3, "ms"))
        results.append(
            Result(f"{name} p99", p99 * 1e3, "ms", target="p99 < 1000 ms", met=p99 < 1.0)
        )
    return results


def _measure(tmp: Path, n: int, poll: float, answered: list[float]) -> tuple[list[float], int]:
    receiver = _Receiver()
    url = f"sqlite:///{tmp / 'notify.db'}"
    with receiver.serving() as hook_port:
        token = _load_store(url, POLICY.format(host=HOST, port=hook_port))
        port = free_port()
        serve = [*_leadrelay(), "serve", "--host", HOST, "--port", str(port), "--db", url]
        with (
            serving(serve, port, tmp / "serve.log", env=_env()),
            _worker(url, poll, tmp / "worker.log"),
        ):
            posted = _post(port, token, n, answered)
            deadline = time.monotonic() + DRAIN_S
            while time.monotonic() < deadline:
                with receiver.lock:
                    if all(lead_id in receiver.arrived for lead_id in posted):
                        break
                time.sleep(0.05)
    with receiver.lock:
        latencies = [receiver.arrived[i] - at for i, at in posted.items() if i in receiver.arrived]
    return latencies, len(posted) - len(latencies)


def _post(port: int, token: str, n: int, answered: list[float]) -> dict[int, float]:
    """Post ``n`` leads at ``RATE`` per second; lead id -> when its POST started (and each
    POST's own response time in ``answered``)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    posted: dict[int, float] = {}
    start = time.monotonic()
    for i in range(n):
        due = start + i / RATE
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        body = json.dumps({"external_id": f"n-{i}", "email": f"n{i}@bench.example"})
        sent = time.time()
        conn.request("POST", "/v1/leads", body=body, headers=headers)
        response = conn.getresponse()
        answer = json.loads(response.read())
        if response.status == 201:
            posted[int(answer["lead_id"])] = sent
            answered.append(time.time() - sent)
    conn.close()
    return posted


def _load_store(url: str, policy_text: str) -> str:
    from leadrelay.domain.org import Team
    from leadrelay.domain.rep import Rep
    from leadrelay.policy import load_policy_text
    from leadrelay.store import activate, open_store, save_policy, save_reps, save_teams
    from leadrelay.store.keys import create_key

    reps = [Rep(f"rep{i}", teams=("sales",)) for i in range(8)]
    engine = open_store(url)
    try:
        with engine.begin() as conn:
            save_reps(conn, reps)
            save_teams(conn, [Team("sales", "Sales", owner="rep0")])
            policy = load_policy_text(policy_text, reps={r.id for r in reps}, teams={"sales"})
            activate(conn, save_policy(conn, policy))
            return create_key(conn, "manager", name="bench")[1]
    finally:
        engine.dispose()


@contextmanager
def _worker(url: str, poll: float, log: Path) -> Iterator[None]:
    cmd = [*_leadrelay(), "worker", "--db", url, "--poll", str(poll)]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=_env(), start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while b"leadrelay worker on" not in log.read_bytes():  # started: its first round is next
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start: {log.read_text(errors='replace')}")
            time.sleep(0.05)
        yield
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)


def _leadrelay() -> list[str]:
    exe = Path(sys.executable).with_name("leadrelay")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "leadrelay.cli"]


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}
