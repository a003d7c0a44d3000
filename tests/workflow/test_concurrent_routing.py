"""Several processes routing live into the same routes at once (DESIGN invariants 1-4, 6).

Four processes share 400 leads (and 40 of them are sent twice, by two processes) over two days:
even leads go to a round-robin route of three reps with room to spare, odd leads to a
round-robin route of two reps capped at 30 a day, so 40 a day must go to manual.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from tests.workflow.conftest import store_for_routers

from leadrelay.domain import Caps, Lead, Rep
from leadrelay.policy import CompiledPolicy, load_policy_text
from leadrelay.store import make_engine
from leadrelay.store.tables import assignments, leads, rep_load, route_state, rr_ledger
from leadrelay.workflow import route_lead

POLICY = """\
version: 1
capacity:
  default: {per_day: 30}
routes:
  - {name: airlines, when: 'industry == "airline"', to: {reps: [r1, r2, r3]}, strategy: round_robin}
  - {name: rest, when: 'industry != "airline"', to: {reps: [r4, r5]}, strategy: round_robin}
"""
REPS = [Rep(id=f"r{i}", caps=Caps(per_day=100)) for i in (1, 2, 3)] + [
    Rep(id="r4"),
    Rep(id="r5"),
]
LEADS = 400
SENT_TWICE = 40
WORKERS = 4
DAY_ONE = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
CAPS = {"r1": 100, "r2": 100, "r3": 100, "r4": 30, "r5": 30}


def _policy() -> CompiledPolicy:
    return load_policy_text(POLICY, reps={r.id for r in REPS})


def _lead(i: int) -> Lead:
    day = DAY_ONE + timedelta(days=i * 2 // LEADS)
    return Lead(
        external_id=f"L{i:03}",
        industry="airline" if i % 2 == 0 else "software",
        received_at=day + timedelta(seconds=i),
    )


def _route_share(url: str, revision: int, indexes: list[int]) -> list[tuple[str, int, bool]]:
    engine = make_engine(url)
    policy = _policy().with_revision(revision)
    try:
        done = []
        for i in indexes:
            result = route_lead(engine, _lead(i), policy)
            assert result.lead_id is not None
            done.append((f"L{i:03}", result.lead_id, result.created))
        return done
    finally:
        engine.dispose()


@pytest.mark.slow
def test_concurrent_live_routers_keep_every_invariant(db_url: str) -> None:
    engine, revision = store_for_routers(db_url, REPS, _policy())
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        outcomes = pool.starmap(_route_share, [(db_url, revision, share) for share in shares()])
    check_invariants(engine, outcomes)
    engine.dispose()


def shares() -> list[list[int]]:
    """Each process's lead indexes: every WORKERS-th lead, and the first SENT_TWICE leads are
    sent again by the next process."""
    out = [list(range(w, LEADS, WORKERS)) for w in range(WORKERS)]
    for w in range(WORKERS):
        out[(w + 1) % WORKERS].extend(i for i in range(SENT_TWICE) if i % WORKERS == w)
    return out


def check_invariants(engine: Engine, outcomes: list[list[tuple[str, int, bool]]]) -> None:
    """What the processes got back and what the store holds keep invariants 1-4 and 6."""
    # Invariant 6: each external id routed once; both senders got the same stored lead.
    by_external: dict[str, set[int]] = {}
    created = Counter[str]()
    for ext, lead_id, was_created in (o for share in outcomes for o in share):
        by_external.setdefault(ext, set()).add(lead_id)
        created[ext] += was_created
    assert len(by_external) == LEADS
    assert all(len(ids) == 1 for ids in by_external.values())
    assert set(created.values()) == {1}

    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(leads)) == LEADS
        # Invariants 1 and 2: every lead in exactly one state, with one active assignment.
        per_lead = Counter(
            conn.scalars(select(assignments.c.lead_id).where(assignments.c.ended_at.is_(None)))
        )
        assert len(per_lead) == LEADS
        assert set(per_lead.values()) == {1}
        statuses = Counter(conn.scalars(select(leads.c.status)))
        assert statuses == {"assigned": 200 + 120, "manual": 80}

        # Invariant 3: nobody over any cap, and the counters agree with the assignments.
        given = Counter(
            (owner, at.date())
            for owner, at in conn.execute(
                select(assignments.c.owner, assignments.c.assigned_at).where(
                    assignments.c.status == "assigned"
                )
            )
        )
        assert all(n <= CAPS[owner] for (owner, _), n in given.items())
        assert {k: n for k, n in given.items() if k[0] in ("r4", "r5")} == {
            (rep, (DAY_ONE + timedelta(days=d)).date()): 30 for rep in ("r4", "r5") for d in (0, 1)
        }
        day_counters = {
            (rep_id, start): count
            for rep_id, start, count in conn.execute(
                select(rep_load.c.rep_id, rep_load.c.period_start, rep_load.c.count).where(
                    rep_load.c.period == "day"
                )
            )
        }
        assert day_counters == dict(given)

        # Invariant 4: round robin within one lead, and the ledger adds up.
        ledger = {
            (route, rep): count
            for route, rep, count in conn.execute(
                select(rr_ledger.c.route, rr_ledger.c.rep_id, rr_ledger.c.count)
            )
        }
        airlines = [ledger[("airlines", r)] for r in ("r1", "r2", "r3")]
        assert sum(airlines) == 200
        assert max(airlines) - min(airlines) <= 1
        assert [ledger[("rest", r)] for r in ("r4", "r5")] == [60, 60]
        seqs = dict(conn.execute(select(route_state.c.route, route_state.c.seq)).all())
        assert seqs == {"airlines": 200, "rest": 120}
