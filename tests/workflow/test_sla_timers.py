"""SLA timers with a fake clock: deadlines in business hours across a weekend, breaches that
reassign and escalate, steps done in time, pool and team deadlines, and racing workers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import Engine, func, select
from tests.workflow.conftest import REPS, compiled_policy

from leadrelay.domain.lead import Lead
from leadrelay.domain.rep import Rep, Role, WorkingHours
from leadrelay.policy import CompiledPolicy
from leadrelay.store import save_reps
from leadrelay.store.outcomes import lead_events, record_outcome
from leadrelay.store.sla import open_timers
from leadrelay.store.tables import outbox, sla_timers
from leadrelay.workflow import route_lead
from leadrelay.workflow.handoff import accept, claim
from leadrelay.workflow.sla import run_due_timers

BERLIN = "Europe/Berlin"
FRIDAY_4PM = datetime.fromisoformat("2026-11-27T16:00:00+01:00")
MONDAY_10AM = datetime.fromisoformat("2026-11-30T10:00:00+01:00")
SLA_POLICY = """\
notifications:
  webhooks: [{name: crm, url: 'http://127.0.0.1:9/hook'}]
routes:
  - name: airlines
    when: 'industry == "airline"'
    to: {reps: [ana, bo, chen]}
    strategy: round_robin
    sla: {accept_within: 2h, contact_within: 1d, escalate_to: manager}
  - name: inbound
    when: 'industry == "retail"'
    to: {pool: inbound, team: air, owner: max}
    strategy: claim
    sla: {claim_within: 1h, business_hours: false, then: {team: ent, strategy: round_robin}}
  - name: banks
    when: 'industry == "bank"'
    to: {team: ent}
    strategy: team
    sla: {handoff_within: 30m}
"""
OFFICE = WorkingHours.parse("mon-fri 09:00-17:00")
_ids = count(1)


@pytest.fixture
def sla_engine(engine: Engine) -> Engine:
    """The test org with ana, bo and chen working office hours in Berlin, and a manager."""
    office = {
        r.id: Rep(r.id, teams=r.teams, timezone=BERLIN, working_hours=OFFICE)
        for r in REPS
        if r.id in ("ana", "bo", "chen")
    }
    manager = Rep("max", teams=("air",), role=Role.MANAGER, email="max@example.com")
    with engine.begin() as conn:
        save_reps(conn, [*office.values(), manager])
    return engine


@pytest.fixture
def sla_policy() -> CompiledPolicy:
    return compiled_policy(SLA_POLICY.replace("owner: max", "owner: dee"))


def routed(engine: Engine, policy: CompiledPolicy, industry: str, at: datetime) -> int:
    lead = Lead(received_at=at, external_id=f"sla-{next(_ids)}", industry=industry)
    result = route_lead(engine, lead, policy)
    assert result.lead_id is not None
    return result.lead_id


def kinds(engine: Engine, lead_id: int) -> list[str]:
    with engine.connect() as conn:
        return [e.kind for e in lead_events(conn, lead_id)]


def clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def test_an_accept_deadline_runs_in_business_hours_across_the_weekend(
    sla_engine: Engine, sla_policy: CompiledPolicy
) -> None:
    lead_id = routed(sla_engine, sla_policy, "airline", FRIDAY_4PM)
    with sla_engine.connect() as conn:
        due = {t.kind: t.due_at for t in open_timers(conn, lead_id)}
    # 2h from Friday 16:00 in office hours: 1h on Friday, 1h on Monday; a day of contact: 24
    # working hours, three office days
    assert due == {
        "accept": MONDAY_10AM,
        "contact": datetime.fromisoformat("2026-12-02T16:00:00+01:00"),
    }
    saturday = FRIDAY_4PM + timedelta(days=1)
    assert run_due_timers(sla_engine, clock(saturday), policy=sla_policy).handled == 0
    early = MONDAY_10AM - timedelta(minutes=1)
    assert run_due_timers(sla_engine, clock(early), policy=sla_policy).handled == 0
    assert kinds(sla_engine, lead_id) == ["routed"]

    report = run_due_timers(sla_engine, clock(MONDAY_10AM), policy=sla_policy)
    assert (report.breached, report.met, report.failed) == (1, 0, 0)
    assert kinds(sla_engine, lead_id) == ["routed", "sla_breached", "escalated", "reassigned"]
    with sla_engine.connect() as conn:
        history = lead_events(conn, lead_id)
        escalations = conn.execute(
            select(outbox.c.target, outbox.c.payload).where(
                outbox.c.lead_id == lead_id, outbox.c.event == "escalated"
            )
        ).all()
        timers = {t.kind: t.holder for t in open_timers(conn, lead_id)}
    breach, escalation, moved = history[1:]
    assert (breach.data["kind"], breach.data["holder"]) == ("accept", "ana")
    assert (escalation.data["to"], escalation.data["rule"]) == ("max", "manager")
    assert moved.data["from"] == "ana" and moved.data["to"] in ("bo", "chen")
    assert moved.data["by"] == "sla"
    assert [target for target, _ in escalations] == ["http://127.0.0.1:9/hook"]
    assert escalations[0][1]["recipient"] == "max"
    # the new owner is on the clock now; the old owner's contact timer died with its assignment
    assert timers == {"accept": moved.data["to"], "contact": moved.data["to"]}


def test_a_lead_accepted_in_time_is_never_breached(
    sla_engine: Engine, sla_policy: CompiledPolicy
) -> None:
    lead_id = routed(sla_engine, sla_policy, "airline", FRIDAY_4PM)
    accept(sla_engine, lead_id, "ana", now=MONDAY_10AM - timedelta(minutes=5))
    with sla_engine.begin() as conn:
        record_outcome(conn, lead_id, "contacted", MONDAY_10AM, by="ana")
    later = MONDAY_10AM + timedelta(days=7)
    report = run_due_timers(sla_engine, clock(later), policy=sla_policy)
    assert (report.breached, report.met) == (0, 1)  # the accept timer was settled at once
    assert kinds(sla_engine, lead_id) == ["routed", "accepted", "contacted"]
    with sla_engine.connect() as conn:
        outcomes = dict(
            conn.execute(
                select(sla_timers.c.kind, sla_timers.c.outcome).where(
                    sla_timers.c.lead_id == lead_id
                )
            ).all()
        )
    assert outcomes == {"accept": "met", "contact": "met"}


def test_a_breach_is_handled_once_and_never_bounces_back(
    sla_engine: Engine, sla_policy: CompiledPolicy
) -> None:
    lead_id = routed(sla_engine, sla_policy, "airline", FRIDAY_4PM)
    moment = MONDAY_10AM
    holders = ["ana"]
    for _ in range(2):
        report = run_due_timers(sla_engine, clock(moment), policy=sla_policy)
        assert report.breached == 1
        with sla_engine.connect() as conn:
            holders.append(lead_events(conn, lead_id)[-1].data["to"])
        moment += timedelta(hours=2)
    assert len(set(holders)) == 3  # ana, then the other two, each once
    # everyone in the route missed it: the manual queue, with why
    assert run_due_timers(sla_engine, clock(moment), policy=sla_policy).breached == 1
    with sla_engine.connect() as conn:
        last = lead_events(conn, lead_id)[-1]
    assert (last.data["status"], last.data["to"]) == ("manual", None)
    assert last.data["barred"] == ["ana", "bo", "chen"]
    assert (
        run_due_timers(sla_engine, clock(moment + timedelta(days=30)), policy=sla_policy).handled
        == 0
    )


def test_an_unclaimed_pool_lead_goes_to_the_fallback_after_claim_within(
    sla_engine: Engine, sla_policy: CompiledPolicy
) -> None:
    lead_id = routed(sla_engine, sla_policy, "retail", FRIDAY_4PM)
    claimed_id = routed(sla_engine, sla_policy, "retail", FRIDAY_4PM)
    claim(sla_engine, claimed_id, "bo", policy=sla_policy, now=FRIDAY_4PM + timedelta(minutes=10))
    report = run_due_timers(sla_engine, clock(FRIDAY_4PM + timedelta(hours=1)), policy=sla_policy)
    assert (report.breached, report.met) == (1, 0)  # the claimed lead's timer ended at once
    with sla_engine.connect() as conn:
        moved = lead_events(conn, lead_id)[-1]
        timers = open_timers(conn, claimed_id)
    assert (moved.kind, moved.data["status"], moved.data["from_status"]) == (
        "reassigned", "assigned", "pool",
    )  # fmt: skip
    assert moved.data["to"] in ("dee", "eve") and moved.data["route"] == "inbound:then"
    assert kinds(sla_engine, claimed_id) == ["routed", "claimed"]
    assert timers == []  # the pool route has no accept deadline


def test_a_team_lead_not_handed_on_goes_to_a_member_by_round_robin(
    sla_engine: Engine, sla_policy: CompiledPolicy
) -> None:
    lead_id = routed(sla_engine, sla_policy, "bank", FRIDAY_4PM)
    report = run_due_timers(
        sla_engine, clock(FRIDAY_4PM + timedelta(minutes=30)), policy=sla_policy
    )
    assert report.breached == 1
    with sla_engine.connect() as conn:
        history = lead_events(conn, lead_id)
    # dee owns team ent and missed the hand-off: the lead goes to the other member
    assert [e.kind for e in history] == ["routed", "sla_breached", "escalated", "reassigned"]
    assert (history[-1].data["from"], history[-1].data["to"]) == ("dee", "eve")


def test_a_lead_moved_before_its_deadline_is_not_breached(
    sla_engine: Engine, sla_policy: CompiledPolicy
) -> None:
    from leadrelay.workflow.reroute import reassign

    lead_id = routed(sla_engine, sla_policy, "airline", FRIDAY_4PM)
    reassign(sla_engine, lead_id, "max", "she is back", to="chen", policy=sla_policy,
             now=FRIDAY_4PM + timedelta(minutes=1))  # fmt: skip
    report = run_due_timers(sla_engine, clock(MONDAY_10AM), policy=sla_policy)
    assert (report.breached, report.met) == (0, 0)  # ana's timers ended with her assignment
    with sla_engine.connect() as conn:
        outcome = conn.scalar(
            select(func.count()).where(
                sla_timers.c.lead_id == lead_id, sla_timers.c.outcome == "moved"
            )
        )
    assert outcome == 2  # her accept and contact timers


@pytest.mark.postgres
def test_two_workers_racing_on_postgresql_handle_each_breach_once(
    new_store: Callable[[], Engine],
) -> None:
    engine = new_store()
    with engine.begin() as conn:
        save_reps(conn, [Rep(f"r{i}", teams=("air",)) for i in range(6)])
    policy = compiled_policy(
        SLA_POLICY.replace("{reps: [ana, bo, chen]}", "{team: air}").replace(
            "owner: max", "owner: dee"
        )
    )
    lead_ids = [routed(engine, policy, "airline", FRIDAY_4PM) for _ in range(40)]
    late = FRIDAY_4PM + timedelta(days=10)
    start = threading.Barrier(3)
    reports = []

    def work() -> None:
        start.wait()
        while True:
            report = run_due_timers(engine, clock(late), policy=policy, limit=7)
            reports.append(report)
            if report.handled == 0:
                return

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.failed for r in reports) == 0
    # 40 accept breaches plus the 40 contact timers whose assignment ended with the breach, and
    # the timers of the new holders (due 10 days after Friday too: more breaches, each once)
    breaches = {}
    with engine.connect() as conn:
        for lead_id in lead_ids:
            history = lead_events(conn, lead_id)
            breaches[lead_id] = sum(1 for e in history if e.kind == "sla_breached")
            moves = [e for e in history if e.kind == "reassigned"]
            assert len(moves) == breaches[lead_id]
            owners = [e.data["from"] for e in moves]
            assert len(owners) == len(set(owners))  # never back to a previous holder
    assert sum(r.breached for r in reports) == sum(breaches.values())
    assert all(n >= 1 for n in breaches.values())
