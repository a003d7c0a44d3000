"""Route sequences, cap counters and the snapshot built from them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select
from tests.builders import NOON
from tests.store_checks import rep_days

from leadrelay.domain import Caps, LedgerEntry, Rep, period_starts
from leadrelay.store import build_snapshot, load_org, save_reps
from leadrelay.store.routing import (
    add_open,
    advance_route,
    claim_all,
    note_rotation,
    note_rotations,
    take_capacity,
)
from leadrelay.store.tables import rep_load, rr_ledger


def _counts(engine: Engine, rep_id: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(rep_load.c.period, rep_load.c.count).where(rep_load.c.rep_id == rep_id)
        )
        return {period: count for period, count in rows}


def test_capacity_is_taken_only_while_under_every_cap(engine: Engine) -> None:
    starts = period_starts(NOON, "UTC")
    caps = Caps(per_day=None, per_week=2)
    taken = []
    for _ in range(3):
        with engine.begin() as conn:
            ok = take_capacity(conn, "ana", starts, caps)
            taken.append(ok)
            if not ok:
                conn.rollback()
    assert taken == [True, True, False]
    assert _counts(engine, "ana") == {"day": 2, "week": 2, "month": 2, "open": 2}


def test_a_zero_cap_gives_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        assert not take_capacity(conn, "ana", period_starts(NOON, "UTC"), Caps(per_month=0))


def test_the_route_sequence_moves_only_from_the_value_seen(engine: Engine) -> None:
    with engine.begin() as conn:
        assert advance_route(conn, "inbound", 0) == 1
        assert advance_route(conn, "inbound", 0) is None  # someone else moved it first
        assert advance_route(conn, "inbound", 1) == 2
        assert advance_route(conn, "inbound", 1) is None


def test_claims_made_together_hold_only_if_every_one_holds(engine: Engine) -> None:
    """``claim_all`` (one round trip on PostgreSQL): sequences move from the values seen and
    capacity is taken within every cap; any claim that does not hold fails the whole call."""
    starts = period_starts(NOON, "UTC")
    with engine.begin() as conn:
        assert claim_all(conn, [("a", 0, 2)], [("ana", starts, Caps(per_day=3), 2)]) == {"a": 2}
        assert claim_all(
            conn, [("a", 2, 1), ("b", 0, 1)], [("ana", starts, Caps(per_day=3), 1)]
        ) == {"a": 3, "b": 1}
    assert _counts(engine, "ana") == {"day": 3, "week": 3, "month": 3, "open": 3}
    for routes, loads in (
        ([("a", 2, 1)], [("bo", starts, Caps(), 1)]),  # "a" moved on since 2
        ([("a", 3, 1)], [("ana", starts, Caps(per_day=3), 1)]),  # ana is at her daily cap
        ([("a", 3, 1)], [("bo", starts, Caps(per_week=1), 2)]),  # two can never fit a cap of 1
    ):
        with engine.begin() as conn:
            assert claim_all(conn, routes, loads) is None
            conn.rollback()
    assert _counts(engine, "ana") == {"day": 3, "week": 3, "month": 3, "open": 3}
    assert _counts(engine, "bo") == {}


def test_claims_of_many_routes_and_reps_together_hold_only_if_every_one_holds(
    engine: Engine,
) -> None:
    """Several routes and reps in one ``claim_all`` (on PostgreSQL each kind is one statement
    for them all): each moves or counts as alone, and one that does not hold fails the call."""
    starts = period_starts(NOON, "UTC")
    later = period_starts(NOON.replace(day=NOON.day + 1), "UTC")
    caps = {"ana": Caps(per_day=2), "bo": Caps(per_week=5), "cy": Caps()}
    with engine.begin() as conn:
        assert claim_all(
            conn,
            [("a", 0, 1), ("b", 0, 1), ("c", 0, 2)],
            [(rep, starts, caps[rep], 1) for rep in ("ana", "bo", "cy")],
        ) == {"a": 1, "b": 1, "c": 2}
        assert claim_all(
            conn,
            [("a", 1, 2), ("b", 1, 1), ("c", 2, 1), ("d", 0, 1)],
            [("ana", starts, caps["ana"], 1), ("bo", starts, caps["bo"], 3)],
        ) == {"a": 3, "b": 2, "c": 3, "d": 1}
    assert _counts(engine, "ana") == {"day": 2, "week": 2, "month": 2, "open": 2}
    assert _counts(engine, "bo") == {"day": 4, "week": 4, "month": 4, "open": 4}
    for routes, loads in (
        ([("a", 3, 1), ("b", 1, 1)], [("cy", starts, caps["cy"], 1)]),  # "b" is at 2
        ([("a", 3, 1), ("b", 2, 1)], [(r, starts, caps[r], 1) for r in ("ana", "cy")]),  # ana full
        ([("a", 3, 1), ("b", 2, 1)], [(r, starts, caps[r], 2) for r in ("bo", "cy")]),  # bo: 6 > 5
    ):
        with engine.begin() as conn:
            assert claim_all(conn, routes, loads) is None
            conn.rollback()
    # the same rep for two days (a group spanning midnight) is two claims
    with engine.begin() as conn:
        both = [("cy", starts, caps["cy"], 1), ("cy", later, caps["cy"], 1)]
        assert claim_all(conn, [("a", 3, 1), ("b", 2, 1)], both) == {"a": 4, "b": 3}
    assert _counts(engine, "ana") == {"day": 2, "week": 2, "month": 2, "open": 2}
    assert _counts(engine, "bo") == {"day": 4, "week": 4, "month": 4, "open": 4}
    assert rep_days(engine, "cy") == {starts["day"]: 2, later["day"]: 1}


def test_rotations_noted_together_equal_rotations_noted_one_by_one(engine: Engine) -> None:
    at = datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=UTC)
    entries = [("r", "ana", 3, at, 2), ("r", "bo", 4, at, 1), ("s", "ana", 1, at, 1)]
    with engine.begin() as conn:
        for route in ("r", "one-r"):  # before: a row to add to
            note_rotation(conn, route, "ana", 1, at)
        note_rotations(conn, entries)
        for route, rep_id, seq, moment, n in entries:
            note_rotation(conn, "one-" + route, rep_id, seq, moment, n)
    with engine.connect() as conn:
        rows = {
            (route, rep): (count, seq, moment)
            for route, rep, count, seq, moment in conn.execute(select(rr_ledger))
        }
    assert rows[("r", "ana")] == (3, 3, at)
    for (route, rep), values in rows.items():
        if not route.startswith("one-"):
            assert rows[("one-" + route, rep)] == values


def test_rotations_noted_together_store_the_instant_and_refuse_a_naive_moment(
    engine: Engine,
) -> None:
    east = datetime(2026, 11, 25, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    naive = datetime(2026, 11, 25, 9, 30)
    with pytest.raises(ValueError, match="without a time zone"), engine.begin() as conn:
        note_rotations(conn, [("r", "ana", 1, east, 1), ("r", "bo", 2, naive, 1)])
    with engine.begin() as conn:
        note_rotations(conn, [("r", "ana", 1, east, 1), ("r", "bo", 2, east, 1)])
    with engine.connect() as conn:
        moments = conn.execute(select(rr_ledger.c.last_assigned_at)).scalars().all()
    assert moments == [east, east]  # the same instant (stored as UTC)


def test_snapshot_reads_counters_of_the_periods_now_falls_in_for_each_rep(engine: Engine) -> None:
    now = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # already the 26th in Auckland
    with engine.begin() as conn:
        save_reps(conn, [Rep(id="kiri", timezone="Pacific/Auckland"), Rep(id="ana")])
        conn.execute(
            rep_load.insert(),
            [
                {"rep_id": "kiri", "period": "day", "period_start": date(2026, 11, 26), "count": 4},
                {"rep_id": "kiri", "period": "day", "period_start": date(2026, 11, 25), "count": 9},
                {"rep_id": "ana", "period": "day", "period_start": date(2026, 11, 25), "count": 3},
                {"rep_id": "ana", "period": "month", "period_start": date(2026, 11, 1), "count": 7},
                {"rep_id": "ana", "period": "month", "period_start": date(2026, 1, 1), "count": 70},
            ],
        )
        add_open(conn, "ana", 5)
        note_rotation(conn, "inbound", "ana", 1, now)
        advance_route(conn, "inbound", 0)
    with engine.connect() as conn:
        org = load_org(conn)
        snap = build_snapshot(conn, org, now)
        wide = build_snapshot(conn, org, now, through=datetime(2026, 12, 3, tzinfo=UTC))
    kiri, ana = org.reps["kiri"], org.reps["ana"]
    assert snap.count(kiri, "day") == 4
    assert snap.count(ana, "day") == 3
    assert snap.count(ana, "month") == 7
    assert ("ana", "month", date(2026, 1, 1)) not in snap.counters
    assert ("ana", "month", date(2026, 1, 1)) not in wide.counters
    assert ("kiri", "day", date(2026, 11, 25)) in wide.counters
    assert snap.open_leads == {"ana": 5}
    assert snap.ledger == {("inbound", "ana"): LedgerEntry(1, 1)}
    assert snap.route_seq == {"inbound": 1}
