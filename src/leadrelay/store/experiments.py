"""Experiment arms as stored: which leads entered which arm, and what happened to each.

One grouped query: a lead's outcome flags come from its events (contacted, qualified, won,
lost), whoever recorded them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, select

from leadrelay.store.tables import events, leads


@dataclass(frozen=True, slots=True)
class ArmFacts:
    """One lead in an experiment: its arm and which outcomes it has had."""

    lead_id: int
    arm: str
    contacted: bool
    qualified: bool
    won: bool
    lost: bool


def experiment_names(conn: Connection) -> list[str]:
    """Experiments some stored lead entered, sorted."""
    stmt = select(leads.c.experiment).where(leads.c.experiment.is_not(None)).distinct()
    return sorted(str(name) for name in conn.scalars(stmt))


def arm_facts(
    conn: Connection, experiment: str, *, since: datetime | None = None
) -> Iterator[ArmFacts]:
    """Every stored lead that entered ``experiment`` (received at or after ``since``)."""

    def seen(kind: str) -> ColumnElement[Any]:
        return func.max(case((events.c.kind == kind, 1), else_=0))

    outcomes = (
        select(
            events.c.lead_id,
            seen("contacted").label("contacted"),
            seen("qualified").label("qualified"),
            seen("won").label("won"),
            seen("lost").label("lost"),
        )
        .where(events.c.kind.in_(["contacted", "qualified", "won", "lost"]))
        .group_by(events.c.lead_id)
        .subquery()
    )
    stmt = (
        select(
            leads.c.id,
            leads.c.arm,
            outcomes.c.contacted,
            outcomes.c.qualified,
            outcomes.c.won,
            outcomes.c.lost,
        )
        .outerjoin(outcomes, outcomes.c.lead_id == leads.c.id)
        .where(leads.c.experiment == experiment)
        .order_by(leads.c.id)
    )
    if since is not None:
        stmt = stmt.where(leads.c.received_at >= since)
    for row in conn.execute(stmt):
        yield ArmFacts(
            lead_id=int(row.id),
            arm=str(row.arm or "control"),
            contacted=bool(row.contacted),
            qualified=bool(row.qualified),
            won=bool(row.won),
            lost=bool(row.lost),
        )
