"""Build the ``Snapshot`` that ``decide`` reads, from the store, inside the caller's transaction.

Reads ``route_state`` first, then the ledger and the counters: under PostgreSQL's READ COMMITTED
each statement sees the latest commits, so a lead given between those reads shows up as a
changed route sequence, and the routing transaction's compare-and-set on it fails and retries.

``build_snapshot`` reads everything (bulk routing, dry runs). Live routing reads through a
``LiveCache``: one per engine, holding what the routing tables held after this process's last
routing transaction, so that a lead costs a few small reads instead of the whole ledger. A cached
view is only ever used after proving it exact, in this transaction:

- **SQLite, nothing written since**: ``PRAGMA data_version`` changes whenever another connection
  commits, and the connection's ``total_changes`` whenever it writes; both equal to what they
  were when this connection last committed a routing transaction from this view means nobody
  wrote anything since (and the write lock is held), so nothing is read at all.
- **Otherwise** (PostgreSQL, other processes or connections, other writes): one statement reads
  the org version, every route sequence and the counters of the current periods (they have no
  witness of change, so they are always read again). A changed org version rebuilds
  everything. Every change to a route's ledger rows goes with an increment of its sequence
  (``advance_route``, ``save_state``), so only the ledger rows of routes whose sequence moved
  are read again, after the sequences, as above.

On PostgreSQL that statement may be sent ahead (``LiveView.ask``), in the caller's pipeline
with its other questions, and its answer used by ``read``.

Either way the routing transaction's compare-and-set and capped upsert still decide every race,
exactly as with a snapshot read in full.

A routing transaction takes a view out of the cache (others meanwhile build their own), applies
its own writes to it (``LiveView.given``) and puts it back only after its commit succeeded; a
rolled-back one is dropped, or after a lost race kept to be checked again as above.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    and_,
    bindparam,
    cast,
    literal,
    null,
    or_,
    select,
    union_all,
)

from leadrelay.domain.clock import local_view
from leadrelay.domain.rep import zone
from leadrelay.domain.snapshot import NEVER, LedgerEntry, Snapshot
from leadrelay.store.engine import DriverSQL, run_driver_sql
from leadrelay.store.org import ORG_VERSION_KEY, Org, load_org
from leadrelay.store.tables import (
    OPEN_PERIOD,
    OPEN_START,
    meta,
    rep_load,
    route_state,
    rr_ledger,
)

# A month started at most 31 days ago, plus a day for time zones either side of UTC.
_LOOKBACK = timedelta(days=40)

_ROUTE_SEQS = select(route_state.c.route, route_state.c.seq)
_LEDGER = select(rr_ledger.c.route, rr_ledger.c.rep_id, rr_ledger.c.count, rr_ledger.c.last_seq)
_LOADS = select(rep_load.c.rep_id, rep_load.c.period, rep_load.c.period_start, rep_load.c.count)
# The open-lead counts. Every one starts at OPEN_START; saying so lets ``ix_rep_load_start``
# find them as it finds the counters of the period starts asked for beside them.
_OPEN_COUNTS = and_(rep_load.c.period_start == OPEN_START, rep_load.c.period == OPEN_PERIOD)
_LOADS_AT = _LOADS.where(
    or_(
        _OPEN_COUNTS,
        rep_load.c.period_start.in_(bindparam("starts", expanding=True)),
    )
)
_LOADS_BETWEEN = _LOADS.where(
    or_(
        _OPEN_COUNTS,
        rep_load.c.period_start.between(bindparam("first"), bindparam("last")),
    )
)

Counters = dict[tuple[str, str, date], int]
# The org version, route sequences, counters of some period starts and open-lead counts.
_Routing = tuple[str, dict[str, int], Counters, dict[str, int]]


def build_snapshot(
    conn: Connection, org: Org, now: datetime, *, through: datetime | None = None
) -> Snapshot:
    """What ``decide`` may read at ``now``.

    Counters are read for the periods that contain ``now`` in each rep's time zone; with
    ``through`` (bulk routing, which advances the snapshot in memory), for every period from
    ``now`` to ``through``.
    """
    route_seq = {route: int(seq) for route, seq in conn.execute(_ROUTE_SEQS)}
    ledger = {
        (route, rep_id): LedgerEntry(int(count), int(last_seq))
        for route, rep_id, count, last_seq in conn.execute(_LEDGER)
    }
    if through is None:
        rows = conn.execute(_LOADS_AT, {"starts": sorted(_period_starts(_zones(org), now))})
    else:
        first = (min(now, through) - _LOOKBACK).date()
        last = (max(now, through) + timedelta(days=1)).date()
        rows = conn.execute(_LOADS_BETWEEN, {"first": first, "last": last})
    counters: Counters = {}
    open_leads: dict[str, int] = {}
    for rep_id, period, start, count in rows:
        if period == OPEN_PERIOD:
            open_leads[rep_id] = int(count)
        else:
            counters[(rep_id, period, start)] = int(count)
    return _snapshot(org, now, counters, open_leads, ledger, route_seq)


def _snapshot(
    org: Org,
    now: datetime,
    counters: Counters,
    open_leads: dict[str, int],
    ledger: dict[tuple[str, str], LedgerEntry],
    route_seq: dict[str, int],
) -> Snapshot:
    return Snapshot(
        now=now,
        reps=org.reps,
        teams=org.teams,
        accounts_by_domain=org.accounts_by_domain,
        counters=counters,
        open_leads=open_leads,
        ledger=ledger,
        route_seq=route_seq,
        team_members=org.team_members,
    )


def _zones(org: Org) -> tuple[str, ...]:
    return tuple(sorted({rep.timezone for rep in org.reps.values()})) or ("UTC",)


def _local_days(zones: Iterable[str], now: datetime) -> tuple[date, ...]:
    """``now``'s date in each zone, in the zones' order: the period starts (``period_starts``)
    are a function of it, and it costs a tenth of them to work out."""
    return tuple([now.astimezone(zone(name)).date() for name in zones])


def _period_starts(zones: Iterable[str], now: datetime) -> set[date]:
    starts: set[date] = set()
    for name in zones:
        starts.update(local_view(now, name)[1].values())
    return starts


# --- live routing: a cache of the routing tables per engine ---------------------------------

_generations = itertools.count(1)
_MARK = "leadrelay_live_view"  # key in the DBAPI connection's info: see LiveView.read

_ALL_LEDGER = DriverSQL(_LEDGER)
_ROUTE_LEDGER = DriverSQL(
    select(rr_ledger.c.rep_id, rr_ledger.c.count, rr_ledger.c.last_seq).where(
        rr_ledger.c.route == bindparam("route")
    )
)
_DATA_VERSION = "PRAGMA data_version"


@dataclass(slots=True)
class _State:
    """The routing tables as this process last saw them (exactly), and the org at that time."""

    org: Org
    zones: tuple[str, ...]
    seqs: dict[str, int]
    ledger: dict[tuple[str, str], LedgerEntry]
    ledger_reps: dict[str, list[str]]  # reps with a ledger row, per route
    starts: frozenset[date] = frozenset()  # counters holds every row of these period starts
    days: tuple[date, ...] = ()  # the local day in each zone that ``starts`` are the periods of
    counters: Counters = field(default_factory=dict)
    open_leads: dict[str, int] = field(default_factory=dict)
    generation: int = 0


class LiveView:
    """One routing transaction's use of the cache: the snapshot it decides from (``read``),
    then what it wrote (``given``), kept by the cache once the transaction committed."""

    __slots__ = ("_asked", "_cache", "_data_version", "_sealed", "_state", "_taken")

    def __init__(self, cache: LiveCache) -> None:
        self._cache = cache
        self._state: _State | None = None
        self._data_version: int | None = None
        self._sealed = 0
        self._taken: _State | None = None  # taken from the cache by ``ask``, for ``read``
        self._asked: tuple[datetime, Any] | None = None  # (now, the proof's cursor)

    def ask(self, conn: Connection, now: datetime) -> None:
        """Send now the statement ``read(conn, now)`` will need (PostgreSQL, a cached view: its
        proof), without waiting for its answer: in a pipeline (``pipelined``) it rides in the
        same round trip as the caller's other questions. Elsewhere nothing is sent."""
        if self._state is not None or self._taken is not None:
            raise RuntimeError("LiveView.ask after ask or read")
        if conn.dialect.name != "postgresql":
            return
        state = self._taken = self._cache.take()
        if state is not None:
            starts = frozenset(_period_starts(state.zones, now))
            self._asked = (now, _ask_routing(conn, starts))

    def read(self, conn: Connection, now: datetime) -> tuple[Org, Snapshot]:
        """The org and an exact snapshot at ``now``, in ``conn``'s transaction (call it after
        ``lock_routing``, once; after ``ask`` at the same ``now`` if at all)."""
        if self._state is not None:
            raise RuntimeError("LiveView.read twice")
        state, self._taken = self._taken, None
        if state is None:
            state = self._cache.take()
        asked, self._asked = self._asked, None
        self._data_version = data_version = _data_version(conn)
        if state is None:
            state = _read_state(conn, now)
        elif data_version is None or conn.connection.info.get(_MARK) != (
            state.generation,
            data_version,
            _total_changes(conn),
        ):
            answer = None
            if asked is not None and asked[0] == now:
                answer = _routing_answer(conn, asked[1])
            state = _recheck(conn, state, now, answer)
        self._state = state
        self._move_to(conn, state, now)
        # decide gets copies: the cached dicts change only with this transaction's own writes
        snapshot = _snapshot(
            state.org,
            now,
            dict(state.counters),
            dict(state.open_leads),
            dict(state.ledger),
            dict(state.seqs),
        )
        return state.org, snapshot

    def same_periods(self, now: datetime) -> bool:
        """Whether the counters held are those of the periods containing ``now`` too (a group
        of leads is decided on one snapshot until a lead falls in another day somewhere)."""
        state = self._state
        if state is None:
            raise RuntimeError("LiveView.same_periods before read")
        days = _local_days(state.zones, now)
        if days == state.days:
            return True
        return frozenset(_period_starts(state.zones, now)) == state.starts

    def counters_at(self, conn: Connection, now: datetime) -> tuple[Counters, dict[str, int]]:
        """Copies of the counters of the periods containing ``now`` and of the open-lead counts,
        read again if those periods are others. The transaction's writes to ``rep_load`` must
        all have run (the store is read), and been given to ``given``."""
        state = self._state
        if state is None:
            raise RuntimeError("LiveView.counters_at before read")
        self._move_to(conn, state, now)
        return dict(state.counters), dict(state.open_leads)

    @staticmethod
    def _move_to(conn: Connection, state: _State, now: datetime) -> None:
        days = _local_days(state.zones, now)
        if days != state.days:  # a new day somewhere since the last lead: maybe other periods
            starts = frozenset(_period_starts(state.zones, now))
            if starts != state.starts:
                state.counters, state.open_leads = _read_counters(conn, starts)
                state.starts = starts
            state.days = days

    def given(
        self, route: str | None, rep_id: str, seq: int, starts: Mapping[str, date], n: int = 1
    ) -> None:
        """``n`` leads were given to ``rep_id`` in this transaction: ``route``'s sequence went
        to ``seq`` (``advance_route``, ``note_rotation``; the last of them) and they were counted
        under ``starts`` (``take_capacity``). Applies those writes to the cached tables, as
        ``Snapshot.record`` applies them to a snapshot."""
        state = self._state
        if state is None:
            raise RuntimeError("LiveView.given before read")
        if route is not None:
            old = state.ledger.get((route, rep_id))
            if old is None:
                old = NEVER
                state.ledger_reps.setdefault(route, []).append(rep_id)
            state.ledger[(route, rep_id)] = LedgerEntry(old.count + n, seq)
            state.seqs[route] = seq
        counters = state.counters
        for period, start in starts.items():
            if start in state.starts:  # rows of other period starts are not held
                key = (rep_id, period, start)
                counters[key] = counters.get(key, 0) + n
        state.open_leads[rep_id] = state.open_leads.get(rep_id, 0) + n

    def seal(self, conn: Connection) -> None:
        """The transaction's last write ran: note where this SQLite connection now stands."""
        if self._data_version is None or self._state is None:
            return
        self._sealed = next(_generations)
        conn.connection.info[_MARK] = (self._sealed, self._data_version, _total_changes(conn))

    def _end(self, committed: bool, recheck: bool) -> None:
        state, self._state = self._state or self._taken, None
        self._taken = self._asked = None
        if state is None:
            return
        if committed:
            state.generation = self._sealed or next(_generations)
            self._cache.put(state)
        elif recheck:
            state.generation = next(_generations)  # no connection's mark matches it now
            self._cache.put(state)


class LiveCache:
    """Cached routing tables for one engine: idle states, each taken by one transaction."""

    _MAX_IDLE = 4

    def __init__(self) -> None:
        self._idle: list[_State] = []
        self._lock = threading.Lock()

    @contextmanager
    def routing(
        self, *, recheck_on: type[BaseException] | tuple[type[BaseException], ...] = ()
    ) -> Iterator[LiveView]:
        """``with cache.routing() as view, engine.begin() as conn:`` a view for one routing
        transaction: kept if the block ends normally (after the commit), dropped if it raises;
        if it raises ``recheck_on`` (a lost race, raised before ``given``), kept but checked
        against the store before its next use."""
        view = LiveView(self)
        try:
            yield view
        except recheck_on:
            view._end(committed=False, recheck=True)
            raise
        except BaseException:
            view._end(committed=False, recheck=False)
            raise
        view._end(committed=True, recheck=False)

    def take(self) -> _State | None:
        with self._lock:
            return self._idle.pop() if self._idle else None

    def put(self, state: _State) -> None:
        with self._lock:
            if len(self._idle) < self._MAX_IDLE:
                self._idle.append(state)


def live_cache(engine: Engine) -> LiveCache:
    """The engine's cache of the routing tables (made on first use, gone with the engine)."""
    found = _caches.get(engine)
    if found is None:
        with _caches_lock:
            found = _caches.setdefault(engine, LiveCache())
    return found


_caches: weakref.WeakKeyDictionary[Engine, LiveCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _data_version(conn: Connection) -> int | None:
    """SQLite's ``PRAGMA data_version`` inside a write transaction; None elsewhere."""
    if conn.dialect.name != "sqlite":
        return None
    raw = conn.connection.dbapi_connection
    if not getattr(raw, "in_transaction", False):
        return None  # not an engine of ours (BEGIN IMMEDIATE): no proof of anything
    return int(run_driver_sql(conn, _DATA_VERSION).fetchone()[0])


def _total_changes(conn: Connection) -> int:
    """Rows this SQLite connection ever changed (rolled back or not)."""
    return int(conn.connection.dbapi_connection.total_changes)  # type: ignore[union-attr]


def _read_state(conn: Connection, now: datetime) -> _State:
    """Everything, from scratch: the org, then route sequences and counters, then the ledger."""
    org = load_org(conn)
    zones = _zones(org)
    starts = frozenset(_period_starts(zones, now))
    _, seqs, counters, open_leads = _read_routing(conn, starts)
    days = _local_days(zones, now)
    ledger: dict[tuple[str, str], LedgerEntry] = {}
    ledger_reps: dict[str, list[str]] = {}
    for route, rep_id, count, last_seq in _ALL_LEDGER.run(conn, {}).fetchall():
        ledger[(route, rep_id)] = LedgerEntry(int(count), int(last_seq))
        ledger_reps.setdefault(route, []).append(rep_id)
    return _State(org, zones, seqs, ledger, ledger_reps, starts, days, counters, open_leads)


def _recheck(
    conn: Connection, state: _State, now: datetime, answer: _Routing | None = None
) -> _State:
    """``state`` made exact again: the org version, every route sequence and the counters at
    ``now`` in one statement (or its ``answer``, asked already), then the ledger rows of the
    routes whose sequence moved; another org version starts from scratch."""
    starts = frozenset(_period_starts(state.zones, now))
    version, seqs, counters, open_leads = _read_routing(conn, starts) if answer is None else answer
    if not version or version != state.org.version:
        return _read_state(conn, now)
    old = state.seqs
    for route in old.keys() | seqs.keys():
        if old.get(route) != seqs.get(route):
            _read_route_ledger(conn, state, route)
    state.seqs = seqs
    state.starts, state.counters, state.open_leads = starts, counters, open_leads
    state.days = _local_days(state.zones, now)
    return state


def _read_route_ledger(conn: Connection, state: _State, route: str) -> None:
    ledger = state.ledger
    for rep_id in state.ledger_reps.pop(route, ()):
        del ledger[(route, rep_id)]
    reps = []
    for rep_id, count, last_seq in _ROUTE_LEDGER.run(conn, {"route": route}).fetchall():
        ledger[(route, rep_id)] = LedgerEntry(int(count), int(last_seq))
        reps.append(rep_id)
    if reps:
        state.ledger_reps[route] = reps


_ORG_VERSION, _ROUTE_SEQ, _COUNTER = 0, 1, 2  # what a row of _routing_sql is


def _read_routing(conn: Connection, starts: frozenset[date]) -> _Routing:
    """The org version, every route sequence, every counter row of these period starts and
    every open-lead count: one statement (one round trip on PostgreSQL)."""
    return _routing_answer(conn, _ask_routing(conn, starts))


def _ask_routing(conn: Connection, starts: frozenset[date]) -> Any:
    """``_read_routing``'s statement, sent; its cursor."""
    ordered = sorted(starts)
    params: dict[str, Any] = {f"s{i}": start for i, start in enumerate(ordered)}
    params["key"] = ORG_VERSION_KEY
    return _routing_sql(len(ordered)).run(conn, params)


def _routing_answer(conn: Connection, cursor: Any) -> _Routing:
    as_date = _date_result(conn)
    version = ""
    seqs: dict[str, int] = {}
    counters: Counters = {}
    open_leads: dict[str, int] = {}
    for kind, name, period, start, count in cursor.fetchall():
        if kind == _COUNTER:
            if period == OPEN_PERIOD:
                open_leads[name] = int(count)
            else:
                counters[(name, period, start if as_date is None else as_date(start))] = int(count)
        elif kind == _ROUTE_SEQ:
            seqs[name] = int(count)
        else:
            version = name
    return version, seqs, counters, open_leads


def _read_counters(conn: Connection, starts: frozenset[date]) -> tuple[Counters, dict[str, int]]:
    """Every counter row of these period starts, and every open-lead count."""
    return _read_routing(conn, starts)[2:]


@cache
def _routing_sql(n: int) -> DriverSQL:
    at_starts = or_(
        _OPEN_COUNTS,
        rep_load.c.period_start.in_([bindparam(f"s{i}", type_=Date()) for i in range(n)]),
    )
    # typed NULLs: PostgreSQL types a UNION's columns from its first branches
    no_period, no_start = cast(null(), rep_load.c.period.type), cast(null(), Date())
    return DriverSQL(
        union_all(
            select(literal(_ORG_VERSION), meta.c.value, no_period, no_start, literal(0)).where(
                meta.c.key == bindparam("key")
            ),
            select(
                literal(_ROUTE_SEQ), route_state.c.route, no_period, no_start, route_state.c.seq
            ),
            select(literal(_COUNTER), *_LOADS.selected_columns).where(at_starts),
        )
    )


def _date_result(conn: Connection) -> Callable[[Any], Any] | None:
    """How the driver's value of a DATE column becomes a ``date`` (SQLite: from text)."""
    return rep_load.c.period_start.type._cached_result_processor(conn.dialect, None)
