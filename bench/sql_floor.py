"""The store's own SQL without leadrelay: the floor under live and bulk routing on SQLite.

``record`` routes leads into a store whose sqlite3 connections write down, in order, every
statement leadrelay sends through the driver (with its parameters; ``execute`` or
``executemany``) and every commit and rollback, and keeps a copy of the store as it was before.
``Record.replay`` runs that script with the stdlib ``sqlite3`` on a fresh copy: the same
statements with the same parameters in the same transactions, the store's file settings, rows
fetched where a statement returns some, and no routing code at all. Its rate is what SQLite needs
for exactly the work the routed leads cost, so no routing decision and no Python above the driver
can route faster on this schema and machine. ``Record.check`` proves the replay did that work:
the copy must end holding what the routed store held, table by table. The replay runs every
step on one connection in the order recorded, which is the same work while routing's
connections do not interleave transactions (the check would catch it if they did).

The raw baselines (``bench.raw``) write one index-free row a commit; this floor writes what a
routed lead needs (the lead, its decision, assignment, event, dedupe keys, ledger and cap
counters, with their indexes) and reads what routing reads.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import Engine

from leadrelay.store.engine import make_engine

# ("execute" | "many", sql, parameters) or ("commit" | "rollback", "", None)
Step = tuple[Literal["execute", "many", "commit", "rollback"], str, Any]


class _Cursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        self.connection.steps.append(("execute", sql, parameters))  # type: ignore[attr-defined]
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> sqlite3.Cursor:
        rows = list(seq_of_parameters)
        self.connection.steps.append(("many", sql, rows))  # type: ignore[attr-defined]
        return super().executemany(sql, rows)


class _Connection(sqlite3.Connection):
    """A sqlite3 connection writing down its statements in ``steps`` (set on a subclass)."""

    steps: list[Step]

    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)

    def commit(self) -> None:
        self.steps.append(("commit", "", None))
        super().commit()

    def rollback(self) -> None:
        self.steps.append(("rollback", "", None))
        super().rollback()


@dataclass(frozen=True)
class Record:
    """What the routing sent to SQLite, and the store before and after it."""

    before: Path
    after: Path
    steps: list[Step]

    def statements(self) -> int:
        """Statements run (each row of an ``executemany`` counted once)."""
        return sum(len(p) if kind == "many" else kind == "execute" for kind, _, p in self.steps)

    def replay(self, into: Path, keep: Callable[[str], bool] | None = None) -> float:
        """Seconds to run the steps on a fresh copy of ``before`` at ``into``. ``keep``: only
        the statements whose SQL it accepts (commits and rollbacks always)."""
        _copy_store(self.before, into)
        steps = self.steps
        if keep is not None:
            steps = [s for s in steps if s[0] in ("commit", "rollback") or keep(s[1])]
        with _open(into) as conn:
            cursor = conn.cursor()
            execute, executemany = cursor.execute, cursor.executemany
            commit, rollback = conn.commit, conn.rollback
            start = time.perf_counter()
            for kind, sql, params in steps:
                if kind == "execute":
                    if execute(sql, params).description is not None:
                        cursor.fetchall()
                elif kind == "many":
                    executemany(sql, params)
                elif kind == "commit":
                    commit()
                else:
                    rollback()
            return time.perf_counter() - start

    def check(self, replayed: Path) -> None:
        """Raise unless ``replayed`` holds exactly what the routed store held."""
        want, got = _contents(self.after), _contents(replayed)
        differ = sorted(t for t in want.keys() | got.keys() if want.get(t) != got.get(t))
        if differ:
            raise AssertionError(f"the replay did not redo the routing: {', '.join(differ)} differ")


@dataclass
class Recorder:
    """Hands out a sqlite3 connection class whose connections write into ``steps``; open the
    store with ``connect_args()`` (``open_store(url, connect_args=...)``), then ``record``."""

    steps: list[Step] = field(default_factory=list)

    def connect_args(self) -> dict[str, Any]:
        return {"factory": type("_Recording", (_Connection,), {"steps": self.steps})}

    def record(
        self,
        engine: Engine,
        store: Path,
        warm_up: Callable[[], object],
        work: Callable[[], object],
    ) -> Record:
        """Run ``warm_up`` unrecorded, then ``work`` recorded, on ``engine`` (its file is
        ``store``): the steps of ``work``, and copies of the store before and after it."""
        try:
            warm_up()
        finally:
            engine.dispose()  # the last connection to close checkpoints the WAL into the file
        before = store.parent / "before" / store.name
        _copy_store(store, before)
        self.steps.clear()
        try:
            work()
        finally:
            engine.dispose()
        return Record(before, store, list(self.steps))


@contextmanager
def _open(path: Path) -> Iterator[sqlite3.Connection]:
    """A driver connection to ``path`` set up by the store's own engine (``make_engine``: WAL,
    ``synchronous=NORMAL``, its checkpoints, transactions begun by the statements themselves)."""
    engine = make_engine(f"sqlite:///{path}")
    pooled = engine.raw_connection()
    try:
        yield cast(sqlite3.Connection, pooled.driver_connection)
    finally:
        pooled.close()
        engine.dispose()


def _copy_store(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
        if Path(f"{source}{suffix}").exists() and suffix != "-shm":
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")


def _contents(path: Path) -> dict[str, str]:
    """A digest of each table's rows, in any order."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            table: hashlib.sha256(
                repr(sorted(map(repr, conn.execute(f'SELECT * FROM "{table}"')))).encode()
            ).hexdigest()
            for table in tables
        }
    finally:
        conn.close()
