"""PostgreSQL stops in the middle of the load: clean 503s, nothing half-written, and the same
server process serves again as soon as the database is back.

The test runs its own PostgreSQL cluster (``scripts/pg-test-server`` with its own state file:
the shared test server must stay up for the other tests), stops it with ``pg_ctl stop -m
fast`` while a client is posting single leads and batches, and starts it again on the same
port and data. Every answer must come within a bound (no hang), and while the database is
down every answer is a 503 with the API's error shape naming the database, never a 500.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from tests.reliability.harness import (
    ApiProcess,
    PgCluster,
    counters_agree,
    have_pg_binaries,
    lead_body,
    read_stored,
    seed,
)

ANSWER_WITHIN_S = 15.0

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not have_pg_binaries(), reason="needs the PostgreSQL server binaries"),
]


class Poster(threading.Thread):
    """Posts leads (single, and batches of 5) until stopped, keeping every answer."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        super().__init__(name="poster", daemon=True)
        self.base, self.headers = base, headers
        self.stop = threading.Event()
        self.answers: list[tuple[float, int, dict[str, object], list[str]]] = []
        self.slowest = 0.0
        self.sent = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=60) as http:
            while not self.stop.is_set():
                self.post(http)

    def post(self, http: httpx.Client) -> int:
        i = self.sent
        self.sent += 6
        started = time.monotonic()
        if (i // 6) % 2:
            leads = [lead_body(j, "out") for j in range(i, i + 5)]
            answer = http.post("/v1/leads/batch", json={"leads": leads})
            ids = [lead["external_id"] for lead in leads]
        else:
            answer = http.post("/v1/leads", json=lead_body(i, "out"))
            ids = [f"out-{i:06d}"]
        took = time.monotonic() - started
        self.slowest = max(self.slowest, took)
        try:
            body = answer.json()
        except ValueError:
            body = {"not json": answer.text[:200]}
        self.answers.append((started, answer.status_code, body, ids))
        return answer.status_code


def test_postgres_down_gives_clean_503s_and_the_server_resumes_by_itself(
    tmp_path: Path,
) -> None:
    cluster = PgCluster(tmp_path / "pg.env")
    url = cluster.create()
    seeded = seed(url)
    server = ApiProcess(url, tmp_path / "api.log")
    try:
        server.start()
        poster = Poster(server.base, seeded.headers)
        poster.start()
        deadline = time.monotonic() + ANSWER_WITHIN_S
        while len(poster.answers) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)  # a loaded machine may take a while to send the first
        before = list(poster.answers)  # answered before the database began to stop
        cluster.stop()
        down_at = time.monotonic()
        time.sleep(2.0)
        up_at = time.monotonic()
        cluster.start()
        time.sleep(1.5)
        poster.stop.set()
        poster.join(ANSWER_WITHIN_S * 2)
        assert not poster.is_alive()
        # the same process, after the outage: a new lead is routed
        with httpx.Client(base_url=server.base, headers=seeded.headers, timeout=30) as http:
            final = http.post("/v1/leads", json=lead_body(999_999, "out"))
        assert final.status_code == 201, final.text
        assert server.starts == 1 and server.proc is not None and server.proc.poll() is None

        statuses = Counter(code for _, code, _, _ in poster.answers)
        during = [a for a in poster.answers if down_at < a[0] < up_at]
        assert before and all(code in (200, 201) for _, code, _, _ in before), statuses
        assert during, "nothing was sent while the database was down"
        assert {code for _, code, _, _ in during} == {503}, statuses
        assert set(statuses) <= {200, 201, 503}, statuses
        for _, code, body, _ in poster.answers:
            if code == 503:
                assert "database" in str(body["detail"]) and "problems" in body, body
        assert poster.slowest < ANSWER_WITHIN_S

        # Nothing partial: exactly the acknowledged leads, each whole (decision, one owner).
        acked = {ext for _, code, _, ids in poster.answers if code in (200, 201) for ext in ids}
        acked.add("out-999999")
        stored = read_stored(seeded.engine)
        assert set(stored.by_external) == acked
        assert set(stored.decisions) == set(stored.status) == set(stored.active)
        assert set(stored.active.values()) == {1}
        assert counters_agree(seeded.engine, stored) == []
        print(
            f"\noutage: answers {dict(statuses)}; slowest {poster.slowest:.2f} s;"
            f" {len(acked)} leads stored"
        )
    finally:
        server.stop()
        seeded.engine.dispose()
        cluster.destroy()
