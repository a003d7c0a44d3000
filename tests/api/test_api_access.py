"""API keys and roles; reps, teams, accounts and the policy over HTTP."""

from __future__ import annotations

from tests.api.conftest import POLICY, Api

from leadrelay.store.keys import find_key, list_keys, revoke_key


def test_no_key_or_a_wrong_key_is_401(api: Api) -> None:
    assert api.client.get("/v1/leads").status_code == 401
    bad = {"Authorization": "Bearer lr_00000000_nope"}
    assert api.client.get("/v1/leads", headers=bad).status_code == 401
    assert api.client.get("/v1/leads", headers={"X-API-Key": "garbage"}).status_code == 401


def test_the_openapi_document_names_both_ways_to_send_a_key_where_one_is_needed(
    api: Api,
) -> None:
    """The key is read by one dependency (``auth.caller``); the document still says, for every
    operation that needs a key and only those, that it goes as a bearer token or X-API-Key."""
    schema = api.client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "an API key: `leadrelay keys create`",
        },
        "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    security = {
        (method, path): operation.get("security")
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }
    either = [{"HTTPBearer": []}, {"APIKeyHeader": []}]
    assert security[("post", "/v1/leads")] == either  # admin or manager
    assert security[("put", "/v1/policy")] == either  # admin only
    assert security[("get", "/v1/leads")] == either  # any key
    assert all(needs == either for needs in security.values())  # no operation goes without


def test_the_key_works_in_either_header_and_a_bearer_token_wins(api: Api) -> None:
    token = api.manager["Authorization"].removeprefix("Bearer ")
    assert api.client.get("/v1/leads", headers={"X-API-Key": token}).status_code == 200
    both = {"Authorization": "Bearer lr_00000000_nope", "X-API-Key": token}
    assert api.client.get("/v1/leads", headers=both).status_code == 401
    basic = {"Authorization": f"Basic {token}"}  # not a bearer token: no key sent
    assert api.client.get("/v1/leads", headers=basic).status_code == 401


def test_keys_are_stored_as_digests_and_can_be_revoked(api: Api) -> None:
    token = api.manager["Authorization"].removeprefix("Bearer ")
    with api.engine.begin() as conn:
        key = find_key(conn, token)
        assert key is not None and key.role == "manager"
        assert all(token not in repr(k) for k in list_keys(conn))
        assert revoke_key(conn, key.prefix)
    api.client.app.state.service.forget_keys()  # another process would see it within seconds
    assert api.client.get("/v1/leads", headers=api.manager).status_code == 401


def test_a_rep_reads_only_its_own_leads(api: Api) -> None:
    owners = {}
    for i in range(3):
        body = api.client.post(
            "/v1/leads", json={"email": f"r{i}@r.example"}, headers=api.manager
        ).json()
        owners[body["lead_id"]] = body["owner"]
    mine = [lead_id for lead_id, owner in owners.items() if owner == "bo"]
    theirs = [lead_id for lead_id, owner in owners.items() if owner != "bo"]
    page = api.client.get("/v1/leads", headers=api.rep_bo).json()
    assert [lead["id"] for lead in page["leads"]] == mine
    assert api.client.get("/v1/leads?owner=ana", headers=api.rep_bo).json()["leads"] == []
    assert api.client.get(f"/v1/leads/{mine[0]}", headers=api.rep_bo).status_code == 200
    for lead_id in theirs:
        assert api.client.get(f"/v1/leads/{lead_id}", headers=api.rep_bo).status_code == 404
        path = f"/v1/leads/{lead_id}/decision"
        assert api.client.get(path, headers=api.rep_bo).status_code == 404


def test_a_rep_key_cannot_send_leads_or_change_the_org(api: Api) -> None:
    assert api.client.post("/v1/leads", json={}, headers=api.rep_bo).status_code == 403
    assert api.client.put("/v1/reps/zed", json={}, headers=api.rep_bo).status_code == 403


def test_only_an_admin_changes_the_policy(api: Api) -> None:
    yaml = {"content-type": "application/yaml"}
    response = api.client.put("/v1/policy", content=POLICY, headers=api.manager | yaml)
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]


def test_a_new_policy_version_is_validated_stored_and_activated(api: Api) -> None:
    yaml = {"content-type": "application/yaml"}
    changed = POLICY.replace("to: {rep: ana}", "to: {rep: bo}")
    response = api.client.put("/v1/policy", content=changed, headers=api.admin | yaml)
    assert response.status_code == 200, response.text
    assert response.json()["revision"] == 2
    assert response.json()["routes"] == ["big-deals", "everyone"]
    versions = api.client.get("/v1/policy/versions", headers=api.admin).json()
    assert [(v["revision"], v["active"]) for v in versions] == [(1, False), (2, True)]
    lead = api.client.post("/v1/leads", json={"value": 90000.0}, headers=api.manager).json()
    assert (lead["owner"], lead["policy_version"]) == ("bo", 2)


def test_a_bad_policy_is_refused_with_its_line_and_changes_nothing(api: Api) -> None:
    yaml = {"content-type": "application/yaml"}
    broken = POLICY.replace("to: {rep: ana}", "to: {rep: anna}")
    response = api.client.put("/v1/policy", content=broken, headers=api.admin | yaml)
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert problem["line"] == 12 and "anna" in problem["message"]
    assert problem["suggestion"] and "ana" in problem["suggestion"]
    versions = api.client.get("/v1/policy/versions", headers=api.admin).json()
    assert [v["revision"] for v in versions] == [1]
    as_json = api.client.put("/v1/policy", json={"text": "routes: ["}, headers=api.admin)
    assert as_json.status_code == 422


def test_reps_are_created_replaced_and_checked_like_file_rows(api: Api) -> None:
    body = {"name": "Dee", "teams": ["sales"], "timezone": "Europe/Berlin",
            "working_hours": "mon-fri 09:00-17:00", "skills": ["Product: GTX Pro"],
            "max_per_day": 5}  # fmt: skip
    response = api.client.put("/v1/reps/dee", json=body, headers=api.manager)
    assert response.status_code == 200, response.text
    assert response.json()["skills"] == ["product:gtx-pro"]
    assert api.client.get("/v1/reps/dee", headers=api.rep_bo).json()["max_per_day"] == 5
    team = api.client.get("/v1/teams/sales", headers=api.admin).json()
    assert team["members"] == ["ana", "bo", "cy", "dee"]

    bad = api.client.put(
        "/v1/reps/dee", json=body | {"timezone": "Europe/Berlinn"}, headers=api.manager
    )
    assert bad.status_code == 422
    problem = bad.json()["problems"][0]
    assert problem["field"] == "timezone" and "Europe/Berlin" in (problem["suggestion"] or "")
    hours = api.client.put(
        "/v1/reps/dee", json=body | {"working_hours": "weekdays"}, headers=api.manager
    )
    assert hours.json()["problems"][0]["field"] == "working_hours"
    assert api.client.get("/v1/reps/dee", headers=api.admin).json()["timezone"] == "Europe/Berlin"


def test_a_team_or_account_owner_must_be_a_rep(api: Api) -> None:
    response = api.client.put("/v1/teams/emea", json={"owner": "bob"}, headers=api.manager)
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "owner"
    assert api.client.get("/v1/teams/emea", headers=api.admin).status_code == 404
    globex = {"domain": "https://www.Globex.com/x", "owner": "bo"}
    ok = api.client.put("/v1/accounts/globex", json=globex, headers=api.manager)
    assert ok.status_code == 200 and ok.json()["domain"] == "globex.com"
    clash = api.client.put("/v1/accounts/other", json={"domain": "globex.com"}, headers=api.manager)
    assert clash.status_code == 422 and clash.json()["problems"][0]["field"] == "domain"


def test_deleting_a_rep_keeps_team_owners_accountable(api: Api) -> None:
    assert api.client.delete("/v1/reps/ana", headers=api.manager).status_code == 409
    assert api.client.delete("/v1/reps/bo", headers=api.manager).status_code == 204
    assert api.client.get("/v1/reps/bo", headers=api.manager).status_code == 404
    assert api.client.delete("/v1/reps/bo", headers=api.manager).status_code == 404
