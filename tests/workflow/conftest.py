"""Stores for workflow tests, on each backend, plus a small org and policy to route with."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine

from leadrelay.domain import Caps, Lead, Rep, Team
from leadrelay.policy import CompiledPolicy, load_policy_text
from leadrelay.store import open_store, save_policy, save_reps, save_teams
from leadrelay.workflow import RouteResult
from leadrelay.workflow.group import route_group

POLICY = """\
version: 1
screening:
  reject:
    - {name: not-served, when: 'country != null and country not in ["US", "CA", "GB"]'}
capacity:
  default: {per_day: 3, per_week: 10}
routes:
  - name: airlines
    when: 'industry == "airline"'
    to: {reps: [ana, bo, chen]}
    strategy: round_robin
  - {name: banks, when: 'industry == "bank"', to: {team: ent}, strategy: team}
  - {name: rest, to: {reps: [dee, eve]}, strategy: least_loaded}
"""

REPS = [
    Rep(id="ana", teams=("air",)),
    Rep(id="bo", teams=("air",)),
    Rep(id="chen", teams=("air",), timezone="America/Los_Angeles"),
    Rep(id="dee", teams=("ent",)),
    Rep(id="eve", teams=("ent",), timezone="Pacific/Auckland", caps=Caps(per_day=2)),
]
TEAMS = [Team(id="ent", name="Enterprise", owner="dee")]


def compiled_policy(text: str = POLICY, reps: Sequence[Rep] = REPS) -> CompiledPolicy:
    return load_policy_text(text, reps={r.id for r in reps}, teams={"air", "ent"})


def seed(engine: Engine, reps: Sequence[Rep] = REPS, teams: Sequence[Team] = TEAMS) -> None:
    with engine.begin() as conn:
        save_reps(conn, reps)
        save_teams(conn, teams)


def store_for_routers(
    db_url: str, reps: Sequence[Rep], policy: CompiledPolicy
) -> tuple[Engine, int]:
    """An open store holding ``reps`` and ``policy`` (saved): the engine and the policy's
    revision, which routers in other processes compile the policy with."""
    engine = open_store(db_url)
    with engine.begin() as conn:
        save_reps(conn, reps)
        revision = save_policy(conn, policy)
    return engine, revision


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An open store holding the test org."""
    engine = open_store(db_url)
    seed(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def policy() -> CompiledPolicy:
    return compiled_policy()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Engine]]:
    """``new_store()``: another fresh store with the test org, on the same backend each time."""
    with fresh_stores(request, tmp_path, seed) as make:
        yield make


@contextmanager
def fresh_stores(
    request: pytest.FixtureRequest, tmp_path: Path, seed_org: Callable[[Engine], None]
) -> Iterator[Callable[[], Engine]]:
    """A maker of fresh stores seeded by ``seed_org``, on the backend of ``request.param``
    ("sqlite" or "postgresql"); each is disposed of at the end."""
    with ExitStack() as stack:
        made: list[Engine] = []

        def make() -> Engine:
            if request.param == "sqlite":
                url = f"sqlite:///{tmp_path / f'store{len(made)}.db'}"
            else:
                url = stack.enter_context(request.getfixturevalue("new_pg_database")())
            engine = open_store(url)
            seed_org(engine)
            made.append(engine)
            return engine

        yield make
        for engine in made:
            engine.dispose()


class Gate:
    """A route function for group commit whose first call waits until released; records each
    group's external ids."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.groups: list[list[str | None]] = []

    def __call__(
        self, engine: Engine, leads: Sequence[Lead], policy: CompiledPolicy
    ) -> list[RouteResult]:
        if not self.groups:
            self.entered.set()
            assert self.release.wait(10)
        self.groups.append([one.external_id for one in leads])
        return route_group(engine, leads, policy)
