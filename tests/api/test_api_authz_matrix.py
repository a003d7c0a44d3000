"""Who may call what, for every route the app serves: admin, manager, rep, no key, revoked key.

``TABLE`` is the expected access of each route (method, path template), as data; the tests
check that it names exactly the app's routes (a new endpoint without an entry fails the suite)
and that every role gets what its row says:

- API routes (``/v1/...``, ``/metrics``): no key or a revoked key is 401; a role without the
  right is 403; a rep asking for a lead it does not own gets 404 (a lead it may not read does
  not exist for it), as on ``GET /v1/leads/{id}``;
- web pages: no key or a revoked key is a 303 to ``/signin?next=...``; a role without the right
  gets a 403 page;
- everyone else gets a 2xx (pages: 2xx or a 303 onwards). Each request is a valid one, on a
  fresh lead where it changes one, so a pass means the role was let through and served.

``docs/api.md`` carries the same table, rendered by ``markdown_table()``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from leadrelay.api import create_app
from leadrelay.domain.lead import Lead
from leadrelay.domain.org import Account, Team
from leadrelay.domain.rep import Rep
from leadrelay.policy import load_policy_text
from leadrelay.store import activate, open_store, save_accounts, save_policy, save_reps, save_teams
from leadrelay.store.keys import create_key, find_key, revoke_key

# What each access level means, for the docs.
MEANING = {
    "public": "anyone, no key",
    "any": "any valid key (admin, manager, rep)",
    "own": "admin and manager: any lead; rep: only its own leads (others: 404)",
    "staff": "admin and manager (rep: 403)",
    "admin": "admin only (manager, rep: 403)",
    "rep": "a rep key only, acting as its rep (admin, manager: 403)",
}
ROLES = ("admin", "manager", "rep", "no key", "revoked")
ALLOWED = {
    "public": set(ROLES),
    "any": {"admin", "manager", "rep"},
    "own": {"admin", "manager", "rep"},
    "staff": {"admin", "manager"},
    "admin": {"admin"},
    "rep": {"rep"},
}

POLICY = """\
version: 1
routes:
  - {name: to-bo, when: 'source == "bo"', to: {rep: bo}, strategy: criteria}
  - {name: to-ana, when: 'source == "ana"', to: {rep: ana}, strategy: criteria}
  - {name: team, when: 'source == "team"', to: {team: sales}, strategy: team}
  - {name: pool, when: 'source == "web"', to: {pool: sales, owner: ana}, strategy: claim}
  - {name: review, when: 'source == "review"', to: {manual: true}, strategy: manual}
  - {name: everyone, to: {team: sales}, strategy: round_robin}
experiments:
  - {name: pilot, share: 0.5, when: 'source == "exp"', route: {to: {team: sales}}}
"""
_ids = itertools.count(1)


@dataclass
class World:
    """A store with ana, bo and cy in team sales (owned by bo), a key per role (the rep key is
    bo's), the app on it, and a way to route a fresh lead to a chosen place."""

    engine: Engine
    client: TestClient
    tokens: dict[str, str]

    def lead(self, source: str) -> int:
        """A new lead: "bo"/"ana" owned by that rep, "team" held by sales, "web" in the pool,
        "review" in the manual queue."""
        from leadrelay.api.service import Service
        from leadrelay.workflow import route_lead

        n = next(_ids)
        lead = Lead(external_id=f"m-{n}", email=f"m{n}@x.example", source=source,
                    received_at=datetime.now(UTC))  # fmt: skip
        result = route_lead(self.engine, lead, Service(self.engine).policy())
        assert result.lead_id is not None
        return result.lead_id

    def rep(self) -> str:
        rep_id = f"tmp{next(_ids)}"
        with self.engine.begin() as conn:
            save_reps(conn, [Rep(rep_id, teams=("sales",))])
        return rep_id

    def account(self) -> str:
        account_id = f"acct{next(_ids)}"
        with self.engine.begin() as conn:
            save_accounts(conn, [Account(account_id, account_id, f"{account_id}.example")])
        return account_id


@dataclass(frozen=True)
class Call:
    path: str
    json: Any = None
    data: dict[str, str] | None = None
    content: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


Make = Callable[[World], Call]


def at(path: str, **kw: Any) -> Make:
    return lambda w: Call(path, **kw)


def on_lead(source: str, template: str, **kw: Any) -> Make:
    return lambda w: Call(template.format(id=w.lead(source)), **kw)


@dataclass(frozen=True)
class Rule:
    access: str
    make: Make


def _signin(w: World) -> Call:
    """The sign-in form posted the way a browser does: its CSRF token from the form's cookie."""
    import re

    form = w.client.get("/signin")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    return Call(
        "/signin",
        data={"key": w.tokens["admin"], "csrf": token.group(1), "next": "/"},
        cookies=dict(form.cookies),
    )


YAML = {"content-type": "application/yaml"}

TABLE: dict[tuple[str, str], Rule] = {
    # service and docs
    ("GET", "/healthz"): Rule("public", at("/healthz")),
    ("GET", "/openapi.json"): Rule("public", at("/openapi.json")),
    ("GET", "/docs"): Rule("public", at("/docs")),
    ("GET", "/docs/oauth2-redirect"): Rule("public", at("/docs/oauth2-redirect")),
    ("GET", "/redoc"): Rule("public", at("/redoc")),
    ("GET", "/static/{path}"): Rule("public", at("/static/style.css")),
    ("GET", "/metrics"): Rule("staff", at("/metrics")),
    # leads
    ("POST", "/v1/leads"): Rule("staff", lambda w: Call("/v1/leads", json={"source": "bo"})),
    ("POST", "/v1/leads/batch"): Rule(
        "staff", at("/v1/leads/batch", json={"leads": [{"source": "bo"}]})
    ),
    ("GET", "/v1/leads"): Rule("any", at("/v1/leads")),
    ("GET", "/v1/leads/{lead_id}"): Rule("own", on_lead("bo", "/v1/leads/{id}")),
    ("GET", "/v1/leads/{lead_id}/decision"): Rule("own", on_lead("bo", "/v1/leads/{id}/decision")),
    ("POST", "/v1/leads/{lead_id}/outcomes"): Rule(
        "own", on_lead("bo", "/v1/leads/{id}/outcomes", json={"kind": "contacted"})
    ),
    ("GET", "/v1/leads/{lead_id}/events"): Rule("own", on_lead("bo", "/v1/leads/{id}/events")),
    ("POST", "/v1/leads/{lead_id}/claim"): Rule("rep", on_lead("web", "/v1/leads/{id}/claim")),
    ("POST", "/v1/leads/{lead_id}/accept"): Rule("rep", on_lead("bo", "/v1/leads/{id}/accept")),
    ("POST", "/v1/leads/{lead_id}/assign"): Rule(
        "staff", on_lead("review", "/v1/leads/{id}/assign", json={"rep": "cy", "reason": "fit"})
    ),
    ("POST", "/v1/leads/{lead_id}/decline"): Rule(
        "rep", on_lead("bo", "/v1/leads/{id}/decline", json={"reason": "not mine"})
    ),
    ("POST", "/v1/leads/{lead_id}/reassign"): Rule(
        "staff", on_lead("bo", "/v1/leads/{id}/reassign", json={"to": "cy", "reason": "away"})
    ),
    ("POST", "/v1/leads/{lead_id}/hand"): Rule(
        "rep", on_lead("team", "/v1/leads/{id}/hand", json={"to": "cy"})
    ),
    # the org
    ("GET", "/v1/reps"): Rule("any", at("/v1/reps")),
    ("GET", "/v1/reps/{rep_id}"): Rule("any", at("/v1/reps/ana")),
    ("PUT", "/v1/reps/{rep_id}"): Rule(
        "staff", lambda w: Call(f"/v1/reps/new{next(_ids)}", json={"teams": ["sales"]})
    ),
    ("DELETE", "/v1/reps/{rep_id}"): Rule("staff", lambda w: Call(f"/v1/reps/{w.rep()}")),
    ("POST", "/v1/reps/{rep_id}/reassign-open"): Rule(
        "staff", lambda w: Call(f"/v1/reps/{w.rep()}/reassign-open", json={"reason": "left"})
    ),
    ("GET", "/v1/teams"): Rule("any", at("/v1/teams")),
    ("GET", "/v1/teams/{team_id}"): Rule("any", at("/v1/teams/sales")),
    ("PUT", "/v1/teams/{team_id}"): Rule(
        "staff", lambda w: Call(f"/v1/teams/t{next(_ids)}", json={"owner": "ana"})
    ),
    ("GET", "/v1/accounts"): Rule("any", at("/v1/accounts")),
    ("GET", "/v1/accounts/{account_id}"): Rule("any", at("/v1/accounts/acme")),
    ("PUT", "/v1/accounts/{account_id}"): Rule(
        "staff", lambda w: Call(f"/v1/accounts/a{next(_ids)}", json={"owner": "ana"})
    ),
    ("DELETE", "/v1/accounts/{account_id}"): Rule(
        "staff", lambda w: Call(f"/v1/accounts/{w.account()}")
    ),
    # the policy and measurement
    ("PUT", "/v1/policy"): Rule("admin", at("/v1/policy", content=POLICY, headers=YAML)),
    ("GET", "/v1/policy"): Rule("any", at("/v1/policy")),
    ("GET", "/v1/policy/versions"): Rule("any", at("/v1/policy/versions")),
    ("GET", "/v1/policy/versions/{revision}"): Rule("any", at("/v1/policy/versions/1")),
    ("GET", "/v1/kpis"): Rule("any", at("/v1/kpis")),
    ("GET", "/v1/fairness"): Rule("any", at("/v1/fairness")),
    ("GET", "/v1/experiments/{name}"): Rule("staff", at("/v1/experiments/pilot")),
    # web pages
    ("GET", "/"): Rule("any", at("/")),
    ("GET", "/signin"): Rule("public", at("/signin")),
    ("POST", "/signin"): Rule("public", _signin),
    ("POST", "/signout"): Rule("any", at("/signout")),
    ("GET", "/inbox"): Rule("rep", at("/inbox")),
    ("POST", "/inbox/{lead_id}/accept"): Rule("rep", on_lead("bo", "/inbox/{id}/accept")),
    ("POST", "/inbox/{lead_id}/decline"): Rule(
        "rep", on_lead("bo", "/inbox/{id}/decline", data={"reason": "not mine"})
    ),
    ("POST", "/inbox/{lead_id}/outcome"): Rule(
        "rep", on_lead("bo", "/inbox/{id}/outcome", data={"kind": "contacted"})
    ),
    ("GET", "/pool"): Rule("rep", at("/pool")),
    ("POST", "/pool/{lead_id}/claim"): Rule("rep", on_lead("web", "/pool/{id}/claim")),
    ("GET", "/console"): Rule("staff", at("/console")),
    ("POST", "/console/{lead_id}/assign"): Rule(
        "staff", on_lead("review", "/console/{id}/assign", data={"rep": "cy", "reason": "fit"})
    ),
    ("POST", "/console/reassign"): Rule(
        "staff",
        lambda w: Call(
            "/console/reassign", data={"lead": str(w.lead("bo")), "to": "cy", "reason": "away"}
        ),
    ),
    ("POST", "/console/hand-on"): Rule(
        "staff", lambda w: Call("/console/hand-on", data={"rep": w.rep(), "reason": "left"})
    ),
    ("GET", "/leads/{lead_id}"): Rule("own", on_lead("bo", "/leads/{id}")),
    ("GET", "/dashboard"): Rule("any", at("/dashboard")),
    ("GET", "/policy"): Rule("admin", at("/policy")),
    ("POST", "/policy"): Rule("admin", at("/policy", data={"action": "check", "text": POLICY})),
}


def app_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path template) the app answers; HEAD rides along with GET."""
    found = set()
    for context in iter_route_contexts(app.routes):
        path = context.path_format
        methods = context.methods or {"GET"}  # a mount (static files) serves GET
        found |= {(method, path) for method in methods if method != "HEAD"}
    return found


def is_page(path: str) -> bool:
    """Web pages answer a missing sign-in with a redirect, the API with 401."""
    return not path.startswith("/v1/") and path != "/metrics"


def seed(engine: Engine) -> dict[str, str]:
    with engine.begin() as conn:
        save_reps(conn, [Rep(r, name=r.title(), teams=("sales",)) for r in ("ana", "bo", "cy")])
        save_teams(conn, [Team("sales", "Sales", owner="bo")])
        save_accounts(conn, [Account("acme", "Acme Inc", "acme.com", owner="ana")])
        activate(conn, save_policy(conn, load_policy_text(POLICY, reps={"ana", "bo", "cy"})))
        tokens = {
            "admin": create_key(conn, "admin")[1],
            "manager": create_key(conn, "manager")[1],
            "rep": create_key(conn, "rep", rep_id="bo")[1],
            "revoked": create_key(conn, "manager")[1],
        }
        found = find_key(conn, tokens["revoked"])
        assert found is not None and revoke_key(conn, found.prefix)
    return tokens


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    engine = open_store(f"sqlite:///{tmp_path / 'leadrelay.db'}")
    tokens = seed(engine)
    with TestClient(create_app(engine=engine)) as client:
        yield World(engine, client, tokens)
    engine.dispose()


def send(world: World, method: str, call: Call, role: str) -> Any:
    headers = dict(call.headers)
    if role in world.tokens:
        headers["Authorization"] = f"Bearer {world.tokens[role]}"
    world.client.cookies.clear()  # each request stands alone: no session from an earlier one
    world.client.cookies.update(call.cookies)
    return world.client.request(
        method, call.path, json=call.json, data=call.data, content=call.content,
        headers=headers, follow_redirects=False,
    )  # fmt: skip


def test_the_table_names_every_route_of_the_app_and_nothing_else(world: World) -> None:
    served = app_routes(world.client.app)
    missing = sorted(served - set(TABLE))
    assert not missing, f"routes without an entry in TABLE (who may call them?): {missing}"
    assert not sorted(set(TABLE) - served), "TABLE names routes the app no longer serves"
    assert {rule.access for rule in TABLE.values()} <= set(MEANING)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_the_table_says(world: World, role: str) -> None:
    wrong: list[str] = []
    for (method, path), rule in sorted(TABLE.items()):
        call = rule.make(world)
        response = send(world, method, call, role)
        got = response.status_code
        location = response.headers.get("location", "")
        if role in ALLOWED[rule.access]:
            ok = 200 <= got < 300 or (is_page(path) and got == 303)
            if ok and got == 303 and role != "no key":
                ok = not location.startswith("/signin?")  # let through, not sent to sign in
        elif role in ("no key", "revoked"):
            ok = got == 303 and location.startswith("/signin?") if is_page(path) else got == 401
        else:
            ok = got == 403
        if not ok:
            wrong.append(f"{method} {path} as {role}: {got} {response.text[:160]!r}")
    assert wrong == []


def test_a_rep_cannot_see_or_touch_another_reps_lead(world: World) -> None:
    """Every 'own' route, and the rep-only routes on a lead, refuse ana's lead to bo's key."""
    for (method, path), rule in sorted(TABLE.items()):
        if "{lead_id}" not in path or rule.access not in ("own", "rep") or "claim" in path:
            continue
        others = path.replace("{lead_id}", str(world.lead("ana")))
        call = rule.make(world)
        response = send(world, method, Call(others, call.json, call.data), "rep")
        expected = (404,) if rule.access == "own" else (404, 403, 409, 422)
        assert response.status_code in expected, f"{method} {path}: {response.status_code}"
        assert response.status_code != 200


def markdown_table() -> str:
    """The matrix as docs/api.md shows it."""
    lines = ["| method | path | who may call it |", "|---|---|---|"]
    for (method, path), rule in sorted(TABLE.items(), key=lambda item: (item[0][1], item[0][0])):
        lines.append(f"| {method} | `{path}` | {rule.access}: {MEANING[rule.access]} |")
    return "\n".join(lines)


def test_docs_show_the_same_table() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    assert markdown_table() in docs, (
        "docs/api.md 'Authorisation matrix' is out of date: paste in"
        " tests.api.test_api_authz_matrix.markdown_table()"
    )
