"""Experiment arms as stored: which leads entered which arm, and what happened to each.

The facts are ``store.facts.lead_facts`` of the experiment's leads: a lead's outcome flags come
from its events (contacted, qualified, won, lost), whoever recorded them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from leadrelay.store.facts import lead_facts
from leadrelay.store.tables import leads


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
    for facts in lead_facts(conn, since=since, experiment=experiment):
        yield ArmFacts(
            lead_id=facts.id,
            arm=facts.arm or "control",
            contacted=facts.first_contact_at is not None,
            qualified=facts.qualified_at is not None,
            won=facts.won_at is not None,
            lost=facts.lost_at is not None,
        )
