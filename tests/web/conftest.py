"""Fixtures for the web pages: a SQLite store with a small org, an active policy that sends
leads to each place a page shows (a rep's inbox, a pool, the manual queue), a key per role,
and helpers to sign in the way a browser does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from leadrelay.api import create_app
from leadrelay.api.service import Service
from leadrelay.domain.lead import Lead
from leadrelay.domain.org import Team
from leadrelay.domain.rep import Caps, DateRange, Rep, WorkingHours
from leadrelay.policy import load_policy_text
from leadrelay.store import activate, open_store, save_policy, save_reps, save_teams
from leadrelay.store.keys import create_key

POLICY = """\
version: 1
screening:
  reject:
    - {name: not-served, when: 'country == "KP"'}
  score:
    - {name: big-company, when: 'employees != null and employees >= 1000', points: 40}
    - {name: referral, when: 'source == "referral"', points: 20}
  value_slabs: {high: 50000, medium: 10000}
  priority:
    high: 'score >= 40 or value_slab == "high"'
    medium: 'score >= 20'
capacity:
  default: {per_day: 20, per_week: 60}
routes:
  - name: hand-pick
    when: 'source == "partner"'
    to: {manual: true}
    strategy: manual
  - name: inbound
    when: 'source == "web"'
    to: {pool: sales, owner: ana}
    strategy: claim
  - name: everyone
    to: {team: sales}
    strategy: round_robin
    sla: {accept_within: 1h}
"""

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def reps() -> list[Rep]:
    return [
        Rep("ana", name="Ana Alves", teams=("sales",), caps=Caps(per_day=5)),
        Rep("bo", name="Bo Berg", teams=("sales",)),
        Rep("cy", name="Cy Chen", teams=("sales",)),
        Rep(
            "dee",
            name="Dee Diaz",
            teams=("support",),
            timezone="Europe/Berlin",
            working_hours=WorkingHours.parse("mon-fri 09:00-17:00"),
            out_of_office=(DateRange.parse("2020-01-01..2099-12-31"),),
        ),
    ]


@dataclass
class Web:
    client: TestClient
    engine: Engine
    tokens: dict[str, str]
    routed: dict[str, int] = field(default_factory=dict)

    def header(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def sign_in(self, who: str) -> str:
        """Sign the client in as ``who`` through the form; returns the session's CSRF token."""
        form = self.client.get("/signin")
        token = CSRF.search(form.text)
        assert token is not None
        done = self.client.post(
            "/signin",
            data={"key": self.tokens[who], "csrf": token.group(1), "next": "/"},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        return csrf_of(self.client.get("/dashboard").text)

    def route(self, **fields: Any) -> int:
        return route(self.engine, **fields)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def route(engine: Engine, **fields: Any) -> int:
    """Route one lead live, as POST /v1/leads does; returns its id."""
    from leadrelay.workflow import route_lead

    fields.setdefault("received_at", datetime.now(UTC))
    return route_lead(engine, Lead(**fields), Service(engine).policy()).lead_id


def seed(engine: Engine) -> dict[str, str]:
    with engine.begin() as conn:
        save_reps(conn, reps())
        save_teams(conn, [Team("sales", "Sales", owner="ana"), Team("support", "Support")])
        names = {r.id for r in reps()}
        activate(conn, save_policy(conn, load_policy_text(POLICY, reps=names)))
        tokens = {
            "admin": create_key(conn, "admin", name="ops")[1],
            "manager": create_key(conn, "manager", name="maria")[1],
        }
        for rep in ("ana", "bo", "cy"):
            tokens[rep] = create_key(conn, "rep", rep_id=rep)[1]
    return tokens


def seed_leads(engine: Engine) -> dict[str, int]:
    """A lead in each place: bo's and cy's inboxes, the pool, the manual queue, screened out."""
    return {
        "rr1": route(engine, email="first@big.example", company="Big Co", employees=5000),
        "rr2": route(engine, email="second@small.example", company="Small Co", source="referral"),
        "rr3": route(engine, email="third@tiny.example", company="Tiny Co"),
        "pool": route(engine, email="web@pool.example", company="Pool Co", source="web"),
        "manual": route(engine, email="p@partner.example", company="Partner Co", source="partner"),
        "out": route(engine, email="x@kp.example", company="Nope", country="KP"),
    }


@pytest.fixture
def web(sqlite_url: str) -> Iterator[Web]:
    engine = open_store(sqlite_url)
    tokens = seed(engine)
    routed = seed_leads(engine)
    with TestClient(create_app(engine=engine)) as client:
        yield Web(client, engine, tokens, routed)
    engine.dispose()
