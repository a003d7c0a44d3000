"""Claiming from a pool, accepting, and manual (re)assignment, over HTTP and under a race."""

from __future__ import annotations

import threading

from tests.api.conftest import Api

from leadrelay.store.keys import create_key
from leadrelay.workflow.handoff import HandoffError, claim

POOL_POLICY = """\
routes:
  - {name: inbound, to: {pool: sales, owner: ana}, strategy: claim}
"""


def _pool_lead(api: Api, email: str) -> int:
    yaml = {"content-type": "application/yaml"}
    assert api.client.put("/v1/policy", content=POOL_POLICY, headers=api.admin | yaml).is_success
    body = api.client.post("/v1/leads", json={"email": email}, headers=api.manager).json()
    assert (body["status"], body["owner"], body["pool"]) == ("pool", "ana", "sales")
    return int(body["lead_id"])


def _rep_key(api: Api, rep: str) -> dict[str, str]:
    with api.engine.begin() as conn:
        return {"Authorization": f"Bearer {create_key(conn, 'rep', rep_id=rep)[1]}"}


def test_a_rep_claims_a_pool_lead_and_a_second_claim_is_409(api: Api) -> None:
    lead_id = _pool_lead(api, "p@p.example")
    won = api.client.post(f"/v1/leads/{lead_id}/claim", headers=api.rep_bo)
    assert won.status_code == 200 and won.json()["owner"] == "bo"
    lost = api.client.post(f"/v1/leads/{lead_id}/claim", headers=_rep_key(api, "cy"))
    assert lost.status_code == 409 and "not open in a pool" in lost.json()["detail"]
    lead = api.client.get(f"/v1/leads/{lead_id}", headers=api.rep_bo).json()
    assert (lead["status"], lead["owner"]) == ("assigned", "bo")
    accepted = api.client.post(f"/v1/leads/{lead_id}/accept", headers=api.rep_bo)
    assert accepted.status_code == 200
    assert api.client.post(f"/v1/leads/{lead_id}/accept", headers=api.rep_bo).status_code == 409
    kinds = [
        e["kind"] for e in api.client.get(f"/v1/leads/{lead_id}/events", headers=api.admin).json()
    ]
    assert kinds == ["routed", "claimed", "accepted"]


def test_racing_claims_have_exactly_one_winner(api: Api) -> None:
    lead_id = _pool_lead(api, "race@p.example")
    start = threading.Barrier(3)
    outcomes: list[str] = []

    def grab(rep: str) -> None:
        start.wait()
        try:
            outcomes.append(claim(api.engine, lead_id, rep).owner or "")
        except HandoffError as exc:
            assert exc.conflict
            outcomes.append("lost")

    threads = [threading.Thread(target=grab, args=(rep,)) for rep in ("ana", "bo", "cy")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count("lost") == 2
    from sqlalchemy import func, select

    from leadrelay.store.tables import assignments

    with api.engine.connect() as conn:
        active = conn.scalar(
            select(func.count()).where(
                assignments.c.lead_id == lead_id, assignments.c.ended_at.is_(None)
            )
        )
    assert active == 1


def test_a_manager_reassigns_with_a_reason_and_the_history_keeps_both(api: Api) -> None:
    body = api.client.post("/v1/leads", json={"email": "m@m.example"}, headers=api.manager).json()
    lead_id, first = body["lead_id"], body["owner"]
    target = "cy" if first != "cy" else "bo"
    no_reason = api.client.post(
        f"/v1/leads/{lead_id}/assign", json={"rep": target, "reason": ""}, headers=api.manager
    )
    assert no_reason.status_code == 422
    moved = api.client.post(
        f"/v1/leads/{lead_id}/assign",
        json={"rep": target, "reason": "speaks German"},
        headers=api.manager,
    )
    assert moved.status_code == 200
    assert (moved.json()["previous_owner"], moved.json()["owner"]) == (first, target)
    events = api.client.get(f"/v1/leads/{lead_id}/events", headers=api.admin).json()
    assert events[-1]["kind"] == "reassigned"
    assert events[-1]["data"]["reason"] == "speaks German"
    assert (
        api.client.post(
            f"/v1/leads/{lead_id}/assign", json={"rep": "zed", "reason": "x"}, headers=api.manager
        ).status_code
        == 422
    )
    assert (
        api.client.post(
            f"/v1/leads/{lead_id}/assign", json={"rep": "bo", "reason": "x"}, headers=api.rep_bo
        ).status_code
        == 403
    )
