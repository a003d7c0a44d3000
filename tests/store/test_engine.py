"""Engines, schema creation and upgrade, and timestamps, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from leadrelay.errors import StoreError
from leadrelay.store import make_engine, open_store, reader
from leadrelay.store.tables import events, metadata

TABLES = {
    "meta",
    "reps",
    "teams",
    "accounts",
    "policies",
    "leads",
    "decisions",
    "assignments",
    "rr_ledger",
    "route_state",
    "rep_load",
    "events",
    "api_keys",
    "idempotency_keys",
    "lead_keys",
    "outbox",
    "relationships",
    "sla_timers",
}
HEAD = "0007"


def _revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_open_store_creates_every_table_and_is_idempotent(db_url: str) -> None:
    first = open_store(db_url)
    second = open_store(db_url)
    try:
        names = set(sa.inspect(second).get_table_names())
        assert names >= TABLES
        assert _revision(second) == HEAD
    finally:
        first.dispose()
        second.dispose()


def test_migration_creates_exactly_the_tables_module(db_url: str) -> None:
    engine = open_store(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def _open(url: str) -> str | None:
    engine = open_store(url)
    try:
        return _revision(engine)
    finally:
        engine.dispose()


def test_processes_racing_to_create_the_schema_all_succeed(db_url: str) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        revisions = pool.map(_open, [db_url] * 4)
    assert revisions == [HEAD] * 4


def test_unreachable_database_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://ana:s3cret-pw@127.0.0.1:1/leads?connect_timeout=2")
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert "127.0.0.1:1/leads" in message


def test_sqlite_in_a_missing_directory_is_a_store_error(tmp_path) -> None:
    with pytest.raises(StoreError, match="cannot open database"):
        open_store(f"sqlite:///{tmp_path}/missing/dir/x.db")


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_urls_use_psycopg_3(scheme: str) -> None:
    engine = make_engine(f"{scheme}://u:p@localhost/db")
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    engine = open_store(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        engine.dispose()


def _other_writer_is_locked_out(path: str) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    finally:
        other.close()


def test_sqlite_transactions_take_the_write_lock_at_begin(sqlite_url: str) -> None:
    engine = open_store(sqlite_url)
    path = engine.url.database
    assert path is not None
    try:
        with engine.begin() as conn:
            conn.execute(sa.select(1))  # a read, yet the transaction already holds the lock
            assert _other_writer_is_locked_out(path)
        assert not _other_writer_is_locked_out(path)
        with reader(engine).connect() as conn:
            conn.execute(sa.select(1))
            assert not _other_writer_is_locked_out(path)
    finally:
        engine.dispose()


def test_moments_come_back_as_aware_utc(db_url: str) -> None:
    engine = open_store(db_url)
    berlin = timezone(timedelta(hours=1))
    at = datetime(2026, 11, 25, 15, 30, 1, 123456, tzinfo=berlin)
    try:
        with engine.begin() as conn:
            conn.execute(events.insert().values(kind="test", at=at, data={"when": at}))
        with engine.connect() as conn:
            row = conn.execute(sa.select(events.c.at, events.c.data)).one()
        assert row.at == at
        assert row.at.tzinfo is UTC
        assert row.data == {"when": at.isoformat()}
    finally:
        engine.dispose()


def test_a_moment_without_a_time_zone_is_refused(db_url: str) -> None:
    engine = open_store(db_url)
    try:
        with (
            pytest.raises(sa.exc.StatementError, match="without a time zone"),
            engine.begin() as conn,
        ):
            conn.execute(events.insert().values(kind="test", at=datetime(2026, 1, 1), data={}))
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_pooled_connection_idle_for_a_while_is_checked_and_replaced_if_dead(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadrelay.store import engine as engine_module

    store = open_store(pg_url)
    killer = make_engine(pg_url)

    def kill_pooled() -> None:
        with store.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with killer.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid or 0)})")

    try:
        # idle longer than the limit: pinged at checkout, found dead, replaced unseen
        monkeypatch.setattr(engine_module, "PG_PING_AFTER_IDLE_S", 0.0)
        kill_pooled()
        with store.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1

        # used just now: no ping (no round trip); a dead one fails its transaction as
        # unavailable (the API's 503), and the pool connects again for the next
        monkeypatch.setattr(engine_module, "PG_PING_AFTER_IDLE_S", 60.0)
        kill_pooled()
        with pytest.raises(sa.exc.OperationalError), store.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        with store.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        store.dispose()
        killer.dispose()
