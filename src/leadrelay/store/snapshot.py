"""Build the ``Snapshot`` that ``decide`` reads, from the store, inside the caller's transaction.

Reads ``route_state`` first, then the ledger and the counters: under PostgreSQL's READ COMMITTED
each statement sees the latest commits, so a lead given between those reads shows up as a
changed route sequence, and the routing transaction's compare-and-set on it fails and retries.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Connection, bindparam, or_, select

from leadrelay.domain.clock import local_view
from leadrelay.domain.snapshot import LedgerEntry, Snapshot
from leadrelay.store.org import Org
from leadrelay.store.tables import OPEN_PERIOD, rep_load, route_state, rr_ledger

# A month started at most 31 days ago, plus a day for time zones either side of UTC.
_LOOKBACK = timedelta(days=40)

_ROUTE_SEQS = select(route_state.c.route, route_state.c.seq)
_LEDGER = select(rr_ledger.c.route, rr_ledger.c.rep_id, rr_ledger.c.count, rr_ledger.c.last_seq)
_LOADS = select(rep_load.c.rep_id, rep_load.c.period, rep_load.c.period_start, rep_load.c.count)
_LOADS_AT = _LOADS.where(
    or_(
        rep_load.c.period == OPEN_PERIOD,
        rep_load.c.period_start.in_(bindparam("starts", expanding=True)),
    )
)
_LOADS_BETWEEN = _LOADS.where(
    or_(
        rep_load.c.period == OPEN_PERIOD,
        rep_load.c.period_start.between(bindparam("first"), bindparam("last")),
    )
)


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
        rows = conn.execute(_LOADS_AT, {"starts": sorted(_period_starts(org, now))})
    else:
        first = (min(now, through) - _LOOKBACK).date()
        last = (max(now, through) + timedelta(days=1)).date()
        rows = conn.execute(_LOADS_BETWEEN, {"first": first, "last": last})
    counters: dict[tuple[str, str, date], int] = {}
    open_leads: dict[str, int] = {}
    for rep_id, period, start, count in rows:
        if period == OPEN_PERIOD:
            open_leads[rep_id] = int(count)
        else:
            counters[(rep_id, period, start)] = int(count)
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


def _period_starts(org: Org, now: datetime) -> set[date]:
    zones = {rep.timezone for rep in org.reps.values()} or {"UTC"}
    starts: set[date] = set()
    for zone in zones:
        starts.update(local_view(now, zone)[1].values())
    return starts
