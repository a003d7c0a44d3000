"""Live routing's driver-level writes store exactly what the Core path stores.

``insert_lead`` and a one-lead ``insert_outcomes`` run compiled statements on the DBAPI cursor
(``DriverSQL``); a batch goes by executemany, or on PostgreSQL as one JSON document of rows a
table. Every way must leave the same values, so everything that reads the store back (through
SQLAlchemy or not) sees no difference.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from leadrelay.domain import Lead
from leadrelay.domain.decision import (
    Candidate,
    Decision,
    RouteTrial,
    Screening,
    ScreeningStep,
    Status,
)
from leadrelay.store import engine as engine_module
from leadrelay.store.engine import (
    SQLITE_WAL_AUTOCHECKPOINT_PAGES,
    DriverSQL,
    _dumps,
    bind_processor,
    pipelined,
)
from leadrelay.store.leads import (
    decision_json,
    insert_lead,
    insert_outcomes,
    insert_routed,
    lead_row,
)
from leadrelay.store.tables import UTCDateTime, assignments, decisions, events, leads

AT = datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))


def _lead(external_id: str) -> Lead:
    return Lead(
        received_at=AT,
        external_id=external_id,
        email="zoë@example.com",
        company="Café Ünïcode ☕",
        employees=120,
        country="US",
        lat=40,  # an int where a float belongs: Float's processor makes it 40.0
        lon=-73.25,
        value=1e16,
        attributes={"campaign": "spring", "nested": {"a": [1, 2.5, None]}, "ok": True},
    )


def _decision(key: str, **changes: Any) -> Decision:
    base = Decision(
        lead_key=key,
        status=Status.ASSIGNED,
        reason="round robin: ana is next",
        decided_at=AT + timedelta(seconds=1),
        policy_version=3,
        owner="ana",
        route="inbound",
        strategy="round_robin",
        screening=Screening(
            score=12.5,
            value_slab="high",
            steps=(ScreeningStep("big", "score", True, 1e-7, "über"),),
        ),
        trials=(
            RouteTrial(
                "inbound",
                True,
                "assigned",
                "round_robin",
                (
                    Candidate("ana", score=0.1 + 0.2, factors={"fit": 1 / 3}),
                    Candidate("bo", excluded="at daily cap (3/3)"),
                ),
            ),
        ),
    )
    return replace(base, **changes)


def _columns(row: Any) -> dict[str, Any]:
    return {k: v for k, v in row._mapping.items() if k not in ("id", "lead_id", "external_id")}


def test_a_lead_written_by_the_driver_equals_one_written_by_core(engine: Engine) -> None:
    with engine.begin() as conn:
        one = insert_lead(conn, _lead("D1"), _decision("D1"))
        many = insert_routed(
            conn,
            [lead_row(_lead(e), _decision(e)) for e in ("C1", "C2")],
            [_decision("C1"), _decision("C2")],
        )
        insert_outcomes(conn, [one], [_decision("D1")])
    with engine.connect() as conn:
        by_id = {row.id: row for row in conn.execute(select(leads))}
        assert _columns(by_id[one]) == _columns(by_id[many[0]])
        assert by_id[one].lat == 40.0 and isinstance(by_id[one].lat, float)
        assert by_id[one].received_at == AT
        for table in (assignments, events):
            rows = {row.lead_id: row for row in conn.execute(select(table))}
            assert _columns(rows[one]) == _columns(rows[many[0]])
        bodies = dict(conn.execute(select(decisions.c.lead_id, decisions.c.body)).all())
        assert bodies[one] == bodies[many[0]] | {"lead_key": "D1"}


def test_sqlite_stores_the_same_text_and_types_either_way(sqlite_url: str) -> None:
    from leadrelay.store import open_store

    engine = open_store(sqlite_url)
    with engine.begin() as conn:
        one = insert_lead(conn, _lead("D1"), _decision("D1"))
        many = insert_routed(
            conn,
            [lead_row(_lead(e), _decision(e)) for e in ("C1", "C2")],
            [_decision("C1"), _decision("C2")],
        )
        insert_outcomes(conn, [one], [_decision("D1")])
    engine.dispose()
    path = sqlite_url.removeprefix("sqlite:///")
    raw = sqlite3.connect(path)
    try:
        for table, key in (("leads", "id"), ("assignments", "lead_id"), ("events", "lead_id")):
            names = [r[1] for r in raw.execute(f"PRAGMA table_info({table})")]
            shown = ", ".join(
                f"{n}, typeof({n})" for n in names if n not in ("id", "lead_id", "external_id")
            )
            rows = {r[0]: r[1:] for r in raw.execute(f"SELECT {key}, {shown} FROM {table}")}
            assert rows[one] == rows[many[0]], table
        (received,) = raw.execute("SELECT received_at FROM leads WHERE id = ?", (one,)).fetchone()
        assert received == "2026-11-25 14:30:15.123456"
    finally:
        raw.close()


def test_the_decision_body_decodes_to_what_json_would_have_written(engine: Engine) -> None:
    decision = _decision("D1")
    with engine.connect() as conn:
        written = decision_json(conn, decision)
    assert json.loads(written) == json.loads(_dumps(decision.to_stored()))
    assert Decision.from_dict(json.loads(written)) == decision


@pytest.mark.parametrize("odd", [math.inf, -math.inf, math.nan])
def test_a_decision_holding_a_non_finite_float_is_written_by_the_engine_serializer(
    sqlite_url: str, odd: float
) -> None:
    from leadrelay.store import open_store

    engine = open_store(sqlite_url)
    trial = RouteTrial("inbound", True, "assigned", "least_loaded", (Candidate("ana", score=odd),))
    decision = _decision("D1", trials=(trial,))
    try:
        with engine.begin() as conn:
            assert decision_json(conn, decision) == _dumps(decision.to_stored())
            lead_id = insert_lead(conn, _lead("D1"), decision)
            insert_outcomes(conn, [lead_id], [decision])
        with engine.connect() as conn:
            body = conn.scalar(select(decisions.c.body))
    finally:
        engine.dispose()
    score = body["trials"][0]["candidates"][0]["score"]
    assert score == odd or (math.isnan(odd) and math.isnan(score))


def test_a_duplicate_external_id_raises_sqlalchemys_integrity_error(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_lead(conn, _lead("D1"), _decision("D1"))
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        insert_lead(conn, _lead("D1"), _decision("D1"))
    assert caught.value.orig is not None


def test_moments_are_stored_in_utc_whatever_their_zone(engine: Engine) -> None:
    with engine.begin() as conn:
        lead_id = insert_lead(conn, _lead("D1"), _decision("D1"))
        stored = conn.scalar(select(leads.c.received_at).where(leads.c.id == lead_id))
    assert stored == AT.astimezone(UTC)
    assert stored.tzinfo == UTC


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_remembered_moments_convert_as_core_does(dialect: Any) -> None:
    core = UTCDateTime()._cached_bind_processor(dialect)
    remembered = bind_processor(UTCDateTime(), dialect)
    assert core is not None and remembered is not None
    east = timezone(timedelta(hours=5))
    moments = [AT + timedelta(seconds=i) for i in range(30_000)]  # more than it remembers
    moments += [AT.astimezone(east), AT]  # the same instant in two zones, seen before
    for moment in moments:
        assert remembered(moment) == core(moment)
    assert remembered(None) is None
    for _ in range(2):  # refused every time: a refusal is not remembered
        with pytest.raises(ValueError, match="without a time zone"):
            remembered(AT.replace(tzinfo=None))


def test_errors_of_pipelined_writes_surface_at_the_end_as_sqlalchemys(engine: Engine) -> None:
    with engine.begin() as conn:
        lead_id = insert_lead(conn, _lead("D1"), _decision("D1"))
        insert_outcomes(conn, [lead_id], [_decision("D1")])
    with pytest.raises(IntegrityError), engine.begin() as conn, pipelined(conn):
        insert_outcomes(conn, [lead_id], [_decision("D1")])  # the decision row exists
    with engine.connect() as conn:
        assert len(conn.execute(select(events)).all()) == 1


def test_sqlite_checkpoints_every_so_many_wal_pages(sqlite_url: str) -> None:
    from leadrelay.store import make_engine

    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    finally:
        engine.dispose()
    assert pages == SQLITE_WAL_AUTOCHECKPOINT_PAGES


def test_only_values_a_statement_sets_itself_are_fixed() -> None:
    """A column of ``insert(table)`` is the caller's to give (SQLAlchemy 2.1 marks it REQUIRED
    when compiled); a value given in ``.values()`` is the statement's own."""
    from sqlalchemy import insert
    from sqlalchemy.dialects import postgresql, sqlite

    from leadrelay.store.tables import route_state

    for dialect in (postgresql.dialect(), sqlite.dialect()):
        rows = DriverSQL(insert(events))._plan(dialect, {"lead_id": 1, "kind": "k", "at": AT})
        assert rows.fixed == {}
        seeded = DriverSQL(insert(route_state).values(seq=1))._plan(dialect, {"route": "r"})
        assert seeded.fixed == {"seq": 1}


def _as_text(engine: Engine, table: str, key: str) -> dict[int, tuple[str | None, ...]]:
    """Every column of ``table`` as PostgreSQL prints it, by ``key`` (ids left out)."""
    with engine.connect() as conn:
        names = [
            n
            for (n,) in conn.exec_driver_sql(
                "SELECT column_name FROM information_schema.columns"
                f" WHERE table_name = '{table}' ORDER BY ordinal_position"
            )
            if n not in ("id", "lead_id", "external_id")
        ]
        shown = ", ".join(f"{n}::text" for n in names)
        return {
            r[0]: tuple(r[1:]) for r in conn.exec_driver_sql(f"SELECT {key}, {shown} FROM {table}")
        }


@pytest.mark.postgres
def test_a_batch_on_postgresql_stores_the_same_text_as_core_does(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch goes as JSON documents of rows (``DriverSQL`` ``rows_as_json``), the four tables
    in one statement (``run_together``), not one a row; what it stores must print as what
    SQLAlchemy Core stores, column by column."""
    from sqlalchemy import insert

    from leadrelay.store import open_store
    from leadrelay.store.leads import assignment_row, event_row

    sent: list[tuple[str, bool]] = []
    run = engine_module.run_driver_sql

    def spy(conn: Any, sql: str, params: Any = (), **options: Any) -> Any:
        sent.append((sql.split(" (", 1)[0], options.get("many", False)))
        return run(conn, sql, params, **options)

    engine = open_store(pg_url)
    try:
        with engine.begin() as conn:
            one = conn.execute(
                insert(leads).returning(leads.c.id), lead_row(_lead("D1"), _decision("D1"))
            ).scalar_one()
            conn.execute(insert(assignments), assignment_row(one, _decision("D1")))
            conn.execute(insert(events), event_row(one, _decision("D1")))
            conn.execute(insert(decisions), {"lead_id": one, "body": _decision("D1").to_stored()})
            monkeypatch.setattr(engine_module, "run_driver_sql", spy)
            many = insert_routed(
                conn,
                [lead_row(_lead(e), _decision(e)) for e in ("C1", "C2")],
                [_decision("C1"), _decision("C2")],
            )
            monkeypatch.undo()
        assert [many for _, many in sent] == [False, False]  # the ids, then the rows
        assert sent[1][0] == "WITH w0 AS"
        for table, key in (("leads", "id"), ("assignments", "lead_id"), ("events", "lead_id")):
            rows = _as_text(engine, table, key)
            assert rows[one] == rows[many[0]] == rows[many[1]], table
        with engine.connect() as conn:
            bodies = dict(conn.exec_driver_sql("SELECT lead_id, body::text FROM decisions").all())
        assert bodies[many[0]] == decision_json(conn, _decision("C1"))
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("column", "odd"), [("value", math.nan), ("lat", math.inf), ("attributes", None)]
)
def test_a_batch_holding_what_json_cannot_carry_is_stored_as_given(
    pg_url: str, column: str, odd: Any
) -> None:
    """Not finite floats (JSON has none) and a JSON column's None (Core stores JSON null, a
    JSON document of rows would give SQL NULL) make the batch go row by row (every table of
    it: ``run_together`` sends all or none as one statement)."""
    from leadrelay.store import open_store

    engine = open_store(pg_url)
    rows = [lead_row(_lead(e), _decision(e)) for e in ("C1", "C2")]
    rows[1][column] = odd
    try:
        with engine.begin() as conn:
            ids = insert_routed(conn, rows, [_decision("C1"), _decision("C2")])
        with engine.connect() as conn:
            stored = conn.execute(select(leads.c[column]).where(leads.c.id == ids[1])).scalar()
            as_text = conn.exec_driver_sql(
                f"SELECT {column}::text FROM leads WHERE id = {ids[1]}"
            ).scalar()
    finally:
        engine.dispose()
    if odd is None:
        assert as_text == "null"  # JSON null, not SQL NULL
    elif math.isnan(odd):
        assert math.isnan(stored)
    else:
        assert stored == odd
