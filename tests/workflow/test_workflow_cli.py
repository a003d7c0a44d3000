"""``leadrelay assign`` and ``leadrelay reassign --rep``: manual moves from the command line,
against the store's active policy, with bad input as exit status 2 and nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from tests.cli.cli_support import run
from tests.workflow.conftest import compiled_policy

from leadrelay.domain.lead import Lead
from leadrelay.store import activate, save_policy
from leadrelay.store.outcomes import lead_events
from leadrelay.workflow import route_lead

POLICY = """\
routes:
  - {name: airlines, to: {reps: [ana, bo, chen]}, strategy: round_robin}
"""
AT = datetime(2026, 11, 23, 15, tzinfo=UTC)


def _active(engine: Engine) -> None:
    with engine.begin() as conn:
        activate(conn, save_policy(conn, compiled_policy(POLICY)))


def test_assign_and_reassign_a_leaving_reps_leads(engine: Engine) -> None:
    _active(engine)
    policy = compiled_policy(POLICY)
    ids = [
        route_lead(engine, Lead(received_at=AT, external_id=f"c{i}", industry="airline"), policy)
        for i in range(3)
    ]
    url = str(engine.url.render_as_string(hide_password=False))
    first = ids[0].lead_id
    assert first is not None
    done = run("assign", str(first), "--to", "dee", "--reason", "knows them", db=url)
    assert done.exit_code == 0, done.stderr
    assert "assigned, dee" in done.stdout
    bad = run("assign", str(first), "--to", "zed", "--reason", "x", db=url)
    assert bad.exit_code == 2 and "no rep 'zed'" in bad.stderr
    no_reason = run("assign", str(first), "--to", "ana", db=url)
    assert no_reason.exit_code == 2 and "reason" in no_reason.stderr
    bulk = run("reassign", "--rep", "bo", "--reason", "bo left", "--deactivate", db=url)
    assert bulk.exit_code == 0, bulk.stderr
    assert "bo: 1 open lead(s) moved (1 assigned); rep deactivated" in bulk.stdout
    with engine.connect() as conn:
        history = lead_events(conn, first)
    assert [e.kind for e in history] == ["routed", "reassigned"]
    assert history[-1].data["reason"] == "knows them"
