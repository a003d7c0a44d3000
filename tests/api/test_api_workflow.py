"""Decline, reassign (single and a rep's open leads) and team hand-off over HTTP, with roles."""

from __future__ import annotations

from tests.api.conftest import Api

from leadrelay.store.keys import create_key


def _rep_key(api: Api, rep: str) -> dict[str, str]:
    with api.engine.begin() as conn:
        return {"Authorization": f"Bearer {create_key(conn, 'rep', rep_id=rep)[1]}"}


def _leads(api: Api, n: int) -> dict[int, str]:
    """Route ``n`` leads (round robin over ana, bo, cy); lead id -> owner."""
    owners = {}
    for i in range(n):
        body = api.client.post(
            "/v1/leads", json={"email": f"w{i}@x.example"}, headers=api.manager
        ).json()
        owners[int(body["lead_id"])] = body["owner"]
    return owners


def _events(api: Api, lead_id: int) -> list[dict[str, object]]:
    got = api.client.get(f"/v1/leads/{lead_id}/events", headers=api.admin)
    assert got.status_code == 200
    return list(got.json())


def test_the_owner_declines_and_the_lead_moves_on(api: Api) -> None:
    owners = _leads(api, 3)
    lead_id = next(i for i, owner in owners.items() if owner == "bo")
    path = f"/v1/leads/{lead_id}/decline"
    assert api.client.post(path, json={"reason": "x"}, headers=api.manager).status_code == 403
    not_mine = api.client.post(path, json={"reason": "x"}, headers=_rep_key(api, "cy"))
    assert not_mine.status_code == 409
    blank = api.client.post(path, json={"reason": ""}, headers=api.rep_bo)
    assert blank.status_code == 422 and blank.json()["problems"][0]["field"] == "reason"
    done = api.client.post(path, json={"reason": "too busy"}, headers=api.rep_bo)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["previous_owner"] == "bo" and body["owner"] in ("ana", "cy")
    assert [e["kind"] for e in _events(api, lead_id)] == ["routed", "declined", "reassigned"]
    again = api.client.post(path, json={"reason": "again"}, headers=api.rep_bo)
    assert again.status_code == 409
    assert api.client.post("/v1/leads/999/decline", json={"reason": "x"},
                           headers=api.rep_bo).status_code == 404  # fmt: skip


def test_a_manager_reassigns_by_policy_or_to_a_rep_and_a_rep_may_not(api: Api) -> None:
    owners = _leads(api, 1)
    lead_id, first = next(iter(owners.items()))
    path = f"/v1/leads/{lead_id}/reassign"
    assert api.client.post(path, json={"reason": "x"}, headers=api.rep_bo).status_code == 403
    moved = api.client.post(path, json={"reason": "balance"}, headers=api.manager)
    assert moved.status_code == 200 and moved.json()["owner"] not in (None, first)
    named = api.client.post(path, json={"reason": "knows them", "to": "cy"}, headers=api.manager)
    assert named.status_code == 200 and named.json()["owner"] == "cy"
    unknown = api.client.post(path, json={"reason": "x", "to": "zed"}, headers=api.manager)
    assert unknown.status_code == 422 and "zed" in unknown.json()["detail"]
    history = _events(api, lead_id)
    assert [e["kind"] for e in history] == ["routed", "reassigned", "reassigned"]
    assert [e["data"]["reason"] for e in history[1:]] == ["balance", "knows them"]  # type: ignore[index]


def test_reassigning_a_reps_open_leads_moves_them_all_and_deactivates(api: Api) -> None:
    owners = _leads(api, 6)
    bos = sorted(i for i, owner in owners.items() if owner == "bo")
    path = "/v1/reps/bo/reassign-open"
    body = {"reason": "bo left", "deactivate": True}
    assert api.client.post(path, json=body, headers=api.rep_bo).status_code == 403
    assert api.client.post("/v1/reps/zed/reassign-open", json=body,
                           headers=api.manager).status_code == 404  # fmt: skip
    done = api.client.post(path, json=body, headers=api.manager)
    assert done.status_code == 200, done.text
    report = done.json()
    assert report["deactivated"] is True and report["failed"] == []
    assert sorted(m["lead_id"] for m in report["moved"]) == bos
    assert {m["owner"] for m in report["moved"]} <= {"ana", "cy"}
    assert report["counts"] == {"assigned": len(bos)}
    rep = api.client.get("/v1/reps/bo", headers=api.manager).json()
    assert rep["active"] is False


def test_the_team_owner_hands_a_team_lead_to_a_member(api: Api) -> None:
    yaml = {"content-type": "application/yaml"}
    team_policy = "routes:\n  - {name: t, to: {team: sales}, strategy: team}\n"
    assert api.client.put("/v1/policy", content=team_policy, headers=api.admin | yaml).is_success
    lead = api.client.post("/v1/leads", json={"email": "t@x.example"}, headers=api.manager).json()
    assert (lead["status"], lead["owner"]) == ("team", "ana")
    path = f"/v1/leads/{lead['lead_id']}/hand"
    assert api.client.post(path, json={"to": "cy"}, headers=api.rep_bo).status_code == 422
    done = api.client.post(path, json={"to": "cy"}, headers=_rep_key(api, "ana"))
    assert done.status_code == 200 and done.json()["event"] == "handed_off"
    assert done.json()["owner"] == "cy"
