"""Fixtures shared by the whole suite: database URLs for SQLite and a throwaway PostgreSQL.

- ``sqlite_url``: a SQLite file in the test's own temp dir.
- ``pg_url``: a fresh, empty PostgreSQL database of its own for each test, dropped afterwards.
  The server is the one named by ``LEADRELAY_TEST_PG_URL`` (``make test`` starts one with
  ``scripts/pg-test-server`` and sets it); without it, tests that need PostgreSQL are skipped.
- ``db_url``: both of the above, in turn, so store tests run on both backends.
- ``new_pg_database``: a context manager factory for tests that need more than one database.

All URLs are SQLAlchemy URLs (``sqlite:///...``, ``postgresql+psycopg://...``).

Kept import-light on purpose: nothing here imports leadrelay, and psycopg is imported only
when a PostgreSQL fixture is actually used.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

PG_ENV = "LEADRELAY_TEST_PG_URL"
DB_PREFIX = "lrt_"

NewPgDatabase = Callable[[], AbstractContextManager[str]]


def _libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://...`` (SQLAlchemy) -> ``postgresql://...`` (libpq/psycopg)."""
    parts = urlsplit(sqlalchemy_url)
    return urlunsplit(parts._replace(scheme=parts.scheme.split("+", 1)[0]))


def _with_database(url: str, name: str) -> str:
    """The same URL (driver, host, port, user, query) pointing at another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get(PG_ENV)
    if url:
        return f"leadrelay: PostgreSQL tests run against {url} (one fresh database per test)"
    return f"leadrelay: {PG_ENV} is unset, so PostgreSQL tests are skipped (make test sets it)"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLAlchemy URL for a SQLite file (not created yet) in this test's temp dir."""
    return f"sqlite:///{tmp_path / 'leadrelay.db'}"


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The URL of the throwaway server; skips without one, fails if it is set but down."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL test: {PG_ENV} is not set (run `make test`, or "
            f"`export {PG_ENV}=$(scripts/pg-test-server start)`)"
        )
    import psycopg

    try:
        with psycopg.connect(_libpq_url(url), autocommit=True, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.fail(f"{PG_ENV}={url} is set but the server cannot be reached: {exc}")
    return url


@pytest.fixture(scope="session")
def new_pg_database(pg_server_url: str) -> NewPgDatabase:
    """``with new_pg_database() as url:`` a new, empty database, dropped on exit."""
    import psycopg
    from psycopg import sql

    admin = _libpq_url(pg_server_url)
    with psycopg.connect(admin) as conn:
        # FILE_COPY (PG 15+) is ~3x faster than the default WAL_LOG for a tiny template.
        strategy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""

    @contextmanager
    def make() -> Iterator[str]:
        name = f"{DB_PREFIX}{uuid.uuid4().hex[:20]}"
        ident = sql.Identifier(name)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}" + strategy).format(ident))
        try:
            yield _with_database(pg_server_url, name)
        finally:
            # FORCE ends sessions a test left open (e.g. an engine it never disposed).
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))

    return make


@pytest.fixture
def pg_url(new_pg_database: NewPgDatabase) -> Iterator[str]:
    """A SQLAlchemy URL for a fresh, empty PostgreSQL database of this test's own."""
    with new_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: the test runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(name)
    return url
