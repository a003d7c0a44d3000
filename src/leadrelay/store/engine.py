"""Engines for SQLite and PostgreSQL, the schema brought to the current version, and locks.

SQLite: every transaction begins with ``BEGIN IMMEDIATE`` so concurrent writers queue on the
busy timeout instead of failing when they upgrade a read lock. PostgreSQL: correctness comes from
row locks and conditional updates in the routing transaction; bulk routing and live routing are
kept apart with one advisory lock (``lock_routing``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from leadrelay.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"

# Advisory lock keys (PostgreSQL): arbitrary constants, unique to leadrelay.
_MIGRATION_LOCK = 0x4C52_0001
_ROUTING_LOCK = 0x4C52_0002

# Execution option: a SQLite transaction that only reads may begin DEFERRED and so does not
# queue behind a long writer (a bulk run). Use ``reader(engine)``.
_READ_ONLY = "leadrelay_read_only"

SQLITE_BUSY_TIMEOUT_MS = 30_000


def safe_url(url: str | URL) -> str:
    """The URL as it may be shown to a user: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "<unparseable database URL>"


def normalise_url(url: str | URL) -> URL:
    """``postgres://`` and ``postgresql://`` use psycopg 3; everything else is left alone."""
    try:
        parsed = make_url(url)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read database URL {str(url)!r}: {exc}") from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(
    url: str | URL, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, **kwargs: Any
) -> Engine:
    """An engine for ``url`` configured for leadrelay; the schema is not touched.

    ``busy_timeout_ms``: how long a SQLite transaction waits for another writer to finish.
    Other keyword arguments go to ``sqlalchemy.create_engine``.
    """
    parsed = normalise_url(url)
    kwargs.setdefault("json_serializer", _dumps)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", partial(_sqlite_connect, busy_timeout_ms))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def reader(engine: Engine) -> Engine:
    """A view of ``engine`` for read-only work: on SQLite it does not wait for writers."""
    return engine.execution_options(**{_READ_ONLY: True})


def open_store(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the schema created or upgraded to the current version.

    Safe to call from several processes at once: on PostgreSQL the upgrade runs under an
    advisory lock, on SQLite inside one ``BEGIN IMMEDIATE`` transaction.
    """
    engine = make_engine(url, **kwargs)
    try:
        upgrade(engine)
    except StoreError:
        engine.dispose()
        raise
    except DBAPIError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(f"cannot open database {safe_url(engine.url)}: {reason}") from exc
    return engine


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (nothing to do if it is there already)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with reader(engine).connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()
    if current == head:
        return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        config = alembic_config(conn)
        try:
            command.upgrade(config, "head")
        except Exception as exc:
            if isinstance(exc, DBAPIError):
                raise
            raise StoreError(
                f"cannot upgrade database {safe_url(engine.url)} to schema {head}: {exc}"
            ) from exc


def busy_error(engine: Engine, exc: DBAPIError) -> StoreError | None:
    """A StoreError to raise for 'SQLite stayed locked past the busy timeout', else None."""
    if engine.dialect.name != "sqlite" or "locked" not in str(exc.orig):
        return None
    return StoreError(
        f"database {safe_url(engine.url)} is busy: another process held the write lock past"
        " the busy timeout (a bulk route?); try again when it ends"
    )


def lock_routing(conn: Connection, *, exclusive: bool = False) -> None:
    """Serialise bulk routing (exclusive) against live routing (shared) until the transaction ends.

    PostgreSQL only; on SQLite ``BEGIN IMMEDIATE`` already lets one writer in at a time.
    """
    if conn.dialect.name != "postgresql":
        return
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    conn.execute(text(f"SELECT {fn}(:k)"), {"k": _ROUTING_LOCK})


def alembic_config(connection: Connection | None = None) -> Any:
    """Alembic's configuration, built in code (there is no alembic.ini).

    To write a migration after changing ``tables.py``, against a database at the current head::

        with make_engine(url).begin() as conn:
            alembic.command.revision(alembic_config(conn), "what changed", autogenerate=True)
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _sqlite_connect(busy_timeout_ms: int, dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module so _sqlite_begin decides how a transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    read_only = conn.get_execution_options().get(_READ_ONLY, False)
    conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


_dumps = partial(json.dumps, default=_json_default, separators=(",", ":"), ensure_ascii=False)
