"""POST /v1/leads, the batch endpoint, reading leads and decisions, over a real store."""

from __future__ import annotations

from tests.api.conftest import Api

NOON = "2026-11-25T14:00:00Z"


def post(api: Api, body: dict[str, object], **headers: str) -> tuple[int, dict]:
    response = api.client.post("/v1/leads", json=body, headers=api.manager | headers)
    return response.status_code, response.json()


def test_a_lead_gets_its_owner_and_reason_in_the_same_response(api: Api) -> None:
    code, body = post(api, {"external_id": "w-1", "email": "ana@big.example", "value": 60000.0,
                            "received_at": NOON})  # fmt: skip
    assert code == 201
    assert body["created"] is True
    assert (body["status"], body["owner"], body["route"]) == ("assigned", "ana", "big-deals")
    assert body["strategy"] == "criteria"
    assert body["screening"]["value_slab"] == "high"
    assert body["reason"] and body["explanation"][0].startswith("assigned to ana")

    lead = api.client.get(f"/v1/leads/{body['lead_id']}", headers=api.admin).json()
    assert lead["owner"] == "ana"
    assert lead["fields"]["email"] == "ana@big.example"
    decision = api.client.get(f"/v1/leads/{body['lead_id']}/decision", headers=api.admin).json()
    assert decision["decision"]["owner"] == "ana"
    assert decision["decision"]["trials"][0]["route"] == "big-deals"
    assert any("big-deals" in line for line in decision["explanation"])


def test_round_robin_over_http_spreads_leads_across_the_team(api: Api) -> None:
    owners = [post(api, {"email": f"p{i}@x{i}.example", "received_at": NOON})[1]["owner"]
              for i in range(6)]  # fmt: skip
    assert sorted(owners) == ["ana", "ana", "bo", "bo", "cy", "cy"]


def test_the_same_external_id_is_routed_once(api: Api) -> None:
    first_code, first = post(api, {"external_id": "w-2", "email": "a@b.example"})
    again_code, again = post(api, {"external_id": "w-2", "email": "a@b.example"})
    assert (first_code, again_code) == (201, 200)
    assert again["created"] is False
    assert again["lead_id"] == first["lead_id"] and again["owner"] == first["owner"]
    assert api.lead_count() == 1


def test_an_idempotency_key_replays_the_first_response(api: Api) -> None:
    body = {"email": "kay@k.example", "received_at": NOON}
    code, first = post(api, body, **{"Idempotency-Key": "req-1"})
    response = api.client.post(
        "/v1/leads", json=body, headers=api.manager | {"Idempotency-Key": "req-1"}
    )
    assert code == response.status_code == 201
    assert response.json() == first
    assert response.headers["Idempotent-Replayed"] == "true"
    assert api.lead_count() == 1
    # the same key with another body is refused, and routes nothing
    code, error = post(api, {"email": "other@k.example"}, **{"Idempotency-Key": "req-1"})
    assert code == 422 and "another request body" in error["detail"]
    assert api.lead_count() == 1


def test_a_failed_request_releases_its_idempotency_key(api: Api) -> None:
    code, _ = post(api, {"email": "x@y.example", "attributes": {"seats": "many"}},
                   **{"Idempotency-Key": "req-2"})  # fmt: skip
    assert code == 422
    code, _ = post(api, {"email": "x@y.example", "attributes": {"seats": "12"}},
                   **{"Idempotency-Key": "req-2"})  # fmt: skip
    assert code == 201


def test_a_screened_out_lead_is_stored_with_its_rule_and_listable(api: Api) -> None:
    code, body = post(api, {"email": "kim@p.example", "country": "KP"})
    assert code == 201
    assert body["status"] == "screened_out"
    assert body["screening"]["screened_out_by"] == "not-served"
    assert body["owner"] is None
    page = api.client.get("/v1/leads?status=screened_out", headers=api.admin).json()
    assert [lead["id"] for lead in page["leads"]] == [body["lead_id"]]


def test_a_lead_of_an_existing_account_goes_to_its_owner(api: Api) -> None:
    code, body = post(api, {"email": "buyer@acme.com", "received_at": NOON})
    assert code == 201
    assert (body["owner"], body["account"]) == ("cy", "acme")
    assert "acme.com" in body["account_match"]


def test_bad_fields_are_each_named_and_nothing_is_stored(api: Api) -> None:
    code, body = post(
        api, {"email": "nope", "employees": "12", "lat": 95.0, "colour": "red", "value": -1.0}
    )
    assert code == 422
    fields = {p["field"] for p in body["problems"]}
    assert fields == {"email", "employees", "lat", "colour", "value"}
    assert "email" in body["detail"]
    assert api.lead_count() == 0


def test_received_at_needs_a_time_zone(api: Api) -> None:
    code, body = post(api, {"email": "a@b.example", "received_at": "2026-11-25T14:00:00"})
    assert code == 422
    assert body["problems"][0]["field"] == "received_at"


def test_declared_custom_attributes_are_typed_by_the_policy(api: Api) -> None:
    code, body = post(api, {"email": "a@b.example", "attributes": {"seats": "lots"}})
    assert code == 422
    assert body["problems"][0]["field"] == "attributes.seats"
    code, body = post(api, {"email": "a@b.example", "attributes": {"seats": True}})
    assert code == 422 and "integer" in body["problems"][0]["message"]
    code, body = post(api, {"email": "a@b.example", "attributes": {"seats": "40", "x": 1}})
    assert code == 201
    stored = api.client.get(f"/v1/leads/{body['lead_id']}", headers=api.admin).json()
    assert stored["attributes"] == {"seats": 40, "x": 1}


def test_a_batch_is_all_or_nothing(api: Api) -> None:
    good = {"email": "a@a.example", "received_at": NOON}
    response = api.client.post(
        "/v1/leads/batch",
        json={"leads": [good, {"email": "broken"}, good | {"employees": -3}]},
        headers=api.manager,
    )
    assert response.status_code == 422
    assert {p["field"] for p in response.json()["problems"]} == {
        "leads[1].email",
        "leads[2].employees",
    }
    assert api.lead_count() == 0

    batch = [{"external_id": f"b-{i}", "email": f"x{i}@x.example", "received_at": NOON}
             for i in range(5)]  # fmt: skip
    response = api.client.post("/v1/leads/batch", json={"leads": batch}, headers=api.manager)
    assert response.status_code == 200
    body = response.json()
    assert body["routed"] == 5 and body["already_stored"] == 0
    assert [r["external_id"] for r in body["results"]] == [f"b-{i}" for i in range(5)]
    assert all(r["owner"] in {"ana", "bo", "cy"} for r in body["results"])
    again = api.client.post("/v1/leads/batch", json={"leads": batch}, headers=api.manager).json()
    assert again["routed"] == 0 and again["already_stored"] == 5
    assert api.lead_count() == 5


def test_a_batch_accepts_a_salesforce_csv_export(api: Api) -> None:
    csv = (
        "Id,FirstName,LastName,Company,Email,LeadSource,Country,CreatedDate\n"
        "00Q1,Ana,Ng,Acme,ana@acme.com,Web,US,2026-11-25T14:00:00Z\n"
        "00Q2,Bo,Li,Kim Co,bo@kim.example,Partner,KP,2026-11-25T14:01:00Z\n"
    )
    response = api.client.post(
        "/v1/leads/batch", content=csv, headers=api.manager | {"content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["external_id"] for r in results] == ["00Q1", "00Q2"]
    assert (results[0]["owner"], results[1]["status"]) == ("cy", "screened_out")


def test_a_bad_csv_row_is_reported_by_row_and_field(api: Api) -> None:
    csv = "email,employees\na@a.example,12\nb@b.example,many\n"
    response = api.client.post(
        "/v1/leads/batch", content=csv, headers=api.manager | {"content-type": "text/csv"}
    )
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert (problem["row"], problem["field"]) == (3, "employees")
    assert api.lead_count() == 0


def test_a_body_over_the_limit_is_refused(api: Api) -> None:
    from fastapi.testclient import TestClient

    from leadrelay.api import create_app

    with TestClient(create_app(engine=api.engine, max_body_bytes=1_000)) as small:
        response = small.post(
            "/v1/leads", json={"email": "a@b.example", "company": "x" * 2_000}, headers=api.manager
        )
    assert response.status_code == 413
    assert api.lead_count() == 0


def test_without_an_active_policy_intake_says_so(db_url: str) -> None:
    from fastapi.testclient import TestClient

    from leadrelay.api import create_app
    from leadrelay.store import open_store
    from leadrelay.store.keys import create_key

    engine = open_store(db_url)
    with engine.begin() as conn:
        token = create_key(conn, "admin")[1]
    with TestClient(create_app(engine=engine)) as client:
        response = client.post(
            "/v1/leads", json={"email": "a@b.example"}, headers={"Authorization": f"Bearer {token}"}
        )
    engine.dispose()
    assert response.status_code == 409
    assert "PUT /v1/policy" in response.json()["detail"]


def test_leads_page_newest_first(api: Api) -> None:
    ids = [post(api, {"email": f"p{i}@p.example"})[1]["lead_id"] for i in range(5)]
    first = api.client.get("/v1/leads?limit=2", headers=api.admin).json()
    assert [lead["id"] for lead in first["leads"]] == ids[:-3:-1]
    second = api.client.get(
        f"/v1/leads?limit=2&before={first['next_before']}", headers=api.admin
    ).json()
    assert [lead["id"] for lead in second["leads"]] == [ids[2], ids[1]]


def test_outcomes_are_recorded_once_with_the_owner_of_the_moment(api: Api) -> None:
    lead_id = post(api, {"email": "o@o.example"})[1]["lead_id"]
    url = f"/v1/leads/{lead_id}/outcomes"
    contacted = api.client.post(url, json={"kind": "contacted"}, headers=api.manager)
    assert contacted.status_code == 201
    won = api.client.post(url, json={"kind": "won", "value": 1200.0}, headers=api.manager)
    assert won.status_code == 201 and won.json()["data"]["value"] == 1200.0
    again = api.client.post(url, json={"kind": "lost"}, headers=api.manager)
    assert again.status_code == 409 and "already won" in again.json()["detail"]
    bad = api.client.post(url, json={"kind": "lost", "value": 5.0}, headers=api.manager)
    assert bad.status_code == 409
    history = api.client.get(f"/v1/leads/{lead_id}/events", headers=api.admin).json()
    assert [e["kind"] for e in history] == ["routed", "contacted", "won"]
    owner = history[0]["data"]["owner"]
    assert all(e["data"]["owner"] == owner for e in history)
    unknown = api.client.post(url, json={"kind": "signed"}, headers=api.manager)
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["field"] == "kind"


def test_kpis_by_owner_count_what_was_routed(api: Api) -> None:
    for i in range(3):
        post(api, {"email": f"k{i}@k.example"})
    post(api, {"email": "kim@p.example", "country": "KP"})
    rows = api.client.get("/v1/kpis?by=owner", headers=api.rep_bo).json()
    by_owner = {row["group"]["owner"]: row for row in rows}
    assert by_owner["(none)"]["screened_out"] == 1
    assert sum(row["distributed"] for row in rows) == 3
    bad = api.client.get("/v1/kpis?by=colour", headers=api.admin)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "by[0]"
