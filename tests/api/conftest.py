"""Fixtures for the HTTP API tests: a store holding a small org and an active policy, the app
on it, and one API key per role. Runs on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from leadrelay.api import create_app
from leadrelay.domain.org import Account, Team
from leadrelay.domain.rep import Rep
from leadrelay.policy import load_policy_text
from leadrelay.store import activate, open_store, save_accounts, save_policy, save_reps, save_teams
from leadrelay.store.keys import create_key
from leadrelay.store.tables import leads

POLICY = """\
version: 1
fields: {seats: integer, plan: string}
screening:
  reject:
    - {name: not-served, when: 'country == "KP"'}
  value_slabs: {high: 50000, medium: 10000}
matching:
  existing_account: account_owner
routes:
  - name: big-deals
    when: 'value_slab == "high"'
    to: {rep: ana}
    strategy: criteria
  - name: everyone
    to: {team: sales}
    strategy: round_robin
"""


@dataclass
class Api:
    client: TestClient
    engine: Engine
    admin: dict[str, str]
    manager: dict[str, str]
    rep_bo: dict[str, str]

    def lead_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(leads)) or 0)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def seed(engine: Engine) -> dict[str, str]:
    """The org (ana, bo, cy in team sales owned by ana; account acme.com owned by cy), the
    policy above active, and a key per role."""
    with engine.begin() as conn:
        save_reps(conn, [Rep(r, name=r.title(), teams=("sales",)) for r in ("ana", "bo", "cy")])
        save_teams(conn, [Team("sales", "Sales", owner="ana")])
        save_accounts(conn, [Account("acme", "Acme Inc", "acme.com", owner="cy")])
        revision = save_policy(conn, load_policy_text(POLICY, reps={"ana", "bo", "cy"}))
        activate(conn, revision)
        return {
            "admin": create_key(conn, "admin")[1],
            "manager": create_key(conn, "manager")[1],
            "rep_bo": create_key(conn, "rep", rep_id="bo")[1],
        }


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    engine = open_store(db_url)
    tokens = seed(engine)
    with TestClient(create_app(engine=engine)) as client:
        yield Api(
            client,
            engine,
            _auth(tokens["admin"]),
            _auth(tokens["manager"]),
            _auth(tokens["rep_bo"]),
        )
    engine.dispose()
