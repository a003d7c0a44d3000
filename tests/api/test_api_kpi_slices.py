"""``GET /v1/kpis``: two dimensions at once (score band and owner) and the SLA hit rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from tests.api.conftest import Api

from leadrelay.store.tables import leads, sla_timers


def test_kpis_by_confidence_and_owner_with_sla_hit_rates(api: Api) -> None:
    for i in range(3):
        response = api.client.post(
            "/v1/leads", json={"email": f"s{i}@s.example"}, headers=api.manager
        )
        assert response.status_code == 201
    now = datetime.now(UTC)
    with api.engine.begin() as conn:
        conn.execute(update(sla_timers).values(done_at=now, outcome="moved"))  # none of ours
        held = conn.execute(select(leads.c.id, leads.c.owner).order_by(leads.c.id)).all()
        outcomes = [("met", now), ("breached", now), (None, None)]  # the last one is overdue
        conn.execute(
            insert(sla_timers),
            [
                {"lead_id": lead_id, "kind": "accept", "status": "assigned", "holder": owner,
                 "since": now - timedelta(hours=3), "due_at": now - timedelta(hours=1),
                 "done_at": done, "outcome": outcome}
                for (lead_id, owner), (outcome, done) in zip(held, outcomes, strict=True)
            ],
        )  # fmt: skip
    rows = api.client.get("/v1/kpis?by=confidence&by=owner", headers=api.rep_bo).json()
    assert {tuple(row["group"]) for row in rows} == {("confidence", "owner")}
    assert {row["group"]["confidence"] for row in rows} == {"score <20"}
    assert sum(row["sla_met"] for row in rows) == 1
    assert sum(row["sla_breached"] for row in rows) == 2
    (overall,) = api.client.get("/v1/kpis", headers=api.rep_bo).json()
    assert overall["sla_hit_rate"] == 1 / 3
    assert "accept_p90_s" in overall


def test_kpis_only_for_the_leads_with_a_dimension_value(api: Api) -> None:
    for i, product in enumerate(["crm", "crm", "erp"]):
        response = api.client.post(
            "/v1/leads", json={"email": f"p{i}@p.example", "product": product}, headers=api.manager
        )
        assert response.status_code == 201
    (crm,) = api.client.get("/v1/kpis?where=product=crm", headers=api.manager).json()
    assert crm["leads"] == 2
    by_owner = api.client.get("/v1/kpis?where=product=erp&by=owner", headers=api.manager).json()
    assert sum(row["leads"] for row in by_owner) == 1
    bad = api.client.get("/v1/kpis?where=prodct=crm", headers=api.manager)
    assert bad.status_code == 422
    assert "prodct" in bad.text and "product" in bad.text  # did you mean
    html = api.client.get("/dashboard?only=product&value=erp", headers=api.manager).text
    assert 'option value="product" selected' in html
