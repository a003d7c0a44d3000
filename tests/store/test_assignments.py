"""The database itself holds DESIGN invariant 2: at most one active owner per lead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from tests.builders import NOON, lead

from leadrelay.domain import Decision, Status
from leadrelay.store.leads import assignment_row, insert_lead
from leadrelay.store.tables import assignments


def _stored_lead(engine: Engine) -> tuple[int, Decision]:
    decision = Decision(
        lead_key="L1", status=Status.ASSIGNED, reason="test", decided_at=NOON, policy_version=1,
        owner="ana", route="all", strategy="round_robin",
    )  # fmt: skip
    with engine.begin() as conn:
        lead_id = insert_lead(conn, lead(external_id="L1"), decision)
        conn.execute(assignments.insert().values(assignment_row(lead_id, decision)))
    return lead_id, decision


def test_a_second_active_assignment_for_a_lead_is_rejected(engine: Engine) -> None:
    lead_id, decision = _stored_lead(engine)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(assignments.insert().values(assignment_row(lead_id, decision)))


def test_a_lead_can_be_reassigned_once_the_active_assignment_ends(engine: Engine) -> None:
    lead_id, decision = _stored_lead(engine)
    with engine.begin() as conn:
        conn.execute(
            update(assignments)
            .where(assignments.c.lead_id == lead_id, assignments.c.ended_at.is_(None))
            .values(ended_at=NOON + timedelta(hours=1), end_reason="reassigned")
        )
        row = assignment_row(lead_id, decision) | {"owner": "bo"}
        conn.execute(assignments.insert().values(row))
