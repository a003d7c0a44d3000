"""Concurrent POST /v1/leads through the group commit writer: each request gets its own lead's
answer, idempotency holds within and across groups, and the setting turns grouping off."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.api.conftest import POLICY, Api, seed

from leadrelay.api import create_app
from leadrelay.api.service import Service
from leadrelay.domain.lead import Lead
from leadrelay.policy import load_policy_text
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store import activate, open_store, save_policy
from leadrelay.store.tables import policies
from leadrelay.workflow.assign import RouteResult
from leadrelay.workflow.batcher import Batcher

REQUESTS = 24


def _service(api: Api) -> Service:
    svc: Service = api.client.app.state.service  # type: ignore[attr-defined]
    return svc


def _hold_first_group(batcher: Batcher, until_queued: int) -> list[int]:
    """Make the writer's first group wait until ``until_queued`` more leads are queued, so the
    next group surely holds them all; the sizes of the groups routed."""
    real = batcher._route
    sizes: list[int] = []

    def held(engine: Any, leads: Sequence[Lead], policy: CompiledPolicy) -> list[RouteResult]:
        if not sizes:
            deadline = time.monotonic() + 10
            while batcher._queue.qsize() < until_queued and time.monotonic() < deadline:
                time.sleep(0.005)
        sizes.append(len(leads))
        return real(engine, leads, policy)

    batcher._route = held
    return sizes


def _post_all(api: Api, bodies: list[dict[str, Any]], headers: list[dict[str, str]]) -> list[Any]:
    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(
            pool.map(
                lambda bh: api.client.post("/v1/leads", json=bh[0], headers=api.manager | bh[1]),
                zip(bodies, headers, strict=True),
            )
        )


def test_concurrent_requests_share_a_group_and_each_gets_its_own_lead(api: Api) -> None:
    batcher = _service(api).router
    assert isinstance(batcher, Batcher)  # no routing process under the test client
    sizes = _hold_first_group(batcher, REQUESTS - 1)
    bodies = [{"external_id": f"c{i}", "email": f"p{i}@x.example"} for i in range(REQUESTS)]
    answers = _post_all(api, bodies, [{}] * REQUESTS)

    assert [a.status_code for a in answers] == [201] * REQUESTS
    assert [a.json()["external_id"] for a in answers] == [b["external_id"] for b in bodies]
    ids = [a.json()["lead_id"] for a in answers]
    assert len(set(ids)) == REQUESTS
    assert max(sizes) > 1 and sum(sizes) == REQUESTS  # they were grouped
    owners = Counter(a.json()["owner"] for a in answers)
    assert max(owners.values()) - min(owners.values()) <= 1  # round robin over ana, bo, cy
    for answer in answers:  # each answer is the stored lead's
        stored = api.client.get(f"/v1/leads/{answer.json()['lead_id']}", headers=api.manager)
        assert stored.json()["owner"] == answer.json()["owner"]
        assert stored.json()["fields"]["external_id"] == answer.json()["external_id"]
    assert api.lead_count() == REQUESTS


def test_one_external_id_sent_at_once_is_routed_once(api: Api) -> None:
    batcher = _service(api).router
    assert isinstance(batcher, Batcher)  # no routing process under the test client
    _hold_first_group(batcher, REQUESTS - 1)
    bodies = [{"external_id": "same" if i % 2 else f"u{i}"} for i in range(REQUESTS)]
    answers = _post_all(api, bodies, [{}] * REQUESTS)

    same = [a for a, b in zip(answers, bodies, strict=True) if b["external_id"] == "same"]
    assert sorted(a.status_code for a in same) == [200] * (len(same) - 1) + [201]
    assert len({a.json()["lead_id"] for a in same}) == 1
    assert len({a.json()["owner"] for a in same}) == 1
    assert api.lead_count() == REQUESTS // 2 + 1


def test_idempotency_keys_hold_within_and_across_groups(api: Api) -> None:
    batcher = _service(api).router
    assert isinstance(batcher, Batcher)  # no routing process under the test client
    bodies = [{"external_id": f"k{i}"} for i in range(8)]
    headers = [{"Idempotency-Key": f"key-{i}"} for i in range(8)]
    first = _post_all(api, bodies, headers)
    again = _post_all(api, bodies, headers)
    assert [a.status_code for a in first] == [201] * 8
    assert [a.status_code for a in again] == [201] * 8
    assert [a.json() for a in again] == [a.json() for a in first]
    assert all(a.headers.get("Idempotent-Replayed") == "true" for a in again)
    reused = api.client.post(
        "/v1/leads", json={"external_id": "other"}, headers=api.manager | headers[0]
    )
    assert reused.status_code == 422
    assert api.lead_count() == 8


@pytest.mark.parametrize("setting", ["0", "1"])
def test_the_setting_turns_group_commit_off_and_on(
    setting: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADRELAY_GROUP_COMMIT", setting)
    engine = open_store(db_url)
    tokens = seed(engine)
    try:
        with TestClient(create_app(engine=engine)) as client:
            svc: Service = client.app.state.service  # type: ignore[attr-defined]
            assert (svc.router is not None) == (setting == "1")
            manager = {"Authorization": f"Bearer {tokens['manager']}"}
            post: Callable[[int], Any] = lambda i: client.post(  # noqa: E731
                "/v1/leads", json={"external_id": f"s{i}"}, headers=manager
            )
            with ThreadPoolExecutor(6) as pool:
                answers = list(pool.map(post, range(6)))
            assert [a.status_code for a in answers] == [201] * 6
            assert len({a.json()["lead_id"] for a in answers}) == 6
    finally:
        engine.dispose()


def test_a_key_seen_recently_is_known_without_a_database_read(api: Api) -> None:
    svc = _service(api)
    token = api.manager["Authorization"].removeprefix("Bearer ")
    assert svc.cached_caller(token) == (False, None)
    api.client.get("/v1/leads", headers=api.manager)
    found, key = svc.cached_caller(token)
    assert found and key is not None and key.role == "manager"
    svc.forget_keys()
    assert svc.cached_caller(token) == (False, None)


def test_an_old_policy_serves_while_one_thread_reads_the_new_one(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its time the held policy still answers at once; one read (not one per request)
    brings the one another process activated meanwhile; none active drops it."""
    import leadrelay.api.service as service_module

    svc = _service(api)
    monkeypatch.setattr(service_module, "POLICY_TTL_S", 0.0)  # every policy held is old
    svc.forget_policy()
    first = svc.policy()
    with api.engine.begin() as conn:  # as another process would
        newer = save_policy(conn, load_policy_text(POLICY, reps={"ana", "bo", "cy"}))
        activate(conn, newer)
    reads = {"n": 0}
    real_read = svc.policy

    def counted() -> CompiledPolicy:
        reads["n"] += 1
        time.sleep(0.05)  # a slow read: requests arriving meanwhile must not wait for it
        return real_read()

    monkeypatch.setattr(svc, "policy", counted)

    def read_done() -> None:
        deadline = time.monotonic() + 10
        while svc._reading.locked() and time.monotonic() < deadline:
            time.sleep(0.005)

    assert [svc.cached_policy() for _ in range(20)] == [first] * 20  # none waited
    read_done()
    assert reads["n"] == 1  # one read for them all
    held = svc.cached_policy()
    assert held is not None and held.revision == newer
    read_done()
    with api.engine.begin() as conn:
        conn.execute(update(policies).values(active=False))
    assert svc.cached_policy() is not None  # the one held, while the next read runs
    read_done()
    assert svc.cached_policy() is None  # none active: the next request reads and says so


def test_workers_of_leadrelay_serve_hand_their_leads_to_its_routing_process(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadrelay.workflow.router_client import RouterClient

    monkeypatch.setenv("LEADRELAY_ROUTER_SOCKET", "/run/leadrelay/router.sock")
    engine = open_store(db_url)
    try:
        router = Service(engine).router
        assert isinstance(router, RouterClient) and router.path == "/run/leadrelay/router.sock"
        monkeypatch.setenv("LEADRELAY_GROUP_COMMIT", "0")
        assert Service(engine).router is None
    finally:
        engine.dispose()
