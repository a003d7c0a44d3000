"""Live routing asks which external ids are stored for every group; on PostgreSQL that question
must probe the unique index however much the table has grown since it was first asked.

A prepared statement keeps a plan made for the table as it was: made while the table was
young, the plan read every row of ``leads`` for every group (a hash join over a sequential
scan), so each group cost more than the last.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from leadrelay.store import open_store
from leadrelay.store.engine import run_driver_sql
from leadrelay.store.leads import find_by_external_ids

_GROW = """
INSERT INTO leads (external_id, received_at, attributes, status, policy_revision, decided_at,
                   score, value_slab, priority)
SELECT 'grown-' || n, now(), '{}', 'manual', 1, now(), 0, 'low', 'normal'
FROM generate_series(1, :n) AS n
"""


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = open_store(pg_url)
    yield engine
    engine.dispose()


def _scans(conn: Connection, table: str = "leads") -> tuple[int, int, int]:
    """Sequential scans, index scans and rows read of ``table`` that this backend has not yet
    reported (a delta of two readings is what ran between them)."""
    row = conn.execute(
        text(
            "SELECT seq_scan, idx_scan, seq_tup_read + coalesce(idx_tup_fetch, 0)"
            " FROM pg_stat_xact_user_tables WHERE relname = :table"
        ),
        {"table": table},
    ).one()
    return int(row[0]), int(row[1] or 0), int(row[2])


@pytest.mark.postgres
def test_the_stored_id_lookup_probes_the_index_after_the_table_grew(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        conn.execute(text(_GROW), {"n": 3})
    with pg_engine.connect() as conn:
        # asked often while the table is tiny: a prepared plan would be made for that table
        for _ in range(20):
            assert find_by_external_ids(conn, ["grown-1", "nobody"]) == {"grown-1": 1}
        conn.commit()
        conn.execute(text(_GROW.replace("'grown-'", "'more-'")), {"n": 20_000})
        conn.commit()
        before = _scans(conn)
        found = find_by_external_ids(conn, ["more-7", "grown-2", "nobody"])
        seq, idx, _ = (now - then for now, then in zip(_scans(conn), before, strict=True))
    assert found == {"more-7": 10, "grown-2": 2}
    assert seq == 0 and idx >= 1


_MANY_COUNTERS = """
INSERT INTO rep_load (rep_id, period, period_start, count)
SELECT 'r' || r, p, DATE '2026-11-24' - d, 1
FROM generate_series(1, 100) AS r, unnest(ARRAY['day', 'week', 'month']) AS p,
     generate_series(0, 399) AS d
UNION ALL SELECT 'r' || r, 'open', DATE '1970-01-01', r FROM generate_series(1, 100) AS r
"""


@pytest.mark.postgres
def test_live_routing_reads_the_counters_it_needs_by_the_index(pg_engine: Engine) -> None:
    """A year of counters (120,000 rows): live routing reads those of two period starts and
    the open-lead counts by probing ``ix_rep_load_start``, not by reading the table or the
    whole index."""
    from leadrelay.store.snapshot import _read_counters, _routing_sql

    starts = {"s0": date(2026, 11, 1), "s1": date(2026, 11, 23), "key": "org_version"}
    with pg_engine.begin() as conn:
        conn.execute(text(_MANY_COUNTERS))
        conn.execute(text("ANALYZE rep_load"))
    with pg_engine.connect() as conn:
        counters, open_leads = _read_counters(conn, frozenset([starts["s0"], starts["s1"]]))
        plan = _routing_sql(2)._plan(conn.dialect, starts)
        explained = run_driver_sql(conn, f"EXPLAIN (FORMAT JSON) {plan.sql}", plan.values(starts))
        nodes = list(_nodes(explained.fetchone()[0][0]["Plan"]))
    assert len(counters) == 2 * 3 * 100  # each of 100 reps: day, week and month at both starts
    assert counters[("r7", "week", date(2026, 11, 1))] == 1
    assert open_leads == {f"r{r}": r for r in range(1, 101)}
    scans = [n for n in nodes if n.get("Relation Name") == "rep_load" or "Index Name" in n]
    probes = [n for n in scans if n.get("Index Name") == "ix_rep_load_start"]
    assert not [n for n in scans if n["Node Type"] == "Seq Scan"]
    assert len(probes) == 2  # the open counts, the period starts: each by its period_start
    assert all("period_start" in n["Index Cond"] for n in probes), probes


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)
