"""Signing in to the pages: the session cookie, CSRF, roles, revocation, redirects."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from tests.web.conftest import Web, csrf_of

from leadrelay.store.keys import revoke_key
from leadrelay.store.tables import api_keys, events
from leadrelay.web.session import COOKIE, MAX_AGE_S, Session, Signer


def test_a_page_without_a_session_sends_you_to_sign_in_and_back(web: Web) -> None:
    answer = web.client.get("/inbox?x=1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=/inbox%3Fx%3D1"


def test_signing_in_sets_a_signed_httponly_strict_cookie_and_lands_by_role(web: Web) -> None:
    web.sign_in("bo")
    cookie = next(
        h for k, h in web.client.get("/signin").headers.multi_items() if k == "set-cookie"
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
    assert web.tokens["bo"] not in cookie  # the secret never goes into the cookie
    assert web.client.get("/", follow_redirects=False).headers["location"] == "/inbox"
    web.client.cookies.clear()
    web.sign_in("manager")
    assert web.client.get("/", follow_redirects=False).headers["location"] == "/console"


def test_an_unknown_key_is_refused_on_the_sign_in_page(web: Web) -> None:
    token = csrf_of(web.client.get("/signin").text)
    answer = web.client.post("/signin", data={"key": "lr_nope_nope", "csrf": token})
    assert answer.status_code == 401
    assert "unknown or revoked" in answer.text
    assert web.client.get("/inbox", follow_redirects=False).status_code == 303


def test_signing_in_needs_the_forms_token(web: Web) -> None:
    web.client.get("/signin")
    answer = web.client.post("/signin", data={"key": web.tokens["bo"], "csrf": "forged"})
    assert answer.status_code == 403
    assert web.client.get("/inbox", follow_redirects=False).status_code == 303


def test_after_sign_in_only_a_local_path_is_followed(web: Web) -> None:
    token = csrf_of(web.client.get("/signin").text)
    for target, expected in (
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/pool", "/pool"),
    ):
        answer = web.client.post(
            "/signin",
            data={"key": web.tokens["bo"], "csrf": token, "next": target},
            follow_redirects=False,
        )
        assert answer.headers["location"] == expected
        token = csrf_of(web.client.get("/signin").text)


def test_a_tampered_cookie_signs_you_out(web: Web) -> None:
    web.sign_in("bo")
    value = web.client.cookies[COOKIE]
    web.client.cookies.clear()
    web.client.cookies.set(COOKIE, value[:-2] + ("00" if not value.endswith("00") else "11"))
    assert web.client.get("/inbox", follow_redirects=False).status_code == 303


def test_revoking_the_key_signs_its_sessions_out(web: Web) -> None:
    web.sign_in("bo")
    assert web.client.get("/inbox").status_code == 200
    with web.engine.begin() as conn:
        prefix = conn.scalar(select(api_keys.c.prefix).where(api_keys.c.rep_id == "bo"))
        assert prefix is not None and revoke_key(conn, prefix)
    answer = web.client.get("/inbox", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(web: Web) -> None:
    web.sign_in("bo")
    lead = web.routed["rr2"]
    for sent in ({}, {"csrf": "wrong"}):
        answer = web.client.post(f"/inbox/{lead}/accept", data=sent)
        assert answer.status_code == 403 and "CSRF" in answer.text
    with web.engine.connect() as conn:
        kinds = list(conn.scalars(select(events.c.kind).where(events.c.lead_id == lead)))
    assert "accepted" not in kinds
    token = csrf_of(web.client.get("/inbox").text)
    assert web.client.post(f"/inbox/{lead}/accept", data={"csrf": token}).status_code == 200


def test_the_csrf_token_may_come_as_the_htmx_header(web: Web) -> None:
    token = web.sign_in("bo")
    answer = web.client.post(
        f"/inbox/{web.routed['rr2']}/accept",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert answer.status_code == 200 and "accepted" in answer.text


def test_a_key_in_the_header_signs_in_without_a_session_or_token(web: Web) -> None:
    answer = web.client.post(f"/inbox/{web.routed['rr2']}/accept", headers=web.header("bo"))
    assert answer.status_code == 200
    assert web.client.get("/inbox", headers={"X-API-Key": web.tokens["bo"]}).status_code == 200
    assert (
        web.client.get(
            "/inbox", headers={"X-API-Key": "lr_x_y"}, follow_redirects=False
        ).status_code
        == 303
    )


def test_signing_out_ends_the_session(web: Web) -> None:
    token = web.sign_in("bo")
    answer = web.client.post("/signout", data={"csrf": token}, follow_redirects=False)
    assert answer.status_code == 303
    assert web.client.get("/inbox", follow_redirects=False).status_code == 303


def test_each_role_sees_only_its_pages(web: Web) -> None:
    refused = {
        "bo": ["/console", "/policy"],
        "manager": ["/policy", "/inbox", "/pool"],
        "admin": ["/inbox"],
    }
    for who, paths in refused.items():
        for path in paths:
            answer = web.client.get(path, headers=web.header(who))
            assert answer.status_code == 403, (who, path)
            assert "text/html" in answer.headers["content-type"]
            assert f"signed in with a {'rep' if who == 'bo' else who} key" in answer.text


def test_pages_are_not_in_the_openapi_schema(web: Web) -> None:
    paths = web.client.get("/openapi.json").json()["paths"]
    assert all(p.startswith("/v1/") for p in paths)


def test_assets_are_served_locally_under_a_strict_content_policy(web: Web) -> None:
    page = web.client.get("/signin")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert 'src="/static/htmx-2.0.11.min.js"' in page.text
    assert "http://" not in page.text and "https://" not in page.text
    script = web.client.get("/static/htmx-2.0.11.min.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert web.client.get("/static/style.css").status_code == 200


# --- the signer alone -----------------------------------------------------------------------

_sessions = st.builds(
    Session,
    prefix=st.none() | st.text(string.hexdigits, min_size=1, max_size=16),
    csrf=st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=40),
    issued=st.integers(1_700_000_000, 1_900_000_000),
)


@given(_sessions)
def test_a_signed_session_reads_back_as_itself(session: Session) -> None:
    assert Signer("s3cret").loads(Signer("s3cret").dumps(session), now=session.issued) == session


@given(_sessions, st.data())
def test_any_change_to_a_signed_session_makes_it_unreadable(
    session: Session, data: st.DataObject
) -> None:
    text = Signer("s3cret").dumps(session)
    at = data.draw(st.integers(0, len(text) - 1))
    swapped = data.draw(st.sampled_from("AQw0._-").filter(lambda c: c != text[at]))
    changed = text[:at] + swapped + text[at + 1 :]
    assert Signer("s3cret").loads(changed, now=session.issued) is None
    assert Signer("other").loads(text, now=session.issued) is None


def test_a_session_older_than_its_lifetime_is_unreadable() -> None:
    session = Session("abcd", "token", 1_800_000_000)
    text = Signer("k").dumps(session)
    assert Signer("k").loads(text, now=1_800_000_000 + MAX_AGE_S) == session
    assert Signer("k").loads(text, now=1_800_000_000 + MAX_AGE_S + 1) is None
    assert Signer("k").loads(text, now=1_800_000_000 - 10) is None
