"""Idempotency-Key records: a retried request gets the first response, never a second routing.

The first request with a key claims it by inserting its row (the primary key makes a second
claim fail), runs, then stores its response. A retry with the same key and the same body gets
that response; with another body it is refused; while the first is still running it is told to
retry later. A claim whose request failed is released, so a corrected retry can run.

A claim left behind by a process that died mid-request: on PostgreSQL the claiming process
holds a session advisory lock on the key while the request runs (on one connection per process
kept for that, ``_Holders``); PostgreSQL drops it with the connection when the process dies, so a
retry that gets the lock knows the holder is gone and takes the claim over at once. On SQLite
(one process) a claim is taken over when it is ``STALE_AFTER`` old.
"""

from __future__ import annotations

import threading
import time
import weakref
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from leadrelay.store.tables import idempotency_keys as keys

STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Claimed:
    """This request holds the key: run it, then ``finish`` (or ``release`` on failure)."""


@dataclass(frozen=True, slots=True)
class Replay:
    status_code: int
    response: Any


@dataclass(frozen=True, slots=True)
class InFlight:
    """A request with this key is still running."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The key was used before with another request body."""


Claim = Claimed | Replay | InFlight | Mismatch


def claim(conn: Connection, key: str, caller: int, digest: str, *, now: datetime) -> Claim:
    """Claim ``key`` for caller ``caller`` and a request body with SHA-256 ``digest``."""
    holders = _holders(conn)
    if holders is None:
        return _claim(conn, key, caller, digest, now)
    name = f"{caller}:{key}"
    if not holders.hold(name):
        return InFlight()  # a live request holds the key (in this process or another)
    try:
        # holding the key's lock: any unfinished claim's holder is gone
        result = _claim(conn, key, caller, digest, now, held=True)
    except BaseException:
        holders.drop(name)
        raise
    if not isinstance(result, Claimed):
        holders.drop(name)
    return result


def _claim(
    conn: Connection, key: str, caller: int, digest: str, now: datetime, *, held: bool = False
) -> Claim:
    """Insert the claim, or read the one there: its replay, a mismatch, or (``held``: its
    holder is known gone; else once it is stale) the claim taken over."""
    try:
        with conn.begin_nested():
            conn.execute(
                keys.insert().values(
                    key=key, api_key_id=caller, request_digest=digest, created_at=now
                )
            )
        return Claimed()
    except IntegrityError:
        pass
    where = (keys.c.key == key, keys.c.api_key_id == caller)
    stmt = select(keys).where(*where)
    # FOR UPDATE waits for a holder's finish (or release) that is not committed yet.
    row = conn.execute(stmt.with_for_update() if held else stmt).first()
    if row is None:  # released between our insert and our read: try once more
        return _claim(conn, key, caller, digest, now, held=held)
    if row.request_digest != digest:
        return Mismatch()
    if row.status_code is not None:
        return Replay(int(row.status_code), row.response)
    if held:
        conn.execute(update(keys).where(*where).values(created_at=now))
        return Claimed()
    if now - row.created_at < STALE_AFTER:
        return InFlight()
    taken = conn.execute(
        update(keys).where(*where, keys.c.created_at == row.created_at).values(created_at=now)
    ).rowcount
    return Claimed() if taken == 1 else InFlight()


def finish(conn: Connection, key: str, caller: int, status_code: int, response: Any) -> None:
    conn.execute(
        update(keys)
        .where(keys.c.key == key, keys.c.api_key_id == caller)
        .values(status_code=status_code, response=response)
    )
    _drop(conn, key, caller)


def release(conn: Connection, key: str, caller: int) -> None:
    conn.execute(
        delete(keys).where(
            keys.c.key == key, keys.c.api_key_id == caller, keys.c.status_code.is_(None)
        )
    )
    _drop(conn, key, caller)


def _drop(conn: Connection, key: str, caller: int) -> None:
    # Before the caller commits: a retry that gets the lock now waits on the row (FOR UPDATE).
    holders = _holders(conn)
    if holders is not None:
        holders.drop(f"{caller}:{key}")


class _Holders:
    """The keys this process's requests hold: a session advisory lock each, on one connection
    of the engine's kept for that. A key held here longer than ``STALE_AFTER`` (its request
    could not release it: the database went away) is given up."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._raw: Any = None
        self._held: dict[str, float] = {}

    def hold(self, name: str) -> bool:
        with self._lock:
            since = self._held.get(name)
            if since is not None:
                if time.monotonic() - since < STALE_AFTER.total_seconds():
                    return False
                self._unlock(name)
            try:
                got = bool(self._run("SELECT pg_try_advisory_lock(hashtextextended(%s, 11))", name))
            except Exception:
                self._reset()
                raise
            if got:
                self._held[name] = time.monotonic()
            return got

    def drop(self, name: str) -> None:
        with self._lock:
            if self._held.pop(name, None) is not None:
                self._unlock(name)

    def _unlock(self, name: str) -> None:
        self._held.pop(name, None)
        try:
            self._run("SELECT pg_advisory_unlock(hashtextextended(%s, 11))", name)
        except Exception:
            self._reset()  # the connection is gone, and its locks with it

    def _run(self, sql: str, name: str) -> Any:
        if self._raw is None:
            self._raw = self._engine.raw_connection()
            self._raw.driver_connection.autocommit = True
        cursor = self._raw.cursor()
        try:
            cursor.execute(sql, (name,))
            return cursor.fetchone()[0]
        finally:
            cursor.close()

    def _reset(self) -> None:
        raw, self._raw = self._raw, None
        self._held.clear()
        if raw is not None:
            with suppress(Exception):  # it is being thrown away
                raw.invalidate()


_HOLDERS: weakref.WeakKeyDictionary[Engine, _Holders] = weakref.WeakKeyDictionary()
_HOLDERS_LOCK = threading.Lock()


def _holders(conn: Connection) -> _Holders | None:
    if conn.dialect.name != "postgresql":
        return None
    engine = conn.engine
    with _HOLDERS_LOCK:
        holders = _HOLDERS.get(engine)
        if holders is None:
            holders = _HOLDERS[engine] = _Holders(engine)
        return holders
