"""The floor under live and bulk routing: raw stdlib ``sqlite3`` inserts of lead-shaped rows.

Same file settings as the store (WAL, ``synchronous=NORMAL``, a checkpoint every 10,000 WAL
pages: ``leadrelay.store.engine.SQLITE_WAL_AUTOCHECKPOINT_PAGES``), a 22-column row shaped like a
stored lead, an integer primary key and no other index. "single-row commit" is one INSERT and
one COMMIT per row (what live routing does per lead, at the very least); "executemany x1000" is
1000 rows per ``executemany`` and per transaction (what bulk routing could do at best).
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
from functools import cache
from pathlib import Path
from typing import Any

from bench.common import Result, Timing, median_seconds, rate, say, scratch_dir
from bench.org import LEAD_COLUMNS, lead_rows
from leadrelay.store.engine import SQLITE_WAL_AUTOCHECKPOINT_PAGES

SINGLE_ROWS = 10_000
BATCH_ROWS = 100_000
BATCH = 1000

_COLUMNS = (*LEAD_COLUMNS, "attributes", "status")
_DDL = (
    "CREATE TABLE lead (id INTEGER PRIMARY KEY, "
    + ", ".join(f"{c} {'REAL' if c in ('lat', 'lon', 'value') else 'TEXT'}" for c in _COLUMNS)
    + ")"
)
_INSERT = f"INSERT INTO lead ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def rows(n: int) -> list[tuple[Any, ...]]:
    out = []
    for row in lead_rows(n):
        values = [row[c].isoformat() if c == "received_at" else row[c] for c in LEAD_COLUMNS]
        out.append((*values, json.dumps({"campaign": "bench"}), "new"))
    return out


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
    conn.execute(_DDL)
    conn.commit()
    return conn


def _median_rate(kind: str, n: int, repeat: int) -> tuple[float, Timing]:
    data = rows(n)
    with scratch_dir("raw") as tmp:
        state: dict[str, sqlite3.Connection] = {}
        counter = iter(range(1_000_000))

        def setup() -> None:
            if "conn" in state:
                state.pop("conn").close()
            state["conn"] = connect(tmp / f"raw-{kind}-{next(counter)}.db")

        def single() -> None:
            conn = state["conn"]
            for row in data:
                conn.execute(_INSERT, row)
                conn.commit()

        def batched() -> None:
            conn = state["conn"]
            for start in range(0, len(data), BATCH):
                conn.executemany(_INSERT, data[start : start + BATCH])
                conn.commit()

        setup()
        (single if kind == "single" else batched)()  # warm-up, untimed
        timing = median_seconds(single if kind == "single" else batched, repeat, setup=setup)
        state.pop("conn").close()
    return rate(n, timing.seconds), timing


@cache
def single_row_rate(n: int = SINGLE_ROWS, repeat: int = 3) -> float:
    per_s, timing = _median_rate("single", n, repeat)
    say(
        f"  raw sqlite3, single-row INSERT + COMMIT: {per_s:,.0f} rows/s"
        f" ({n:,} rows; {timing.describe()})"
    )
    return per_s


@cache
def executemany_rate(n: int = BATCH_ROWS, repeat: int = 3) -> float:
    per_s, timing = _median_rate("batch", n, repeat)
    say(
        f"  raw sqlite3, executemany {BATCH} rows per transaction: {per_s:,.0f} rows/s"
        f" ({n:,} rows; {timing.describe()})"
    )
    return per_s


PG_SINGLE_ROWS = 2_000
_PG_TYPES = {"lat": "float8", "lon": "float8", "value": "float8", "employees": "int8"}


def pg_single_row_rate(
    url: str, n: int = PG_SINGLE_ROWS, repeat: int = 3, *, max_seconds: float | None = None
) -> float:
    """psycopg: one INSERT + COMMIT per row of the same rows, into a table made in ``url``'s
    database (a SQLAlchemy URL) and dropped after; the PostgreSQL counterpart of
    ``single_row_rate``, without its ``@cache`` (each database is measured afresh).

    ``max_seconds`` ends each run early: a durable commit costs anything from 0.3 ms to 30 ms
    depending on what else is writing to the disk. The figure is the median run's rate.
    """
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    data = rows(n)
    columns = ", ".join(f"{c} {_PG_TYPES.get(c, 'text')}" for c in _COLUMNS)
    insert = (
        f"INSERT INTO bench_raw_lead ({', '.join(_COLUMNS)})"
        f" VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
    )
    budget = max_seconds if max_seconds is not None else float("inf")
    rates: list[float] = []
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw_lead")
        conn.execute(f"CREATE TABLE bench_raw_lead (id bigserial PRIMARY KEY, {columns})")
        conn.commit()
        for row in data[:100]:  # warm-up, untimed (psycopg prepares the statement after 5 runs)
            conn.execute(insert, row)
            conn.commit()
        for _ in range(repeat):
            start = time.perf_counter()
            done = 0
            for row in data:
                conn.execute(insert, row)
                conn.commit()
                done += 1
                if time.perf_counter() - start > budget:
                    break
            rates.append(rate(done, time.perf_counter() - start))
        conn.execute("DROP TABLE bench_raw_lead")
        conn.commit()
    per_s = statistics.median(rates)
    limit = f" or {max_seconds:.1f} s" if max_seconds is not None else ""
    say(
        f"  raw psycopg, single-row INSERT + COMMIT: {per_s:,.0f} rows/s (runs"
        f" {', '.join(f'{r:,.0f}' for r in rates)} rows/s; up to {n:,} rows{limit} each)"
    )
    return per_s


def run(n_leads: int | None = None, repeat: int = 3) -> list[Result]:
    """Fixed sizes whatever ``n_leads`` says: these are rates, and live and bulk reuse them."""
    del n_leads
    say(
        "[bold]raw sqlite3[/]: WAL, synchronous=NORMAL, 22-column lead row, file in a temp dir;"
        f" median of {repeat}, after a warm-up"
    )
    single = single_row_rate(SINGLE_ROWS, repeat)
    batch = executemany_rate(BATCH_ROWS, repeat)
    return [
        Result("raw sqlite single-row commit", single, "rows/s"),
        Result(f"raw sqlite executemany x{BATCH}", batch, "rows/s"),
    ]
