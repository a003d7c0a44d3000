"""Idempotency-Key records: a retried request gets the first response, never a second routing.

The first request with a key claims it by inserting its row (the primary key makes a second
claim fail), runs, then stores its response. A retry with the same key and the same body gets
that response; with another body it is refused; while the first is still running it is told to
retry later. A claim whose request failed is released, so a corrected retry can run. A claim
left behind by a crashed process can be taken over after ``STALE_AFTER``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update
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
    row = conn.execute(select(keys).where(*where)).first()
    if row is None:  # released between our insert and our read: try once more
        return claim(conn, key, caller, digest, now=now)
    if row.request_digest != digest:
        return Mismatch()
    if row.status_code is not None:
        return Replay(int(row.status_code), row.response)
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


def release(conn: Connection, key: str, caller: int) -> None:
    conn.execute(
        delete(keys).where(
            keys.c.key == key, keys.c.api_key_id == caller, keys.c.status_code.is_(None)
        )
    )
