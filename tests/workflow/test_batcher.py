"""The group commit writer: groups what queues while it is busy, answers each caller with its
own result, and keeps one caller's failure from becoming another's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from tests.builders import lead
from tests.workflow.conftest import REPS, TEAMS, Gate, compiled_policy

from leadrelay.domain.lead import Lead
from leadrelay.policy import CompiledPolicy
from leadrelay.store import open_store, save_reps, save_teams
from leadrelay.workflow import RouteResult, route_lead
from leadrelay.workflow import batcher as batcher_module
from leadrelay.workflow.batcher import Batcher


@pytest.fixture
def store(tmp_path: Path) -> Engine:
    engine = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    with engine.begin() as conn:
        save_reps(conn, REPS)
        save_teams(conn, TEAMS)
    return engine


def test_a_lone_lead_goes_alone_and_what_queues_meanwhile_goes_together(store: Engine) -> None:
    policy = compiled_policy()
    gate = Gate()
    batcher = Batcher(store, max_group=3, route=gate)
    first = batcher.submit(lead(external_id="a0", industry="airline"), policy)
    assert gate.entered.wait(10)
    rest = [
        batcher.submit(lead(external_id=f"a{i}", industry="airline"), policy) for i in (1, 2, 3, 4)
    ]
    gate.release.set()
    results = [first.result(10)] + [f.result(10) for f in rest]
    batcher.close()

    assert gate.groups == [["a0"], ["a1", "a2", "a3"], ["a4"]]  # max_group caps a group
    assert [r.decision.owner for r in results] == ["ana", "bo", "chen", "ana", "bo"]
    assert len({r.lead_id for r in results}) == 5
    assert batcher.stats.groups == 3 and batcher.stats.largest == 3


def test_a_group_that_breaks_a_constraint_is_routed_lead_by_lead(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the lead whose own transaction fails gets an error; the others are routed."""
    policy = compiled_policy()

    def broken_group(engine: Engine, leads: Sequence[Lead], p: CompiledPolicy) -> list[RouteResult]:
        raise IntegrityError("INSERT", {}, Exception("constraint"))

    def single(engine: Engine, one: Lead, p: CompiledPolicy) -> RouteResult:
        if one.external_id == "bad":
            raise IntegrityError("INSERT", {}, Exception("bad row"))
        return route_lead(engine, one, p)

    monkeypatch.setattr(batcher_module, "route_lead", single)
    gate = Gate()
    batcher = Batcher(store, route=gate)
    first = batcher.submit(lead(external_id="ok0", industry="airline"), policy)
    assert gate.entered.wait(10)
    gate_route = batcher._route
    batcher._route = broken_group
    futures = [
        batcher.submit(lead(external_id=ext, industry="airline"), policy)
        for ext in ("ok1", "bad", "ok2")
    ]
    gate.release.set()
    assert first.result(10).created  # the gate's group, routed before the swap took effect
    assert futures[0].result(10).decision.owner is not None
    with pytest.raises(IntegrityError, match="bad row"):
        futures[1].result(10)
    assert futures[2].result(10).created
    assert batcher.stats.split == 1
    batcher._route = gate_route
    batcher.close()


def test_a_database_that_is_down_fails_the_whole_group_at_once(store: Engine) -> None:
    policy = compiled_policy()
    calls: list[int] = []

    def down(engine: Engine, leads: Sequence[Lead], p: CompiledPolicy) -> list[RouteResult]:
        calls.append(len(leads))
        raise OperationalError("connect", {}, Exception("connection refused"))

    batcher = Batcher(store, route=down)
    futures = [batcher.submit(lead(external_id=f"d{i}"), policy) for i in range(4)]
    for future in futures:
        with pytest.raises(OperationalError):
            future.result(10)
    batcher.close()
    assert sum(calls) == 4 and batcher.stats.split == 0


def test_after_close_a_lead_is_refused_with_a_clear_error(store: Engine) -> None:
    from leadrelay.errors import StoreError

    batcher = Batcher(store)
    batcher.close()
    with pytest.raises(StoreError, match="shutting down"):
        batcher.submit(lead(external_id="late"), compiled_policy())
