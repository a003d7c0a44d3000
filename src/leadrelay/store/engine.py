"""Engines for SQLite and PostgreSQL, the schema brought to the current version, and locks.

SQLite: every transaction begins with ``BEGIN IMMEDIATE`` so concurrent writers queue on the
busy timeout instead of failing when they upgrade a read lock; WAL, ``synchronous=NORMAL`` and
checkpoints every 10,000 pages (``SQLITE_WAL_AUTOCHECKPOINT_PAGES``). PostgreSQL: routing
transactions take one advisory lock (``lock_routing``) exclusively, so one decides at a time;
conditional updates in the routing transaction guard the routing state as well.

``DriverSQL`` runs the live routing path's statements straight on the DBAPI cursor: SQLAlchemy
spends 25-50 us around each ``execute`` (cache lookup, parameter and result processing, events),
the driver 1-10 us on SQLite. The statement is still compiled by SQLAlchemy, values still go
through the column types' bind processors, and driver errors are still raised as SQLAlchemy's
exceptions, so what is stored and what callers catch is what the Core path gives.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import Any, NoReturn, cast

import orjson
from sqlalchemy import (
    JSON,
    ClauseElement,
    Connection,
    Engine,
    Float,
    Insert,
    Table,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.sql.compiler import SQLCompiler

from leadrelay.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"

# Advisory lock keys (PostgreSQL): arbitrary constants, unique to leadrelay.
_MIGRATION_LOCK = 0x4C52_0001
_ROUTING_LOCK = 0x4C52_0002

# Execution option: a SQLite transaction that only reads may begin DEFERRED and so does not
# queue behind a long writer (a bulk run). Use ``reader(engine)``.
_READ_ONLY = "leadrelay_read_only"

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled PostgreSQL connection idle longer than this is pinged before use (see _ping_if_idle).
PG_PING_AFTER_IDLE_S = 1.0
# Seconds a new PostgreSQL connection may take (libpq connect_timeout): a host that drops
# packets makes requests fail with 503 after this long, not hang for the TCP timeout (~2 min).
PG_CONNECT_TIMEOUT_S = 5
# WAL frames (4 KiB pages) between automatic checkpoints; SQLite's default is 1,000. A routed
# lead writes ~17 pages (eight tables and indexes), so at the default a checkpoint, with its two
# fsyncs, came every ~60 leads and took 40% of live routing's time. At 10,000 it comes every
# ~600 leads, rewrites hot pages (counters, ledger, index tails) once instead of ten times, and
# the WAL file stays under ~40 MiB.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000


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
    # An unreachable host fails within the timeout instead of hanging.
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
    engine = create_engine(parsed, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", partial(_ping_if_idle, engine.dialect))
    return engine


def _note_checkin(_: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dialect: Dialect, dbapi_conn: Any, record: Any, _: Any) -> None:
    """A pooled connection idle for over ``PG_PING_AFTER_IDLE_S`` is pinged at checkout and
    replaced if dead, so the first request after a database restart is served. One used
    within that time is not (``pool_pre_ping`` pings every checkout: a round trip per
    transaction, ~8% of a routing group's time). If the database went away within that time,
    the transaction fails as unavailable (a 503: nothing stored) and the pool reconnects."""
    since = record.info.get("idle_since")  # None: connected just now, for this checkout
    if since is None or time.monotonic() - since <= PG_PING_AFTER_IDLE_S:
        return
    try:
        alive = dialect.do_ping(dbapi_conn)
    except Exception as exc:  # any failure of the ping: the connection is dead
        raise DisconnectionError(f"a pooled connection is dead: {exc}") from exc
    if not alive:
        raise DisconnectionError("a pooled connection is dead")


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


def lock_routing(conn: Connection, *, exclusive: bool) -> None:
    """Hold the routing lock until the transaction ends: exclusively in every transaction that
    decides (live, group and bulk routing, rerouting), shared in hand-offs, which move a lead
    but decide nothing and may run beside each other.

    Routing decides exclusively because optimistic routers lose races to each other: with the
    lock shared, 16 threads routing a lead a transaction lost 3.4 races a lead and routed 93
    leads/s on PostgreSQL, against 351 with it exclusive (docs/benchmarks.md).

    PostgreSQL only; on SQLite ``BEGIN IMMEDIATE`` already lets one writer in at a time.
    """
    if conn.dialect.name != "postgresql":
        return
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    run_driver_sql(conn, f"SELECT {fn}({_ROUTING_LOCK})")


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
        cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    read_only = conn.get_execution_options().get(_READ_ONLY, False)
    run_driver_sql(conn, "BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def run_driver_sql(
    conn: Connection, sql: str, params: Any = (), *, many: bool = False, fresh_plan: bool = False
) -> Any:
    """Execute ``sql`` (in the driver's parameter style) on the connection's DBAPI cursor;
    ``many``: ``params`` is a list of parameter sets, run with ``executemany``. ``fresh_plan``:
    on PostgreSQL the statement is never prepared, so it is planned for the table as it is now.

    Returns the cursor. A driver error is raised as SQLAlchemy would raise it (``IntegrityError``,
    ``OperationalError``... with ``.orig``), and a lost connection is invalidated.
    """
    raw = conn.connection.dbapi_connection
    if raw is None:  # pragma: no cover - a closed connection raises before this
        raise StoreError("the database connection is closed")
    cursor = raw.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
        elif fresh_plan and conn.dialect.driver == "psycopg":
            cursor.execute(sql, params, prepare=False)  # type: ignore[call-arg]
        else:
            cursor.execute(sql, params)
    except Exception as exc:
        _raise_wrapped(conn, sql, params, exc, raw, cursor)
    return cursor


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """Statements run in the block reach PostgreSQL together and are answered in one round trip
    at its end (psycopg's pipeline mode): for writes whose results nobody reads in the block.
    Errors surface at the end of the block. Other backends run them one by one, as always."""
    if conn.dialect.driver != "psycopg":
        yield
        return
    raw = conn.connection.dbapi_connection
    try:
        with raw.pipeline():  # type: ignore[union-attr]
            yield
    except Exception as exc:
        _raise_wrapped(conn, "(pipeline)", None, exc, raw, None)


class DriverSQL:
    """A Core statement compiled once per dialect and run with ``run_driver_sql``.

    Parameters are given by bind name, as to ``Connection.execute``, and pass through the same
    bind processors Core applies (so a datetime is stored as the same text on SQLite, a JSON
    column's value is serialised by the engine's serializer); names in ``as_is`` are sent
    unprocessed (a JSON body serialised already). Values a statement fixes (``values(count=1)``)
    need not be given. An INSERT of a table (``insert(leads)``) gets the columns of the
    parameters given, as with Core: compiled once per dialect and set of names.

    ``rows_as_json`` (a plain ``insert(table)``): on PostgreSQL (psycopg), ``run_many`` sends
    all the rows as one statement (``_RowSet``) instead of one a row.

    ``fresh_plan``: on PostgreSQL the statement is planned at every run, never prepared (psycopg
    prepares a statement run five times, and PostgreSQL then keeps a plan made for the table as
    it was; see ``run_driver_sql``).
    """

    __slots__ = ("_as_is", "_build", "_fresh_plan", "_plans", "_row_sets")

    def __init__(
        self,
        build: ClauseElement | Callable[[str], Any],
        *,
        as_is: Sequence[str] = (),
        rows_as_json: bool = False,
        fresh_plan: bool = False,
    ) -> None:
        if rows_as_json and not isinstance(build, Insert):
            raise TypeError("rows_as_json needs a plain insert(table)")
        self._build = build
        self._fresh_plan = fresh_plan
        self._as_is = frozenset(as_is)
        self._plans: dict[tuple[str, str, tuple[str, ...]], _Plan] = {}
        # None: rows go by executemany; else each set of names' statement
        self._row_sets: dict[tuple[str, ...], _RowSet] | None = {} if rows_as_json else None

    def run(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """Execute with ``params``; returns the DBAPI cursor (fetch rows or read ``rowcount``)."""
        plan = self._plan(conn.dialect, params)
        return run_driver_sql(conn, plan.sql, plan.values(params), fresh_plan=self._fresh_plan)

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute for every row (every row has the first one's names): ``executemany``, or
        on PostgreSQL with ``rows_as_json`` one statement for them all."""
        if not rows:
            raise ValueError("run_many needs at least one row")
        if len(rows) == 1:
            self.run(conn, rows[0])
            return
        found = self._row_set(conn.dialect, rows)
        if found is not None:
            row_set, doc = found
            run_driver_sql(conn, row_set.sql, {"rows": doc})
            return
        plan = self._plan(conn.dialect, rows[0])
        run_driver_sql(conn, plan.sql, list(map(plan.values, rows)), many=True)

    def _row_set(
        self, dialect: Dialect, rows: Sequence[Mapping[str, Any]]
    ) -> tuple[_RowSet, str] | None:
        """The rows as one JSON document and the statement that inserts it, when this is a
        ``rows_as_json`` insert on psycopg and every value goes into JSON exactly; else None."""
        sets = self._row_sets
        if sets is None or dialect.driver != "psycopg":
            return None
        # (values the statement fixes, such as a column's Python default, are Core's to send)
        if self._plan(dialect, rows[0]).fixed:
            return None
        names = tuple(rows[0])
        row_set = sets.get(names)
        if row_set is None:
            table = cast(Table, cast(Insert, self._build).table)
            row_set = sets[names] = _RowSet(table, names, self._as_is, dialect)
        doc = row_set.document(rows)
        return None if doc is None else (row_set, doc)

    def _plan(self, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
        key = (dialect.name, dialect.driver, tuple(params))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._compile(dialect, key[2])
        return plan

    def _compile(self, dialect: Dialect, given: Sequence[str]) -> _Plan:
        build = self._build
        stmt: ClauseElement = build if isinstance(build, ClauseElement) else build(dialect.name)
        compiled = cast(SQLCompiler, stmt.compile(dialect=dialect, column_keys=list(given)))
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        names = compiled.positiontup if dialect.positional else binds
        # A required bind is one the caller gives; SQLAlchemy 2.1 fills those with a REQUIRED
        # marker here (2.0: None), so only binds not required carry a value the statement fixes.
        fixed = {
            name: value
            for name, value in compiled.construct_params(_check=False).items()
            if value is not None and not (name in binds and binds[name].required)
        }
        ordered = tuple(names or ())
        processed = tuple(
            (i, proc)
            for i, name in enumerate(ordered)
            if name not in self._as_is
            and (proc := bind_processor(binds[name].type, dialect)) is not None
        )
        return _Plan(
            compiled.string, dialect.positional, ordered, _picker(ordered), processed, fixed
        )


def run_together(conn: Connection, batches: Sequence[tuple[DriverSQL, Sequence[Any]]]) -> None:
    """``run_many`` of each (statement, rows) in turn; on PostgreSQL, when each is a
    ``rows_as_json`` insert whose rows go into JSON exactly, all in one statement (inserts in
    a WITH: each table's rows one JSON parameter). Foreign keys are checked at the end of the
    statement, so a row may refer to one inserted beside it. Saves a statement a table: each
    costs ~40 us of psycopg's CPU and a pass through the server's executor."""
    batches = [(sql, rows) for sql, rows in batches if rows]
    found = [sql._row_set(conn.dialect, rows) for sql, rows in batches] if len(batches) > 1 else []
    if not found or None in found:
        for sql, rows in batches:
            sql.run_many(conn, rows)
        return
    parts = cast(list[tuple[_RowSet, str]], found)
    key = tuple(id(row_set) for row_set, _ in parts)
    statement = _TOGETHER.get(key)
    if statement is None:
        inserts = ", ".join(
            f"w{i} AS ({row_set.insert(f'rows{i}')})" for i, (row_set, _) in enumerate(parts)
        )
        statement = _TOGETHER[key] = f"WITH {inserts} SELECT 1"
    run_driver_sql(conn, statement, {f"rows{i}": doc for i, (_, doc) in enumerate(parts)})


# (row sets of the statements run together) -> the statement; row sets live as long as their
# DriverSQL, which are module constants, so the ids are not reused
_TOGETHER: dict[tuple[int, ...], str] = {}


class _RowSet:
    """Rows of one table inserted by one PostgreSQL statement: ``INSERT INTO t (names) SELECT
    names FROM json_populate_recordset(NULL::t, rows)``, the rows one JSON document.

    psycopg sends (and flushes) each executemany row as a statement of its own, ~16 us of
    client CPU a row; a multi-row VALUES list is not cached by psycopg (over 50 parameters),
    so it is parsed again every time. One JSON parameter is neither.

    Each value is written as PostgreSQL reads it back exactly: moments through the column's
    bind processor (aware UTC), JSON columns as the engine's serializer writes them (``as_is``
    ones as given). ``document`` gives None when a value would not come back the same (a
    float not finite, a JSON column's None: Core stores JSON null, the document SQL NULL; an
    integer past 64 bits): the caller uses executemany.
    """

    __slots__ = ("_convert", "_names", "sql")

    def __init__(
        self, table: Table, names: Sequence[str], as_is: frozenset[str], dialect: Dialect
    ) -> None:
        from leadrelay.store.tables import UTCDateTime

        quote = dialect.identifier_preparer.quote
        cols = ", ".join(quote(name) for name in names)
        self.sql = (
            f"INSERT INTO {quote(table.name)} ({cols}) SELECT {cols}"
            f" FROM json_populate_recordset(NULL::{quote(table.name)}, %(rows)s::json)"
        )
        serialize = cast(Callable[[Any], str], getattr(dialect, "_json_serializer", None) or _dumps)
        self._names = frozenset(names)
        # (name, conversion) of the columns whose values are not written as they are
        self._convert: list[tuple[str, Callable[[Any], Any]]] = []
        for name in names:
            type_ = table.c[name].type
            convert: Callable[[Any], Any] | None = None
            if name in as_is:
                convert = _fragment
            elif isinstance(type_, JSON):
                convert = partial(_json_fragment, serialize)
            elif isinstance(type_, Float):
                convert = _finite
            elif isinstance(type_, UTCDateTime):
                convert = bind_processor(type_, dialect)
            if convert is not None:
                self._convert.append((name, convert))

    def insert(self, param: str) -> str:
        """The INSERT with the rows' document in the parameter named ``param``."""
        return self.sql.replace("%(rows)s", f"%({param})s")

    def document(self, rows: Sequence[Mapping[str, Any]]) -> str | None:
        """The rows (each with this row set's names) as one JSON array of objects."""
        convert = self._convert
        docs = []
        try:
            for row in rows:
                doc = dict(row)  # a copy in C, then only the columns that need it converted
                if doc.keys() != self._names:
                    raise ValueError(f"a row's names differ from the first's: {sorted(doc)}")
                for name, fn in convert:
                    doc[name] = fn(doc[name])
                docs.append(doc)
            return orjson.dumps(docs).decode()
        except (_NotExactError, TypeError):  # orjson.JSONEncodeError is a TypeError
            return None


class _NotExactError(Exception):
    """A value the JSON document would not give back as it is."""


def _fragment(text: str | None) -> Any:
    if text is None:
        raise _NotExactError
    return orjson.Fragment(text)


def _json_fragment(serialize: Callable[[Any], str], value: Any) -> Any:
    if value is None:
        raise _NotExactError
    return orjson.Fragment(serialize(value))


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise _NotExactError
    return value


def bind_processor(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """Core's bind processor for ``type_``; for moments (``UTCDateTime``), one shared by every
    column that remembers the moments it converted lately: a routed lead's moments are mostly
    one (decided, assigned, event), converting one costs 3-8 us, and equal moments give the
    same text (a datetime is immutable; two equal aware ones are the same instant)."""
    from leadrelay.store.tables import UTCDateTime

    process = type_._cached_bind_processor(dialect)
    if process is None or not isinstance(type_, UTCDateTime):
        return process  # type: ignore[no-any-return]
    key = (dialect.name, dialect.driver)
    shared = _MOMENTS.get(key)
    if shared is None:
        shared = _MOMENTS[key] = _RecentMoments(process)
    return shared


class _RecentMoments:
    """A moment's converted value, remembered: a batch converts each lead's decision moment
    for the lead, its assignment and its event, a table after another."""

    __slots__ = ("_process", "_seen")

    LIMIT = 20_000  # moments remembered before starting afresh (a batch of leads holds 5,000)

    def __init__(self, process: Callable[[Any], Any]) -> None:
        self._process = process
        self._seen: dict[Any, Any] = {}

    def __call__(self, value: Any) -> Any:
        seen = self._seen
        converted = seen.get(value)
        if converted is None:
            converted = self._process(value)  # refuses a naive datetime: nothing is kept
            if value is None:
                return converted
            if len(seen) >= self.LIMIT:
                seen.clear()
            seen[value] = converted
        return converted


_MOMENTS: dict[tuple[str, str], _RecentMoments] = {}


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    positional: bool
    names: tuple[str, ...]  # the parameters, in the statement's order
    pick: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # their values, picked at once
    # the positions whose values go through a bind processor (a lead row: 7 of 37 columns)
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]
    fixed: dict[str, Any]

    def values(self, params: Mapping[str, Any]) -> Any:
        """The driver's parameters for ``params``: bind-processed, in the statement's order."""
        merged = {**self.fixed, **params} if self.fixed else params
        row = self.pick(merged)
        if self.processed:
            listed = list(row)
            for i, proc in self.processed:
                listed[i] = proc(listed[i])
            row = tuple(listed)
        return row if self.positional else dict(zip(self.names, row, strict=True))


def _picker(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """``operator.itemgetter(*names)``, always giving a tuple (for one name it gives the value)."""
    if len(names) == 1:
        name = names[0]
        return lambda params: (params[name],)
    return itemgetter(*names) if names else lambda params: ()


def _raise_wrapped(
    conn: Connection, sql: str, params: Any, exc: Exception, raw: Any, cursor: Any
) -> NoReturn:
    dialect = conn.dialect
    base = dialect.loaded_dbapi.Error
    if not isinstance(exc, base):
        raise exc
    invalidated = dialect.is_disconnect(exc, raw, cursor)
    if invalidated:
        conn.invalidate(exc)
    raise DBAPIError.instance(
        sql, params, exc, base, connection_invalidated=invalidated, dialect=dialect
    ) from exc


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
