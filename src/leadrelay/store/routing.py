"""Routing state in the store: route sequences, the round-robin ledger and cap counters.

Live routing claims a slot with conditional writes that fail (return None/False) instead of
overshooting when another transaction got there first; the caller then rolls back and decides
again from a fresh snapshot. Bulk routing holds the routing lock exclusively and writes final
values at the end. Statements on the live path are compiled once per backend and run on the
driver's cursor (``DriverSQL``): SQLAlchemy's work around an execute costs more than running it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

import orjson
from sqlalchemy import BigInteger, Connection, Date, Executable, bindparam, text, update

from leadrelay.domain.rep import Caps
from leadrelay.domain.snapshot import LedgerEntry, Snapshot
from leadrelay.store.engine import DriverSQL, bind_processor, pipelined
from leadrelay.store.tables import (
    OPEN_PERIOD,
    OPEN_START,
    UTCDateTime,
    insert_on,
    rep_load,
    route_state,
    rr_ledger,
)

_UNCAPPED = 2**62
_PERIODS = ("day", "week", "month")

_ADVANCE = (
    update(route_state)
    .where(route_state.c.route == bindparam("r"), route_state.c.seq == bindparam("seen"))
    .values(seq=route_state.c.seq + bindparam("n", type_=BigInteger()))
)


def advance_route(conn: Connection, route: str, seen: int, n: int = 1) -> int | None:
    """Compare-and-set the route's sequence from ``seen`` to ``seen + n`` (``n`` leads given by
    it); the new sequence, or None if it moved since ``seen``."""
    if seen == 0 and _START_SQL.run(conn, {"r": route, "n": n}).fetchall():
        return n
    done = _ADVANCE_SQL.run(conn, {"r": route, "seen": seen, "n": n}).rowcount
    return seen + n if done == 1 else None


def take_capacity(
    conn: Connection, rep_id: str, starts: Mapping[str, date], caps: Caps, n: int = 1
) -> bool:
    """Count ``n`` more leads given to the rep (per day, week, month, and open), within every
    cap.

    One upsert whose update only applies while a counter stays within its cap, so two
    transactions racing for a rep's last slot cannot both get it: the loser's statement changes
    fewer rows (its row count: inserted plus updated, on both backends). On False some counters
    may have moved already: the caller rolls back.
    """
    params = _take_params(rep_id, starts, caps, n)
    return params is not None and _TAKE_SQL.run(conn, params).rowcount == len(_PERIODS) + 1


def _take_params(
    rep_id: str, starts: Mapping[str, date], caps: Caps, n: int
) -> dict[str, Any] | None:
    """``take_capacity``'s statement parameters; None when ``n`` can never fit the caps."""
    limits = dict(caps.items())
    if n < 1 or any(cap is not None and cap < n for cap in limits.values()):
        return None
    params: dict[str, Any] = {"rep": rep_id, "open": OPEN_START, "uncapped": _UNCAPPED, "n": n}
    for period in _PERIODS:
        cap = limits[period]
        params[period] = starts[period]
        params[f"cap_{period}"] = _UNCAPPED if cap is None else cap
    return params


# A load claim: the rep, the starts of its day, week and month, its caps, and leads to count.
LoadClaim = tuple[str, Mapping[str, date], Caps, int]


def claim_all(
    conn: Connection, routes: Sequence[tuple[str, int, int]], loads: Sequence[LoadClaim]
) -> dict[str, int] | None:
    """``advance_route`` for each (route, seen, n) and ``take_capacity`` for each load claim,
    in the order given; each route's new sequence, or None if any claim failed (the caller
    rolls back).

    On PostgreSQL the claims go in one round trip (pipeline mode) and their row counts are
    checked after it: a group of 32 leads makes some twenty claims, a round trip each before.
    """
    with pipelined(conn):
        answer = ask_claims(conn, routes, loads)
    return answer()


def ask_claims(
    conn: Connection, routes: Sequence[tuple[str, int, int]], loads: Sequence[LoadClaim]
) -> Callable[[], dict[str, int] | None]:
    """``claim_all``'s claims, sent now and checked when the result is called. In the
    caller's pipeline they ride with its writes: a failed claim is no error in the store,
    so the caller checks the result before it commits, and rolls back on None. A route's
    first lead (``seen`` 0) is answered at once (insert-or-read)."""
    claimed: dict[str, int] = {}
    takes: list[dict[str, Any]] = []
    for rep_id, starts, caps, n in loads:
        params = _take_params(rep_id, starts, caps, n)
        if params is None:
            return lambda: None
        takes.append(params)
    together = conn.dialect.driver == "psycopg"  # a statement for all routes, one for all reps
    checks: list[tuple[Any, int]] = []  # (cursor, the row count it must have)
    advances: list[dict[str, Any]] = []
    for route, seen, n in routes:
        claimed[route] = seen + n
        if seen == 0 and _START_SQL.run(conn, {"r": route, "n": n}).fetchall():
            continue
        advances.append({"r": route, "seen": seen, "n": n})
    if together and len(advances) > 1:
        checks.append((_ADVANCE_ALL_SQL.run(conn, {"rows": _json(advances)}), len(advances)))
    else:
        checks.extend((_ADVANCE_SQL.run(conn, advance), 1) for advance in advances)
    if together and len(takes) > 1 and len({t["rep"] for t in takes}) == len(takes):
        # Rep by rep, each rep's periods in _TAKE's order: rows are locked in the same order.
        # A rep twice (a group spanning two days) goes statement by statement: a statement
        # may not update a row twice.
        rows = [
            {"rep": t["rep"], "period": period, "start": start, "n": t["n"], "cap": cap}
            for t in takes
            for period, start, cap in (
                *((p, t[p], t[f"cap_{p}"]) for p in _PERIODS),
                (OPEN_PERIOD, OPEN_START, _UNCAPPED),
            )
        ]
        checks.append((_TAKE_ALL_SQL.run(conn, {"rows": _json(rows)}), len(rows)))
    else:
        checks.extend((_TAKE_SQL.run(conn, take), len(_PERIODS) + 1) for take in takes)

    def answer() -> dict[str, int] | None:
        if any(cursor.rowcount != want for cursor, want in checks):
            return None
        return claimed

    return answer


def add_open(conn: Connection, rep_id: str, delta: int = 1) -> None:
    """Change the rep's open-lead count (a lead closed or handed on: -1)."""
    stmt = insert_on(conn, rep_load).values(
        rep_id=rep_id, period=OPEN_PERIOD, period_start=OPEN_START, count=max(delta, 0)
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["rep_id", "period", "period_start"],
            set_={"count": rep_load.c.count + delta},
        )
    )


def note_rotation(
    conn: Connection, route: str, rep_id: str, seq: int, at: datetime, n: int = 1
) -> None:
    """The ledger row for (route, rep): ``n`` more leads, the latest at route sequence ``seq``."""
    _NOTE_SQL.run(conn, {"route": route, "rep": rep_id, "seq": seq, "at": at, "n": n})


def note_rotations(
    conn: Connection, entries: Sequence[tuple[str, str, int, datetime, int]]
) -> None:
    """``note_rotation`` for each (route, rep, seq, at, n), (route, rep) pairs all different:
    on PostgreSQL one statement for them all."""
    if len(entries) > 1 and conn.dialect.driver == "psycopg":
        # the column type's own conversion (cached, as every driver write has it): aware
        # moments only, as UTC
        moment = bind_processor(rr_ledger.c.last_assigned_at.type, conn.dialect)
        assert moment is not None
        rows = [
            {"route": route, "rep": rep_id, "seq": seq, "at": moment(at), "n": n}
            for route, rep_id, seq, at, n in entries
        ]
        _NOTE_ALL_SQL.run(conn, {"rows": _json(rows)})
        return
    for route, rep_id, seq, at, n in entries:
        note_rotation(conn, route, rep_id, seq, at, n)


def save_state(
    conn: Connection, before: Snapshot, after: Snapshot, last_at: Mapping[tuple[str, str], datetime]
) -> None:
    """Write what changed between two snapshots as final values (bulk routing, lock held).

    ``last_at`` is when each (route, rep) ledger entry that changed was last given a lead.
    """
    seqs = [
        {"route": route, "seq": seq}
        for route, seq in after.route_seq.items()
        if before.route_seq.get(route) != seq
    ]
    _put(conn, route_state, seqs, ("route",))
    entries = [
        {
            "route": route,
            "rep_id": rep_id,
            "count": entry.count,
            "last_seq": entry.last_seq,
            "last_assigned_at": last_at[(route, rep_id)],
        }
        for (route, rep_id), entry in after.ledger.items()
        if before.ledger.get((route, rep_id), LedgerEntry()) != entry
    ]
    _put(conn, rr_ledger, entries, ("route", "rep_id"))
    loads = [
        {"rep_id": rep_id, "period": period, "period_start": start, "count": count}
        for (rep_id, period, start), count in after.counters.items()
        if before.counters.get((rep_id, period, start)) != count
    ]
    loads.extend(
        {"rep_id": rep_id, "period": OPEN_PERIOD, "period_start": OPEN_START, "count": count}
        for rep_id, count in after.open_leads.items()
        if before.open_leads.get(rep_id) != count
    )
    _put(conn, rep_load, loads, ("rep_id", "period", "period_start"))


_BATCH = 5_000


def _put(conn: Connection, table: Any, rows: list[dict[str, Any]], keys: tuple[str, ...]) -> None:
    """Upsert rows as final values."""
    if not rows:
        return
    stmt = insert_on(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: stmt.excluded[name] for name in rows[0] if name not in keys},
    )
    for start in range(0, len(rows), _BATCH):
        conn.execute(stmt, rows[start : start + _BATCH])


@cache
def _start_route(dialect: str) -> Executable:
    stmt = insert_on(dialect, route_state).values(
        route=bindparam("r"), seq=bindparam("n", type_=BigInteger())
    )
    return stmt.on_conflict_do_nothing(index_elements=["route"]).returning(route_state.c.seq)


# Written as text: SQLAlchemy cannot cache a multi-row VALUES construct, and compiling it
# per lead cost more than running it. Same SQL on SQLite and PostgreSQL.
_TAKE = text(
    """
    INSERT INTO rep_load (rep_id, period, period_start, count)
    VALUES (:rep, 'day', :day, :n), (:rep, 'week', :week, :n), (:rep, 'month', :month, :n),
           (:rep, 'open', :open, :n)
    ON CONFLICT (rep_id, period, period_start) DO UPDATE SET count = rep_load.count + :n
    WHERE rep_load.count + :n <= CASE excluded.period
        WHEN 'day' THEN :cap_day WHEN 'week' THEN :cap_week WHEN 'month' THEN :cap_month
        ELSE :uncapped END
    """
).bindparams(
    *(bindparam(name, type_=Date()) for name in ("day", "week", "month", "open")),
    *(
        bindparam(name, type_=BigInteger())
        for name in ("cap_day", "cap_week", "cap_month", "uncapped", "n")
    ),
)


@cache
def _note(dialect: str) -> Executable:
    stmt = insert_on(dialect, rr_ledger).values(
        route=bindparam("route"),
        rep_id=bindparam("rep"),
        count=bindparam("n", type_=BigInteger()),
        last_seq=bindparam("seq"),
        last_assigned_at=bindparam("at", type_=UTCDateTime()),
    )
    return stmt.on_conflict_do_update(
        index_elements=["route", "rep_id"],
        set_={
            "count": rr_ledger.c.count + stmt.excluded.count,
            "last_seq": stmt.excluded.last_seq,
            "last_assigned_at": stmt.excluded.last_assigned_at,
        },
    )


def _json(rows: list[dict[str, Any]]) -> str:
    """Rows as one JSON parameter for PostgreSQL's ``json_to_recordset`` (moments: ISO 8601
    with their offset, which timestamptz reads as the same instant)."""
    return orjson.dumps(rows).decode()


# PostgreSQL: the claims and ledger rows of many routes and reps, each kind in one statement
# (psycopg sends each statement on its own, ~20 us of client CPU each in a pipeline). Each
# does what the statement for one does, row by row; the row counts add up the same way.
_ADVANCE_ALL = text(
    """
    UPDATE route_state SET seq = route_state.seq + r.n
    FROM json_to_recordset(CAST(:rows AS json)) AS r(r text, seen bigint, n bigint)
    WHERE route_state.route = r.r AND route_state.seq = r.seen
    """
)
_TAKE_ALL = text(
    """
    WITH r AS (
        SELECT * FROM json_to_recordset(CAST(:rows AS json))
            AS r(rep text, period text, start date, n bigint, cap bigint)
    )
    INSERT INTO rep_load (rep_id, period, period_start, count)
    SELECT r.rep, r.period, r.start, r.n FROM r
    ON CONFLICT (rep_id, period, period_start) DO UPDATE SET count = rep_load.count + excluded.count
    WHERE rep_load.count + excluded.count <= (
        SELECT r.cap FROM r
        WHERE r.rep = excluded.rep_id AND r.period = excluded.period
            AND r.start = excluded.period_start
    )
    """
)
_NOTE_ALL = text(
    """
    INSERT INTO rr_ledger (route, rep_id, count, last_seq, last_assigned_at)
    SELECT r.route, r.rep, r.n, r.seq, r.at
    FROM json_to_recordset(CAST(:rows AS json))
        AS r(route text, rep text, seq bigint, at timestamptz, n bigint)
    ON CONFLICT (route, rep_id) DO UPDATE SET count = rr_ledger.count + excluded.count,
        last_seq = excluded.last_seq, last_assigned_at = excluded.last_assigned_at
    """
)

_START_SQL = DriverSQL(_start_route)
_ADVANCE_SQL = DriverSQL(_ADVANCE)
_TAKE_SQL = DriverSQL(_TAKE)
_NOTE_SQL = DriverSQL(_note)
_ADVANCE_ALL_SQL = DriverSQL(_ADVANCE_ALL)
_TAKE_ALL_SQL = DriverSQL(_TAKE_ALL)
_NOTE_ALL_SQL = DriverSQL(_NOTE_ALL)
