"""Running a live routing transaction again after a lost race: the one retry loop.

Live routing decides on a snapshot and then claims what it decided (a route's next place, cap
slots) with compare-and-set writes; a writer the routing lock does not hold back may have moved
first (routers themselves hold it exclusively, so the claims are the second guard). The whole
transaction is then run again on a fresh view, after a short jittered pause, as are
PostgreSQL's serialization failures and deadlocks. Anything else is the caller's error to see.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from leadrelay.errors import StoreError
from leadrelay.store.engine import busy_error, lock_routing, safe_url
from leadrelay.store.snapshot import LiveView, live_cache

T = TypeVar("T")

# How often a transaction is run again after losing a race, and the longest pause between
# tries (jittered, growing from 1 ms): enough for dozens of routers contending for one route.
ROUTE_ATTEMPTS = 60
_MAX_BACKOFF_S = 0.05
# PostgreSQL serialization failure and deadlock: safe to retry the whole transaction.
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})


class LostRaceError(Exception):
    """The rotation or a cap counter moved since the snapshot; decide again."""


def retrying(
    engine: Engine,
    attempt: Callable[[], T],
    *,
    what: str,
    on_integrity: Callable[[IntegrityError], T | None] | None = None,
) -> T:
    """``attempt()`` (one whole transaction) until it does not lose a race.

    ``on_integrity``: what a unique-index clash means to this caller; it returns the answer,
    None to try again, or raises. Without it, the clash is raised. ``what`` names the work in
    the error when every attempt lost.
    """
    for tries in range(ROUTE_ATTEMPTS):
        try:
            return attempt()
        except LostRaceError:
            pass
        except IntegrityError as exc:
            if on_integrity is None:
                raise
            answer = on_integrity(exc)
            if answer is not None:
                return answer
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) not in _RETRY_SQLSTATES:
                busy = busy_error(engine, exc)
                if busy is not None:
                    raise busy from exc
                raise
        time.sleep(random.uniform(0, min(_MAX_BACKOFF_S, 0.001 * 2**tries)))
    raise StoreError(
        f"could not {what} on {safe_url(engine.url)}: lost the race for a route or cap"
        f" {ROUTE_ATTEMPTS} times in a row"
    )


def routing_transaction(
    engine: Engine,
    work: Callable[[Connection, LiveView], T],
    *,
    what: str,
    on_integrity: Callable[[IntegrityError], T | None] | None = None,
) -> T:
    """Run ``work`` in a live routing transaction: the routing lock held exclusively (every
    transaction that decides takes it so: ``lock_routing``), a ``LiveView`` to read the
    snapshot from; again from the start after a lost race (``retrying``)."""
    cache = live_cache(engine)

    def attempt() -> T:
        with cache.routing(recheck_on=LostRaceError) as live, engine.begin() as conn:
            lock_routing(conn, exclusive=True)
            return work(conn, live)

    return retrying(engine, attempt, what=what, on_integrity=on_integrity)
