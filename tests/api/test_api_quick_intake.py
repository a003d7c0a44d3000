"""``POST /v1/leads`` answered the short way (``api.quick_intake``) says exactly what the
endpoint says.

Two stores start alike and get the same requests in the same order: one with
``Content-Type: application/json`` (the short way takes the usual ones), the other with
``application/json; charset=utf-8`` (which the short way leaves to the endpoint, and FastAPI
reads as the same JSON). Every answer must be the same, status and bytes, good request or bad.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError
from tests.api.conftest import seed

from leadrelay.api import create_app, quick_intake
from leadrelay.store import open_store

QUICK = "application/json"
ENDPOINT = "application/json; charset=utf-8"

_ids = st.text("abcdef-0123", min_size=1, max_size=6)
_fields: dict[str, st.SearchStrategy[Any]] = {
    "external_id": st.one_of(_ids, st.integers(0, 9), st.just("")),
    "email": st.sampled_from(
        ["ana@acme.com", "BO+x@Acme.com", "x@gmail.com", "not-an-email", "", " ", 5]
    ),
    "phone": st.sampled_from(["+1 415 555 0101", "12", "", 7]),
    "company": st.one_of(st.sampled_from(["Acme Inc", "Initech", "", "a\x00b"]), st.integers()),
    "domain": st.sampled_from(["acme.com", "initech.io", None]),
    "country": st.sampled_from(["US", "KP", "DE", None, 3]),
    "employees": st.one_of(st.integers(-2, 20_000_000), st.booleans(), st.text(max_size=2)),
    "value": st.one_of(
        st.floats(-10, 2e15, allow_nan=False), st.integers(0, 10**6), st.sampled_from(["9", True])
    ),
    "lat": st.floats(-100, 100, allow_nan=False),
    "received_at": st.sampled_from(
        ["2026-11-23T09:30:00Z", "2026-11-24T16:05:00+01:00", "2026-11-23T09:30:00", "now", 17]
    ),
    "attributes": st.dictionaries(
        st.sampled_from(["seats", "plan", "other", ""]),
        st.one_of(st.integers(-3, 3), st.text(max_size=3), st.booleans(), st.none(), st.floats()),
        max_size=3,
    ),
    "typo": st.just("x"),
}
_documents = st.fixed_dictionaries({}, optional=_fields).map(lambda d: json.dumps(d).encode())
_odd_bodies = st.sampled_from(
    [
        b"",
        b"{",
        b"[]",
        b'"lead"',
        b"null",
        b'{"value": NaN}',
        b'{"employees": 123456789012345678901234567890}',
        b'{"company": "a", "company": 5}',
        b'{"email": "\\ud800@acme.com"}',
        '{"company": "Zürich AG"}'.encode("utf-16"),
        b'{"company": "\xff"}',
    ]
)


def _standard_json(body: bytes) -> bool:
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True


class _Pair:
    """The same app on two stores that start alike."""

    def __init__(self, tmp: Path) -> None:
        self.engines = [open_store(f"sqlite:///{tmp / name}.db") for name in ("quick", "endpoint")]
        tokens = [seed(engine) for engine in self.engines]
        self.tokens = tokens
        self.clients = [TestClient(create_app(engine=e)) for e in self.engines]

    def post(self, which: int, body: bytes, headers: dict[str, str]) -> Any:
        return self.clients[which].post("/v1/leads", content=body, headers=headers)

    def close(self) -> None:
        for client in self.clients:
            client.__exit__(None, None, None)
        for engine in self.engines:
            engine.dispose()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[_Pair]:
    made = _Pair(tmp_path)
    for client in made.clients:
        client.__enter__()
    yield made
    made.close()


@pytest.fixture
def quick_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per lead the short way routed."""
    calls: list[int] = []
    routed_now = quick_intake.routed_now

    async def counted(*args: Any) -> Any:
        calls.append(1)
        return await routed_now(*args)

    monkeypatch.setattr(quick_intake, "routed_now", counted)
    return calls


def _headers(pair: _Pair, which: int, role: str, how: str, idem: str | None) -> dict[str, str]:
    token = pair.tokens[which][role] if role != "nobody" else "lr_unknown.key"
    headers = {"Content-Type": QUICK if which == 0 else ENDPOINT}
    if how == "bearer":
        headers["Authorization"] = f"Bearer {token}"
    else:
        headers["X-API-Key"] = token
    if idem is not None:
        headers["Idempotency-Key"] = idem
    return headers


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    requests=st.lists(
        st.tuples(
            st.one_of(_documents, _documents, _documents, _odd_bodies),
            st.sampled_from(["manager", "manager", "admin", "rep_bo", "nobody"]),
            st.sampled_from(["bearer", "header"]),
            st.one_of(st.none(), st.none(), st.none(), st.sampled_from(["k1", "k2"])),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_every_answer_is_the_endpoints_own(
    pair: _Pair, quick_calls: list[int], requests: list[tuple[bytes, str, str, str | None]]
) -> None:
    service = pair.clients[0].app.state.service  # type: ignore[attr-defined]
    for body, role, how, idem in requests:
        token = pair.tokens[0].get(role, "lr_unknown.key")
        cached = service.cached_caller(token)[0] and service.cached_policy() is not None
        before = len(quick_calls)
        quick = pair.post(0, body, _headers(pair, 0, role, how, idem))
        took_quick = len(quick_calls) - before
        endpoint = pair.post(1, body, _headers(pair, 1, role, how, idem))
        assert len(quick_calls) == before + took_quick  # the other content type: never short
        assert (quick.status_code, quick.content) == (endpoint.status_code, endpoint.content)
        assert quick.headers["content-type"] == endpoint.headers["content-type"]
        # a lead routed without an Idempotency-Key went the short way once the caches held
        # its key and the policy, unless its body was JSON only the stdlib reads (UTF-16);
        # nothing else did
        routed = quick.status_code in (200, 201) and idem is None
        assert took_quick == (routed and cached and _standard_json(body))


def test_the_usual_request_takes_the_short_way(pair: _Pair, quick_calls: list[int]) -> None:
    body = b'{"email": "ana@acme.com", "attributes": {"seats": 3}}'
    headers = _headers(pair, 0, "manager", "bearer", None)
    first = pair.post(0, body, headers)  # fills the key and policy caches the short way reads
    assert first.status_code == 201 and quick_calls == []
    answers = [pair.post(0, body.replace(b"ana", name), headers) for name in (b"bo", b"cy")]
    assert [a.status_code for a in answers] == [201, 201]
    assert len(quick_calls) == 2
    assert answers[0].json()["lead_id"] == first.json()["lead_id"] + 1
    # the request metric names the endpoint's route, as for the endpoint's own answers
    metrics = pair.clients[0].get("/metrics", headers=headers).text
    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith("leadrelay_http_request_seconds_count")
        and 'route="/v1/leads"' in line
        and 'method="POST"' in line
        and 'status="201"' in line
    ]
    assert counted and float(counted[0].rsplit(" ", 1)[1]) >= 3


class _Failing:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def submit(self, *_: Any) -> Future[Any]:
        done: Future[Any] = Future()
        done.set_exception(self.error)
        return done

    def close(self, timeout: float = 30.0) -> None:
        pass


def test_an_error_while_routing_is_answered_by_the_apps_handlers(
    pair: _Pair, quick_calls: list[int]
) -> None:
    headers = _headers(pair, 0, "manager", "bearer", None)
    assert pair.post(0, b"{}", headers).status_code == 201  # caches filled
    service = pair.clients[0].app.state.service  # type: ignore[attr-defined]
    real = service.router
    try:
        service.router = _Failing(OperationalError("INSERT", {}, Exception("server closed")))
        down = pair.post(0, b"{}", headers)
        assert down.status_code == 503 and down.headers["retry-after"] == "1"
        assert "the database is unavailable (server closed)" in down.json()["detail"]
        service.router = _Failing(RuntimeError("a bug"))
        with TestClient(pair.clients[0].app, raise_server_exceptions=False) as client:
            assert client.post("/v1/leads", content=b"{}", headers=headers).status_code == 500
    finally:
        service.router = real
    assert len(quick_calls) == 2  # both errors came the short way


def test_a_body_sent_in_parts_is_read_whole(pair: _Pair, quick_calls: list[int]) -> None:
    headers = _headers(pair, 0, "manager", "bearer", None)
    assert pair.post(0, b"{}", headers).status_code == 201  # caches filled
    body = b'{"email": "part@acme.com", "attributes": {"seats": 2}}'
    parts = [body[:9], body[9:30], body[30:]]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/leads",
        "raw_path": b"/v1/leads",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(pair.clients[0].app(scope, receive, send))
    assert sent[0]["status"] == 201 and len(quick_calls) == 1
    answer = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert answer["status"] == "assigned" and answer["created"] is True
