"""Leads with their decisions and assignments: writing them in batches, reading them back.

Live routing writes one lead at a time through ``DriverSQL`` (the same compiled statements and
bind processing as Core, without its per-execute overhead), and serialises the decision body
with orjson, which decodes to exactly the data ``json`` would have written (see
``decision_json``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Column, Connection, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY

from leadrelay.domain.decision import Decision, Status
from leadrelay.domain.lead import LEAD_FIELDS, Lead
from leadrelay.errors import UnknownNameError
from leadrelay.store.engine import DriverSQL, bind_processor, run_together
from leadrelay.store.tables import (
    ASSIGNMENT_STATUSES,
    assignments,
    decisions,
    events,
    leads,
    rr_ledger,
)

ROUTED = "routed"  # events.kind of the decision that placed a lead
_IN_CHUNK = 5_000  # ids per IN (...) list


@dataclass(frozen=True, slots=True)
class LedgerRow:
    route: str
    rep_id: str
    count: int
    last_seq: int
    last_assigned_at: datetime


def lead_row(lead: Lead, decision: Decision) -> dict[str, Any]:
    """The ``leads`` row for a lead and what was decided about it."""
    row: dict[str, Any] = {name: getattr(lead, name) for name in LEAD_FIELDS}
    row["external_id"] = lead.external_id or None  # '' is no id, not a unique one
    row["attributes"] = dict(lead.attributes)
    screening = decision.screening
    row.update(
        status=decision.status.value,
        owner=decision.owner,
        team=decision.team,
        pool=decision.pool,
        route=decision.route,
        strategy=decision.strategy,
        policy_revision=decision.policy_version,
        decided_at=decision.decided_at,
        score=screening.score,
        value_slab=screening.value_slab,
        priority=screening.priority,
        duplicate_of=decision.duplicate_of,
        account=decision.account,
        experiment=decision.experiment,
        arm=decision.arm,
    )
    return row


def holds_assignment(decision: Decision) -> bool:
    """Whether the lead gets an assignment row (screened-out leads and duplicates do not)."""
    return decision.status.value in ASSIGNMENT_STATUSES


_INSERT_LEAD = insert(leads).returning(leads.c.id)
_INSERT_MANY = insert(leads)
_INSERT_DECISIONS = insert(decisions)
_INSERT_ASSIGNMENTS = insert(assignments)
_INSERT_EVENTS = insert(events)
_MAX_ID = select(func.coalesce(func.max(leads.c.id), 0))
# Live routing's single-lead writes (columns: those of the row given, as with Core).
_INSERT_ONE = DriverSQL(lambda dialect: _INSERT_MANY if dialect == "sqlite" else _INSERT_LEAD)
_INSERT_ROWS = DriverSQL(_INSERT_MANY, rows_as_json=True)
_INSERT_DECISION = DriverSQL(_INSERT_DECISIONS, as_is=("body",), rows_as_json=True)
_INSERT_ASSIGNMENT = DriverSQL(_INSERT_ASSIGNMENTS, rows_as_json=True)
_INSERT_EVENT = DriverSQL(_INSERT_EVENTS, as_is=("data",), rows_as_json=True)
_NEXT_IDS = DriverSQL(
    text("SELECT nextval(pg_get_serial_sequence('leads', 'id')) FROM generate_series(1, :n)")
)


def ask_lead_ids(conn: Connection, n: int) -> Callable[[], list[int]]:
    """Ids for ``n`` leads this transaction will insert, asked now and answered when the
    result is called (in a pipeline: no round trip of its own). PostgreSQL: from the sequence
    (ids left unused are gaps, as after a rollback); SQLite: after the largest, safe because a
    SQLite write transaction excludes every other writer."""
    if conn.dialect.name == "postgresql":
        cursor = _NEXT_IDS.run(conn, {"n": n})
        return lambda: [int(i) for (i,) in cursor.fetchall()]
    first = int(conn.scalar(_MAX_ID) or 0) + 1
    ids = list(range(first, first + n))
    return lambda: ids


def insert_lead(conn: Connection, lead: Lead, decision: Decision) -> int:
    """Insert one lead row (``lead_row``); its new id."""
    cursor = _INSERT_ONE.run(conn, lead_row(lead, decision))
    if conn.dialect.name == "sqlite":
        return int(cursor.lastrowid)  # the rowid: 8 us cheaper than RETURNING
    return int(cursor.fetchone()[0])


def insert_outcomes(conn: Connection, lead_ids: Sequence[int], decided: Sequence[Decision]) -> None:
    """Decision bodies, assignments and 'routed' events for leads just inserted (bodies
    serialised as ``decision_json`` does): on PostgreSQL one statement for the three tables."""
    run_together(conn, _outcome_rows(conn, lead_ids, decided))


def insert_routed(
    conn: Connection,
    rows: Sequence[dict[str, Any]],
    decided: Sequence[Decision],
    ids: Sequence[int] | None = None,
) -> list[int]:
    """Lead rows (with ``ids``, or new ones from ``ask_lead_ids``) with their outcomes as
    ``insert_outcomes`` writes them; on PostgreSQL one statement for the four tables (ids
    taken first: 3x faster than INSERT ... RETURNING for many rows). Their ids, in the order
    given."""
    if not rows:
        return []
    if ids is None:
        ids = ask_lead_ids(conn, len(rows))()
    run_together(
        conn,
        [
            (_INSERT_ROWS, [row | {"id": i} for row, i in zip(rows, ids, strict=True)]),
            *_outcome_rows(conn, ids, decided),
        ],
    )
    return list(ids)


def _outcome_rows(
    conn: Connection, lead_ids: Sequence[int], decided: Sequence[Decision]
) -> list[tuple[DriverSQL, list[dict[str, Any]]]]:
    pairs = list(zip(lead_ids, decided, strict=True))
    return [
        (_INSERT_DECISION, [{"lead_id": i, "body": decision_json(conn, d)} for i, d in pairs]),
        (_INSERT_ASSIGNMENT, [assignment_row(i, d) for i, d in pairs if holds_assignment(d)]),
        (_INSERT_EVENT, [_routed_event(i, d) for i, d in pairs]),
    ]


def _routed_event(lead_id: int, decision: Decision) -> dict[str, Any]:
    """``event_row`` with its data serialised already: orjson writes its str, int and None
    values as ``json`` would, five times faster."""
    row = event_row(lead_id, decision)
    row["data"] = orjson.dumps(row["data"]).decode()
    return row


def assignment_row(lead_id: int, decision: Decision) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "status": decision.status.value,
        "owner": decision.owner,
        "team": decision.team,
        "pool": decision.pool,
        "route": decision.route,
        "strategy": decision.strategy,
        "policy_revision": decision.policy_version,
        "assigned_at": decision.decided_at,
    }


def event_row(lead_id: int, decision: Decision) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "kind": ROUTED,
        "at": decision.decided_at,
        "data": {
            "status": decision.status.value,
            "owner": decision.owner,
            "route": decision.route,
            "policy_revision": decision.policy_version,
        },
    }


def decision_json(conn: Connection, decision: Decision) -> Any:
    """The ``decisions.body`` value for ``decision`` (``Decision.to_stored``), serialised already.

    orjson when that decodes to exactly what ``json`` gives: it does for str keys, str, int,
    bool, None and finite floats (both write the shortest text that reads back as the same
    float), which is what ``Decision.to_stored`` holds; it writes NaN and infinities as null, so
    a decision holding one (and anything orjson refuses) goes through the engine's serializer.
    """
    body = decision.to_stored()
    if _finite(decision):
        try:
            return orjson.dumps(body).decode()
        except TypeError:  # orjson.JSONEncodeError: a type or value it will not write
            pass
    process = bind_processor(decisions.c.body.type, conn.dialect)
    return body if process is None else process(body)


def _finite(decision: Decision) -> bool:
    """Whether every float in the decision is finite (a sum is finite only if all its terms
    are; an overflowing sum only costs the slower serializer)."""
    screening = decision.screening
    try:
        total = screening.score + sum(step.points for step in screening.steps)
        for trial in decision.trials:
            for candidate in trial.candidates:
                if candidate.score is not None:
                    total += candidate.score
                if candidate.factors:
                    total += sum(candidate.factors.values())
    except TypeError:
        return False
    return math.isfinite(total)


def get_lead(conn: Connection, lead_id: int) -> Lead:
    """The stored lead, with its id; UnknownNameError if there is none."""
    row = conn.execute(select(leads).where(leads.c.id == lead_id)).first()
    if row is None:
        raise UnknownNameError(f"no lead {lead_id}")
    values = {name: getattr(row, name) for name in LEAD_FIELDS}
    return Lead(**values, attributes=dict(row.attributes or {}), id=int(row.id))


def get_decision(conn: Connection, lead_id: int) -> Decision:
    """What was decided about a lead, as stored; UnknownNameError if there is no such lead."""
    body = conn.scalar(select(decisions.c.body).where(decisions.c.lead_id == lead_id))
    if body is None:
        raise UnknownNameError(f"no decision stored for lead {lead_id}")
    return Decision.from_dict(body)


def get_decisions(conn: Connection, lead_ids: Iterable[int]) -> dict[int, Decision]:
    found: dict[int, Decision] = {}
    for chunk in _chunks(list(lead_ids)):
        for row in conn.execute(
            select(decisions.c.lead_id, decisions.c.body).where(decisions.c.lead_id.in_(chunk))
        ):
            found[int(row.lead_id)] = Decision.from_dict(row.body)
    return found


_BY_EXTERNAL_ID = select(leads.c.id).where(leads.c.external_id == bindparam("ext"))
_BY_EXTERNAL_ID_SQL = DriverSQL(_BY_EXTERNAL_ID)


def find_by_external_id(conn: Connection, external_id: str) -> int | None:
    found = _BY_EXTERNAL_ID_SQL.run(conn, {"ext": external_id}).fetchone()
    return None if found is None else int(found[0])


# PostgreSQL: one statement for any number of ids, probing the unique index id by id, planned
# at every run. A prepared plan is made once, for the table as it was then: made while the
# table was young it scans the whole table (a hash join) for every group, whatever the form
# (``IN``, ``= ANY``, this join). Measured in groups of 16 on a table growing to 17,000 leads:
# 7.5 million rows read in 954 scans.
_EXTERNAL = (
    func.unnest(bindparam("ids", type_=ARRAY(leads.c.external_id.type)))
    .table_valued("ext")
    .render_derived(name="wanted")
)
_BY_EXTERNAL_IDS_PG = DriverSQL(
    select(leads.c.external_id, leads.c.id).join(_EXTERNAL, leads.c.external_id == _EXTERNAL.c.ext),
    fresh_plan=True,
)


def find_by_external_ids(conn: Connection, external_ids: Iterable[str]) -> dict[str, int]:
    """Stored lead ids of those external ids that are stored."""
    return ask_external_ids(conn, external_ids)()


def ask_external_ids(conn: Connection, external_ids: Iterable[str]) -> Callable[[], dict[str, int]]:
    """``find_by_external_ids``, asked now and answered when the result is called: on
    PostgreSQL in a pipeline (``pipelined``) it needs no round trip of its own."""
    chunks = list(_chunks(list(external_ids)))
    if conn.dialect.name == "postgresql":
        cursors = [_BY_EXTERNAL_IDS_PG.run(conn, {"ids": chunk}) for chunk in chunks]
        return lambda: {ext: int(i) for cursor in cursors for ext, i in cursor.fetchall()}
    found = {
        ext: int(i)
        for chunk in chunks
        for ext, i in conn.execute(
            select(leads.c.external_id, leads.c.id).where(leads.c.external_id.in_(chunk))
        )
    }
    return lambda: found


def active_assignments(conn: Connection, lead_id: int) -> list[dict[str, Any]]:
    """The lead's active assignment rows (the database allows at most one)."""
    return [
        dict(row._mapping)
        for row in conn.execute(
            select(assignments).where(
                assignments.c.lead_id == lead_id, assignments.c.ended_at.is_(None)
            )
        )
    ]


def ledger(conn: Connection, route: str | None = None) -> list[LedgerRow]:
    """The round-robin ledger, by route then rep."""
    stmt = select(rr_ledger).order_by(rr_ledger.c.route, rr_ledger.c.rep_id)
    if route is not None:
        stmt = stmt.where(rr_ledger.c.route == route)
    return [
        LedgerRow(route_, rep_id, int(count), int(last_seq), last_at)
        for route_, rep_id, count, last_seq, last_at in conn.execute(stmt)
    ]


def counts_by_owner(conn: Connection, *, status: Status | None = Status.ASSIGNED) -> dict[str, int]:
    """Leads per owner (by default: assigned to a rep)."""
    return {k: v for k, v in _counts(conn, leads.c.owner, status).items() if k is not None}


def counts_by_route(conn: Connection) -> dict[str | None, int]:
    return _counts(conn, leads.c.route, None)


def counts_by_status(conn: Connection) -> dict[str, int]:
    return {str(k): v for k, v in _counts(conn, leads.c.status, None).items()}


def _counts(conn: Connection, column: Column[Any], status: Status | None) -> dict[Any, int]:
    stmt = select(column, func.count()).group_by(column).order_by(column)
    if status is not None:
        stmt = stmt.where(leads.c.status == status.value)
    return {key: int(n) for key, n in conn.execute(stmt)}


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]
