"""Outcomes recorded in the store steer the smart strategies, live and in bulk."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine
from tests.builders import NOON, lead

from leadrelay.policy import load_policy_text
from leadrelay.social import KNOWS, Edge, email_key, rep_key
from leadrelay.store.org import load_org
from leadrelay.store.outcomes import record_outcome
from leadrelay.store.performance import load_performance
from leadrelay.store.relationships import save_relationships
from leadrelay.workflow import route_lead, route_many

ROTATION = """\
routes:
  - {name: rest, to: {reps: [ana, bo]}, strategy: round_robin}
"""
PERFORMANCE = """\
routes:
  - name: rest
    to: {reps: [ana, bo]}
    strategy: {name: performance, segment: industry, min_closed: 2, prior_strength: 0}
"""
MODIFIED = """\
routes:
  - name: rest
    to: {reps: [ana, bo]}
    strategy:
      name: modified_round_robin
      share: 0.5
      weights: {performance: 1}
      min_closed: 2
      prior_strength: 0
"""
REPS = {"ana", "bo", "chen", "dee", "eve"}


def _history(engine: Engine) -> None:
    """Ten airline leads rotated between dee and eve: ana wins hers, bo loses hers."""
    policy = load_policy_text(ROTATION, reps=REPS, teams={"air", "ent"})
    results = route_many(
        engine,
        [
            lead(external_id=f"h{i}", industry="airline", received_at=NOON + timedelta(minutes=i))
            for i in range(10)
        ],
        policy,
    )
    with engine.begin() as conn:
        for i, result in enumerate(results):
            assert result.lead_id is not None
            won = result.decision.owner == "ana"
            at = NOON + timedelta(hours=1, minutes=i)
            record_outcome(
                conn, result.lead_id, "won" if won else "lost", at, value=10.0 if won else None
            )


def test_the_store_tallies_outcomes_by_the_owner_at_closing(engine: Engine) -> None:
    _history(engine)
    with engine.connect() as conn:
        stats = load_performance(conn, load_org(conn).reps)

    ana, bo = stats.tally("ana", "industry:airline"), stats.tally("bo", "industry:airline")
    assert (ana.given, ana.closed, ana.won, ana.won_value) == (5, 5, 5, 50.0)
    assert (bo.given, bo.closed, bo.won) == (5, 5, 0)
    assert stats.prior(("air",), "industry:airline") == 0.5


def test_live_routing_sends_the_segment_to_its_proven_closer(engine: Engine) -> None:
    _history(engine)
    policy = load_policy_text(PERFORMANCE, reps=REPS, teams={"air", "ent"})
    result = route_lead(
        engine, lead(industry="airline", received_at=NOON + timedelta(hours=2)), policy
    )

    assert result.decision.owner == "ana"
    assert "won 5 of 5 closed industry:airline leads (100%)" in result.decision.reason


def test_modified_round_robin_keeps_merit_picks_in_their_own_ledger(engine: Engine) -> None:
    _history(engine)
    policy = load_policy_text(MODIFIED, reps=REPS, teams={"air", "ent"})
    start = NOON + timedelta(hours=2)
    results = route_many(
        engine,
        [
            lead(external_id=f"m{i}", industry="airline", received_at=start + timedelta(minutes=i))
            for i in range(40)
        ],
        policy,
    )
    merit = [r.decision for r in results if r.decision.rotation == "rest#merit"]
    rotated = [r.decision for r in results if r.decision.rotation is None]

    assert merit and rotated
    assert {d.owner for d in merit} == {"ana"}
    counts = Counter(d.owner for d in rotated)
    assert abs(counts["ana"] - counts["bo"]) <= 1  # base leads stay even


SOCIAL = """\
routes:
  - {name: warm, to: {reps: [ana, bo, chen]}, strategy: social}
  - {name: rest, to: {reps: [ana, bo, chen]}, strategy: round_robin}
"""


def test_live_routing_reads_the_stored_relationship_graph(engine: Engine) -> None:
    dana = email_key("dana@our.co") or ""
    jo = email_key("jo@acme.com") or ""
    with engine.begin() as conn:
        save_relationships(
            conn,
            "crm",
            [
                Edge(rep_key("bo"), dana, KNOWS, 0.9, b_label="Dana (employee)"),
                Edge(dana, jo, KNOWS, 0.8),
            ],
        )
    policy = load_policy_text(SOCIAL, reps=REPS, teams={"air", "ent"})

    warm = route_lead(engine, lead(email="jo@acme.com"), policy).decision
    cold = route_lead(engine, lead(email="someone@else.com"), policy).decision

    assert (warm.route, warm.owner) == ("warm", "bo")
    assert "ask Dana (employee) for an introduction" in warm.reason
    assert cold.route == "rest"
    assert cold.trials[0].outcome == "no eligible rep is connected to the lead"
