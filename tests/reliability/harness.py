"""What the reliability suites share: the org they route into, `leadrelay serve` processes that
can be killed and started again, a PostgreSQL cluster of a test's own that can be stopped and
started with its data, and the checks that recompute the invariants from the stored rows.

The suites are black box: leads go in over HTTP, the answers are kept, and the verdict comes
from the database alone, so they hold whatever the server does inside (one transaction per
lead, group commits, caches).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from bench.servers import HOST, free_port
from sqlalchemy import Engine, func, select

from leadrelay.domain import Caps, Rep
from leadrelay.policy import load_policy_text
from leadrelay.store import activate, open_store, save_policy, save_reps
from leadrelay.store.keys import create_key
from leadrelay.store.tables import (
    assignments,
    decisions,
    leads,
    rep_load,
    route_state,
    rr_ledger,
)

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0

# Three routes, chosen by the lead's industry, so each invariant has a route where it is exact:
# - capped: four reps in one time zone, 20 a day each (and 90 a week, which a 3-day run never
#   reaches); more than 80 leads a day arrive, so every rep is filled to exactly 20 each New
#   York day and the rest fall through to manual. The caps bind, and equally.
# - even: five reps, no caps: eligibility never changes, so round robin keeps counts within 1.
# - weighted: weights 1, 2, 3, no caps: each count within 1 of its weight share.
POLICY = """\
version: 1
routes:
  - {name: capped, when: 'industry == "capped"', to: {reps: [c1, c2, c3, c4]},
     strategy: round_robin}
  - {name: even, when: 'industry == "even"', to: {reps: [e1, e2, e3, e4, e5]},
     strategy: round_robin}
  - {name: weighted, when: 'industry == "weighted"', to: {reps: [w1, w2, w3]},
     strategy: weighted_round_robin}
"""
CAPPED_TZ = "America/New_York"
PER_DAY = 20
PER_WEEK = 90
REPS = (
    [Rep(f"c{i}", timezone=CAPPED_TZ, caps=Caps(per_day=PER_DAY, per_week=PER_WEEK))
     for i in range(1, 5)]
    + [Rep(f"e{i}", timezone="Europe/Berlin") for i in range(1, 6)]
    + [Rep(f"w{i}", timezone="Asia/Tokyo", weight=float(i)) for i in range(1, 4)]
)  # fmt: skip
ROUTE_REPS = {
    "capped": ("c1", "c2", "c3", "c4"),
    "even": ("e1", "e2", "e3", "e4", "e5"),
    "weighted": ("w1", "w2", "w3"),
}
INDUSTRIES = ("capped", "even", "weighted")
# Leads arrive over three New York days, 13:00-17:00 local (no day boundary near them in any
# of the reps' zones that could make the split ambiguous: the check recomputes it anyway).
FIRST_DAY = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)  # a Tuesday, 13:00 in New York
DAYS = 3


def lead_body(i: int, prefix: str) -> dict[str, Any]:
    """Lead ``i`` of a run: industries in turn, days in turn, a unique external id."""
    day, slot = i % DAYS, i // DAYS
    received = FIRST_DAY + timedelta(days=day, seconds=slot % 14_400)
    return {
        "external_id": f"{prefix}-{i:06d}",
        "email": f"p{i}@{prefix}.example",
        "industry": INDUSTRIES[(i // DAYS) % len(INDUSTRIES)],
        "received_at": received.isoformat(),
    }


@dataclass(frozen=True)
class Seeded:
    engine: Engine
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def seed(url: str) -> Seeded:
    """The org and policy above, active, and a manager key."""
    engine = open_store(url)
    reps = {r.id for r in REPS}
    with engine.begin() as conn:
        save_reps(conn, REPS)
        activate(conn, save_policy(conn, load_policy_text(POLICY, reps=reps)))
        token = create_key(conn, "manager")[1]
    return Seeded(engine, token)


class ApiProcess:
    """One ``leadrelay serve`` (one worker: the process that answers is the one we kill)."""

    def __init__(self, url: str, log: Path, *, port: int | None = None) -> None:
        self.url = url
        self.log = log
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._temp: str | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        # a killed server cannot remove the metrics directory it would make in /tmp: give each
        # start one in the test's own directory
        metrics = tempfile.mkdtemp(prefix="metrics-", dir=self.log.parent)
        # nor, killed with its process group, its routing socket's directory: that goes in a
        # temp dir of this server's own, removed when it is stopped (short: a socket path)
        if self._temp is None:
            self._temp = tempfile.mkdtemp(prefix="lr-")
        env = {
            **os.environ, "LEADRELAY_DB": self.url, "PROMETHEUS_MULTIPROC_DIR": metrics,
            "TMPDIR": self._temp,
        }  # fmt: skip
        cmd = [str(Path(sys.executable).parent / "leadrelay"), "serve", "--port", str(self.port)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.starts += 1
        self._wait_ready()

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown code runs, sockets just close."""
        if self.proc is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"leadrelay serve exited:\n{self._tail()}")
            with suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"leadrelay serve not ready:\n{self._tail()}")

    def _tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


@contextmanager
def api_processes(url: str, n: int, logs: Path) -> Iterator[list[ApiProcess]]:
    servers = [ApiProcess(url, logs / f"api-{i}.log") for i in range(n)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


class PgCluster:
    """A PostgreSQL cluster of one test's own (``scripts/pg-test-server`` with its own state
    file), which the test may stop (``pg_ctl stop -m fast``) and start again on the same port
    and data: the shared test server must never go down under other tests."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.url = ""
        self.dir = Path()
        self.bin = Path()
        self.port = 0

    def create(self) -> str:
        env = {**os.environ, "PG_TEST_SERVER_STATE": str(self.state)}
        done = subprocess.run(
            [str(REPO / "scripts" / "pg-test-server"), "start"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg-test-server start failed:\n{done.stderr}")
        values = dict(
            line.split("=", 1) for line in self.state.read_text().splitlines() if "=" in line
        )
        self.dir, self.bin = Path(values["PGT_DIR"]), Path(values["PGT_BIN"])
        self.port = int(values["PGT_PORT"])
        self.url = done.stdout.strip()
        return self.url

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "-t", "30", "stop")

    def start(self) -> None:
        options = (
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            f" -c listen_addresses=127.0.0.1 -c port={self.port}"
            f" -c unix_socket_directories={self.dir} -c max_connections=200"
        )
        self._pg_ctl("-l", str(self.dir / "server.log"), "-w", "-t", "60", "-o", options, "start")

    def destroy(self) -> None:
        env = {**os.environ, "PG_TEST_SERVER_STATE": str(self.state)}
        subprocess.run(
            [str(REPO / "scripts" / "pg-test-server"), "stop"],
            env=env, capture_output=True, check=False,
        )  # fmt: skip

    def _pg_ctl(self, *args: str) -> None:
        cmd = [str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), *args]
        if os.getuid() == 0:  # pg_ctl refuses root, as in scripts/pg-test-server
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, cwd="/", capture_output=True, check=True, timeout=90)


def have_pg_binaries() -> bool:
    return any(Path(p).is_dir() for p in Path("/usr/lib/postgresql").glob("*/bin")) or bool(
        shutil.which("pg_ctl")
    )


# -- the verdict, from the stored rows ---------------------------------------------------------


def period_starts(moment: datetime, timezone: str) -> dict[str, date]:
    """The day, ISO week (from Monday) and month holding ``moment`` in ``timezone``: computed
    here with zoneinfo, not with leadrelay's own clock, so a bug there cannot hide itself."""
    day = moment.astimezone(ZoneInfo(timezone)).date()
    return {"day": day, "week": day - timedelta(days=day.weekday()), "month": day.replace(day=1)}


@dataclass(frozen=True)
class Stored:
    """What the database holds about the leads of one run."""

    by_external: dict[str, int]  # external id -> lead id
    status: dict[int, str]
    active: Counter[int]  # lead id -> active assignments
    assignments: Counter[int]  # lead id -> assignments ever
    decisions: Counter[int]  # lead id -> decision rows
    given: list[tuple[str, str, datetime]]  # (route, owner, assigned_at) of each rep assignment


def read_stored(engine: Engine) -> Stored:
    with engine.connect() as conn:
        by_external = {
            ext: int(lead_id)
            for ext, lead_id in conn.execute(select(leads.c.external_id, leads.c.id))
        }
        status = {int(i): s for i, s in conn.execute(select(leads.c.id, leads.c.status))}
        rows = conn.execute(
            select(
                assignments.c.lead_id, assignments.c.ended_at, assignments.c.status,
                assignments.c.route, assignments.c.owner, assignments.c.assigned_at,
            )
        ).all()  # fmt: skip
        decided = Counter(int(i) for i in conn.scalars(select(decisions.c.lead_id)))
    return Stored(
        by_external=by_external,
        status=status,
        active=Counter(int(r.lead_id) for r in rows if r.ended_at is None),
        assignments=Counter(int(r.lead_id) for r in rows),
        decisions=decided,
        given=[(r.route, r.owner, r.assigned_at) for r in rows if r.status == "assigned"],
    )


def cap_overruns(stored: Stored) -> list[str]:
    """Every (rep, period) over its cap, recomputed from the assignments in the rep's zone."""
    reps = {r.id: r for r in REPS}
    counts: Counter[tuple[str, str, date]] = Counter()
    for _, owner, at in stored.given:
        for period, start in period_starts(at, reps[owner].timezone).items():
            counts[(owner, period, start)] += 1
    over = []
    for (owner, period, start), n in sorted(counts.items()):
        cap = dict((reps[owner].caps or Caps()).items()).get(period)
        if cap is not None and n > cap:
            over.append(f"{owner} has {n} leads in the {period} from {start}, cap {cap}")
    return over


def per_route_counts(stored: Stored) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for route, owner, _ in stored.given:
        out[route][owner] += 1
    return out


def counters_agree(engine: Engine, stored: Stored) -> list[str]:
    """The routing tables say what the assignments say: a crash or a lost race never leaves a
    rotation moved or a cap slot taken without the assignment that took it."""
    problems = []
    reps = {r.id: r for r in REPS}
    expected: Counter[tuple[str, str, date]] = Counter()
    for _, owner, at in stored.given:
        for period, start in period_starts(at, reps[owner].timezone).items():
            expected[(owner, period, start)] += 1
    with engine.connect() as conn:
        counted = {
            (rep, period, start): int(n)
            for rep, period, start, n in conn.execute(
                select(rep_load.c.rep_id, rep_load.c.period, rep_load.c.period_start,
                       rep_load.c.count).where(rep_load.c.period != "open")
            )
        }  # fmt: skip
        seqs = dict(conn.execute(select(route_state.c.route, route_state.c.seq)).all())
        ledger = {
            (route, rep): int(n)
            for route, rep, n in conn.execute(
                select(rr_ledger.c.route, rr_ledger.c.rep_id, rr_ledger.c.count)
            )
        }
        total = int(conn.scalar(select(func.count()).select_from(leads)) or 0)
    if {k: v for k, v in counted.items() if v} != dict(expected):
        problems.append("rep_load counters differ from the assignments")
    routes = per_route_counts(stored)
    for route, owners in routes.items():
        if seqs.get(route) != sum(owners.values()):
            problems.append(f"route {route}: seq {seqs.get(route)} but {sum(owners.values())}")
        for owner, n in owners.items():
            if ledger.get((route, owner)) != n:
                problems.append(f"ledger {route}/{owner}: {ledger.get((route, owner))} != {n}")
    if total != len(stored.status):
        problems.append("lead count changed while reading")
    return problems


def weighted_drift(counts: Counter[str]) -> float:
    """The largest |count - weight share| on the weighted route."""
    weights = {r.id: r.weight for r in REPS if r.id in ROUTE_REPS["weighted"]}
    total, weight = sum(counts.values()), sum(weights.values())
    return max(abs(counts[rep] - total * w / weight) for rep, w in weights.items())
