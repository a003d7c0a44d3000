"""Decline and reassign: a lead moves on by the policy, never back to a previous holder, with
every step in its history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from tests.workflow.conftest import compiled_policy

from leadrelay.domain.lead import Lead
from leadrelay.policy import CompiledPolicy
from leadrelay.store.leads import get_decision
from leadrelay.store.outcomes import lead_events, record_outcome
from leadrelay.store.tables import assignments, leads, outbox
from leadrelay.workflow import route_lead
from leadrelay.workflow.handoff import HandoffError, accept, hand
from leadrelay.workflow.reroute import decline, reassign, reassign_rep

MONDAY = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
AIRLINES_ONLY = """\
notifications:
  webhooks: [{name: crm, url: 'http://127.0.0.1:9/hook'}]
routes:
  - name: airlines
    when: 'industry == "airline"'
    to: {reps: [ana, bo, chen]}
    strategy: round_robin
  - {name: banks, when: 'industry == "bank"', to: {team: ent}, strategy: team}
"""
_ids = count(1)


def airline(at: datetime = MONDAY) -> Lead:
    return Lead(received_at=at, external_id=f"air-{next(_ids)}", industry="airline")


def active_count(engine: Engine, lead_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.scalar(
                select(func.count()).where(
                    assignments.c.lead_id == lead_id, assignments.c.ended_at.is_(None)
                )
            )
            or 0
        )


def owner_of(engine: Engine, lead_id: int) -> tuple[str, str | None]:
    with engine.connect() as conn:
        row = conn.execute(select(leads.c.status, leads.c.owner).where(leads.c.id == lead_id))
        status, owner = row.one()
    return status, owner


def kinds(engine: Engine, lead_id: int) -> list[str]:
    with engine.connect() as conn:
        return [e.kind for e in lead_events(conn, lead_id)]


@pytest.fixture
def only_airlines() -> CompiledPolicy:
    return compiled_policy(AIRLINES_ONLY)


def test_a_decline_moves_the_lead_to_the_next_rep_with_events_and_a_message(
    engine: Engine, only_airlines: CompiledPolicy
) -> None:
    routed = route_lead(engine, airline(), only_airlines)
    first = routed.decision.owner
    assert routed.lead_id is not None and first is not None
    done = decline(engine, routed.lead_id, first, "not my territory", policy=only_airlines,
                   now=MONDAY + timedelta(minutes=5))  # fmt: skip
    assert done.status == "assigned" and done.owner not in (None, first)
    assert done.previous_owner == first
    assert owner_of(engine, routed.lead_id) == ("assigned", done.owner)
    assert kinds(engine, routed.lead_id) == ["routed", "declined", "reassigned"]
    assert active_count(engine, routed.lead_id) == 1
    with engine.connect() as conn:
        history = lead_events(conn, routed.lead_id)
        moved = history[-1].data
        assert (moved["from"], moved["to"], moved["by"]) == (first, done.owner, first)
        assert history[1].data["reason"] == "not my territory"
        decision = get_decision(conn, routed.lead_id)
        hooks = conn.scalar(select(func.count()).where(outbox.c.lead_id == routed.lead_id))
    # the stored decision explains the new owner, and says why the decliner was left out
    assert decision.owner == done.owner
    trial = decision.chosen_trial
    assert trial is not None
    assert {c.rep: c.excluded for c in trial.candidates}[first] == "declined this lead"
    assert hooks == 2  # the first owner's message and the new owner's


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(declines=st.integers(min_value=0, max_value=4))
def test_a_lead_declined_by_k_reps_never_returns_to_any_and_ends_manual_when_all_declined(
    engine: Engine, only_airlines: CompiledPolicy, declines: int
) -> None:
    routed = route_lead(engine, airline(), only_airlines)
    assert routed.lead_id is not None
    lead_id, owner = routed.lead_id, routed.decision.owner
    declined: list[str] = []
    for step in range(declines):
        status, owner = owner_of(engine, lead_id)
        if status != "assigned":
            with pytest.raises(HandoffError) as refused:
                decline(engine, lead_id, declined[-1], "again", policy=only_airlines)
            assert refused.value.conflict
            break
        assert owner is not None and owner not in declined
        decline(engine, lead_id, owner, f"no {step}", policy=only_airlines,
                now=MONDAY + timedelta(minutes=step + 1))  # fmt: skip
        declined.append(owner)
        assert active_count(engine, lead_id) == 1
    status, owner = owner_of(engine, lead_id)
    if len(declined) == 3:
        assert (status, owner) == ("manual", None)
    else:
        assert status == "assigned" and owner not in declined


def test_a_rep_may_decline_only_its_own_unaccepted_lead(
    engine: Engine, only_airlines: CompiledPolicy
) -> None:
    routed = route_lead(engine, airline(), only_airlines)
    assert routed.lead_id is not None and routed.decision.owner is not None
    other = next(r for r in ("ana", "bo", "chen") if r != routed.decision.owner)
    with pytest.raises(HandoffError, match=r"not \w+'s to decline"):
        decline(engine, routed.lead_id, other, "nope", policy=only_airlines)
    with pytest.raises(HandoffError, match="reason"):
        decline(engine, routed.lead_id, routed.decision.owner, "  ", policy=only_airlines)
    accept(engine, routed.lead_id, routed.decision.owner)
    with pytest.raises(HandoffError, match="accepted already"):
        decline(engine, routed.lead_id, routed.decision.owner, "changed my mind",
                policy=only_airlines)  # fmt: skip
    assert kinds(engine, routed.lead_id) == ["routed", "accepted"]


def test_the_new_owner_can_accept_after_the_first_accepted_and_was_reassigned(
    engine: Engine, only_airlines: CompiledPolicy
) -> None:
    routed = route_lead(engine, airline(), only_airlines)
    assert routed.lead_id is not None and routed.decision.owner is not None
    accept(engine, routed.lead_id, routed.decision.owner, now=MONDAY + timedelta(minutes=1))
    moved = reassign(engine, routed.lead_id, "boss", "workload", policy=only_airlines,
                     now=MONDAY + timedelta(minutes=2))  # fmt: skip
    assert moved.owner is not None
    accept(engine, routed.lead_id, moved.owner, now=MONDAY + timedelta(minutes=3))
    assert kinds(engine, routed.lead_id)[-1] == "accepted"


def test_a_manager_reassigns_by_the_policy_or_to_a_named_rep(
    engine: Engine, only_airlines: CompiledPolicy
) -> None:
    routed = route_lead(engine, airline(), only_airlines)
    assert routed.lead_id is not None
    first = routed.decision.owner
    by_policy = reassign(engine, routed.lead_id, "mgr", "rebalancing", policy=only_airlines)
    assert by_policy.owner not in (None, first) and by_policy.event == "reassigned"
    named = reassign(engine, routed.lead_id, "mgr", "knows them", to="dee", policy=only_airlines)
    assert (named.owner, named.previous_owner) == ("dee", by_policy.owner)
    with engine.connect() as conn:
        history = lead_events(conn, routed.lead_id)
    assert [e.kind for e in history] == ["routed", "reassigned", "reassigned"]
    assert [(e.data["by"], e.data["reason"]) for e in history[1:]] == [
        ("mgr", "rebalancing"),
        ("mgr", "knows them"),
    ]
    assert history[1].data["from"] == first
    with pytest.raises(HandoffError, match="reason"):
        reassign(engine, routed.lead_id, "mgr", "", policy=only_airlines)


def test_a_closed_lead_is_not_reassigned(engine: Engine, only_airlines: CompiledPolicy) -> None:
    routed = route_lead(engine, airline(), only_airlines)
    assert routed.lead_id is not None
    with engine.begin() as conn:
        record_outcome(conn, routed.lead_id, "won", MONDAY, value=10.0)
    with pytest.raises(HandoffError, match="won already"):
        reassign(engine, routed.lead_id, "mgr", "why not", policy=only_airlines)
    assert owner_of(engine, routed.lead_id) == ("assigned", routed.decision.owner)


def test_a_leaving_rep_has_every_open_lead_rerouted_and_is_deactivated(
    engine: Engine, only_airlines: CompiledPolicy
) -> None:
    ids = []
    for minute in range(9):
        routed = route_lead(engine, airline(MONDAY + timedelta(minutes=minute)), only_airlines)
        assert routed.lead_id is not None
        ids.append((routed.lead_id, routed.decision.owner))
    bos = [lead_id for lead_id, owner in ids if owner == "bo"]
    assert len(bos) == 3
    with engine.begin() as conn:  # a closed lead stays with bo
        record_outcome(conn, bos[0], "lost", MONDAY, reason="no budget")
    report = reassign_rep(engine, "bo", "mgr", "bo left", deactivate=True, policy=only_airlines,
                          now=MONDAY + timedelta(hours=1))  # fmt: skip
    assert report.deactivated and not report.failed
    assert sorted(done.lead_id for done in report.moved) == bos[1:]
    assert all(done.owner in ("ana", "chen") for done in report.moved)
    assert report.counts() == {"assigned": 2}
    for lead_id in bos[1:]:
        assert kinds(engine, lead_id) == ["routed", "reassigned"]
        with engine.connect() as conn:
            assert lead_events(conn, lead_id)[-1].data["bulk"] is True
    assert owner_of(engine, bos[0]) == ("assigned", "bo")
    # deactivated: new leads skip bo too
    later = route_lead(engine, airline(MONDAY + timedelta(hours=2)), only_airlines)
    assert later.decision.owner != "bo"
    with pytest.raises(HandoffError, match="no rep"):
        reassign_rep(engine, "nobody", "mgr", "x", policy=only_airlines)


def test_the_team_owner_hands_a_team_lead_to_a_member(
    engine: Engine, only_airlines: CompiledPolicy
) -> None:
    routed = route_lead(engine, Lead(received_at=MONDAY, industry="bank"), only_airlines)
    assert routed.lead_id is not None and routed.decision.owner == "dee"
    with pytest.raises(HandoffError, match="only team ent's owner"):
        hand(engine, routed.lead_id, "eve", "eve", policy=only_airlines)
    with pytest.raises(HandoffError, match="not a member"):
        hand(engine, routed.lead_id, "dee", "ana", policy=only_airlines)
    done = hand(engine, routed.lead_id, "dee", "eve", policy=only_airlines)
    assert (done.owner, done.event) == ("eve", "handed_off")
    assert owner_of(engine, routed.lead_id) == ("assigned", "eve")
