"""The test infrastructure itself: the database fixtures in conftest.py work as promised."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import sqlalchemy as sa

NewPgDatabase = Callable[[], AbstractContextManager[str]]


def _user_tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _server_databases(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.scalars(sa.text("SELECT datname FROM pg_database")))
    finally:
        engine.dispose()


def test_sqlite_url_is_a_fresh_file_in_tmp_path(sqlite_url: str, tmp_path: Path) -> None:
    path = Path(sa.make_url(sqlite_url).database or "")
    assert path == tmp_path / "leadrelay.db"
    assert not path.exists()
    engine = sa.create_engine(sqlite_url)
    try:
        with engine.begin() as conn:
            assert conn.scalar(sa.text("SELECT 1")) == 1
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    finally:
        engine.dispose()
    assert path.exists()


@pytest.mark.postgres
@pytest.mark.parametrize("run", [1, 2])
def test_pg_url_is_a_working_empty_database_of_its_own(pg_url: str, run: int) -> None:
    url = sa.make_url(pg_url)
    assert url.drivername == "postgresql+psycopg"
    assert url.database is not None
    assert url.database.startswith("lrt_")
    assert _user_tables(pg_url) == []
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            assert conn.scalar(sa.text("SELECT 1")) == 1
            assert conn.scalar(sa.text("SELECT current_database()")) == url.database
            # Left behind on purpose: the other run must not see it.
            conn.execute(sa.text("CREATE TABLE left_behind (run INTEGER)"))
            conn.execute(sa.text("INSERT INTO left_behind VALUES (:run)"), {"run": run})
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_pg_databases_are_distinct_and_dropped(
    new_pg_database: NewPgDatabase, pg_server_url: str
) -> None:
    with new_pg_database() as first, new_pg_database() as second:
        first_name = sa.make_url(first).database
        second_name = sa.make_url(second).database
        assert first_name != second_name
        engine = sa.create_engine(first)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE only_in_first (x INTEGER)"))
        # Left open on purpose: teardown must drop the database anyway (WITH (FORCE)).
        conn = engine.connect()
        assert _user_tables(second) == []
        assert {first_name, second_name} <= _server_databases(pg_server_url)
    conn.invalidate()
    conn.close()
    engine.dispose()
    assert not {first_name, second_name} & _server_databases(pg_server_url)


def test_db_url_works_with_both_backends(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1), (2)"))
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT sum(x) FROM t")) == 3
    finally:
        engine.dispose()
