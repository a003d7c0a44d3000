"""``bench.sql_floor`` records the SQL routing sends and replays exactly that work.

The live and bulk benchmarks print the replay's rate as the floor under routing on SQLite; it
is only a floor if the replay redoes the routing, row for row, and its check notices when not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bench.live import STORE_FILE, fresh_store
from bench.org import build_org, load_policy, make_leads, policy_dict
from bench.sql_floor import Recorder

from leadrelay.workflow import route_lead, route_many


@pytest.fixture(scope="module")
def setup() -> tuple[Any, ...]:
    org = build_org()
    return org, load_policy(policy_dict(), org), make_leads(60)


@pytest.mark.parametrize("bulk", [False, True], ids=["route_lead", "route_many"])
def test_replay_redoes_the_routing_exactly(
    tmp_path: Path, setup: tuple[Any, ...], bulk: bool
) -> None:
    org, policy, leads = setup
    recorder = Recorder()
    engine, loaded = fresh_store(tmp_path, org, policy, connect_args=recorder.connect_args())

    def work() -> None:
        if bulk:
            route_many(engine, leads[20:], loaded)
        else:
            for lead in leads[20:]:
                route_lead(engine, lead, loaded)

    made = recorder.record(
        engine,
        tmp_path / STORE_FILE,
        warm_up=lambda: [route_lead(engine, lead, loaded) for lead in leads[:20]],
        work=work,
    )
    kinds = [kind for kind, _, _ in made.steps]
    assert kinds.count("commit") == (1 if bulk else 40)  # one transaction a lead, or one
    assert made.statements() >= 40 * 4  # at least the lead, decision, assignment, event rows
    assert any(sql.startswith("INSERT INTO leads ") for _, sql, _ in made.steps)

    replayed = tmp_path / "replay" / STORE_FILE
    assert made.replay(replayed) > 0
    made.check(replayed)  # the very rows routing wrote, in every table

    # Leave out every write but the lead rows: the check must notice.
    made.replay(replayed, keep=lambda sql: sql.startswith(("BEGIN", "INSERT INTO leads ")))
    with pytest.raises(AssertionError, match="assignments"):
        made.check(replayed)
