"""The same person sent to several routers at once gets one owner (DESIGN invariants 1 and 2).

Four processes each send the same 40 people (same email and phone, each process its own
external ids and channel, so its own route) at the same moments: three route one lead a
transaction (``route_lead``, which shares the routing lock and serialises on the person's
duplicate keys), the fourth routes groups of five (``route_group``, which holds the routing
lock alone). Whoever comes first owns
the person; the three others are duplicates linked to that lead.
"""

from __future__ import annotations

import multiprocessing
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier

import pytest
from sqlalchemy import select
from tests.workflow.conftest import store_for_routers

from leadrelay.domain import Caps, Lead, Rep
from leadrelay.policy import CompiledPolicy, load_policy_text
from leadrelay.store import make_engine
from leadrelay.store.tables import assignments, leads
from leadrelay.workflow import route_lead
from leadrelay.workflow.group import route_group

POLICY = """\
version: 1
matching:
  duplicates: {keys: [email, phone], window_days: 30}
routes:
  - {name: web, when: 'source == "web"', to: {reps: [r0, r1]}, strategy: round_robin}
  - {name: chat, when: 'source == "chat"', to: {reps: [r2, r3]}, strategy: round_robin}
  - {name: events, when: 'source == "event"', to: {reps: [r4, r5]}, strategy: round_robin}
  - {name: partners, to: {reps: [r6, r7]}, strategy: round_robin}
"""
REPS = [Rep(id=f"r{i}", caps=Caps(per_day=1_000)) for i in range(8)]
# Each worker's copies come in by another channel, so take another route: no route's
# rotation or rep's counter is claimed by two workers, only the person's keys are shared.
SOURCES = ("web", "chat", "event", "partner")
PEOPLE = 40
WORKERS = 4
GROUP = 5
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _policy() -> CompiledPolicy:
    return load_policy_text(POLICY, reps={r.id for r in REPS})


def _lead(worker: int, person: int) -> Lead:
    return Lead(
        external_id=f"w{worker}-p{person:02}",
        email=f"Person.{person}@acme.example",
        phone=f"+1 415 555 {person:04}",
        source=SOURCES[worker],
        received_at=START + timedelta(seconds=person),
    )


def _send(url: str, revision: int, worker: int, together: Barrier) -> None:
    """Send the people in steps of ``GROUP``, every worker starting each step together (so
    that copies of one person are in flight at once, not seconds apart)."""
    engine = make_engine(url)
    policy = _policy().with_revision(revision)
    people = [_lead(worker, p) for p in range(PEOPLE)]
    try:
        for start in range(0, PEOPLE, GROUP):
            step = people[start : start + GROUP]
            together.wait(timeout=60)
            if worker == WORKERS - 1:
                route_group(engine, step, policy)
            else:
                for lead in step:
                    route_lead(engine, lead, policy)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_one_person_sent_to_several_routers_at_once_gets_one_owner(db_url: str) -> None:
    engine, revision = store_for_routers(db_url, REPS, _policy())
    spawn = multiprocessing.get_context("spawn")
    together = spawn.Barrier(WORKERS)
    workers = [
        spawn.Process(target=_send, args=(db_url, revision, w, together)) for w in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * WORKERS

    with engine.connect() as conn:
        rows = conn.execute(
            select(leads.c.id, leads.c.external_id, leads.c.status, leads.c.duplicate_of)
        ).all()
        active = {
            lead_id: status
            for lead_id, status in conn.execute(
                select(assignments.c.lead_id, assignments.c.status).where(
                    assignments.c.ended_at.is_(None)
                )
            )
        }
    engine.dispose()

    by_person: dict[str, list[tuple[int, str, int | None]]] = defaultdict(list)
    for lead_id, external_id, status, duplicate_of in rows:
        by_person[external_id.split("-")[1]].append((lead_id, status, duplicate_of))
    assert len(by_person) == PEOPLE
    for person, copies in by_person.items():
        assert len(copies) == WORKERS, person
        owners = [lead_id for lead_id, status, _ in copies if status != "duplicate"]
        assert len(owners) == 1, f"{person} has {len(owners)} owners: {copies}"
        (original,) = owners
        assert active.get(original) == "assigned"
        linked = {dup_of for lead_id, _, dup_of in copies if lead_id != original}
        assert linked == {original}, person
