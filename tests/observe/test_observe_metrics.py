"""``/metrics``: who may read it, counters moving with events, gauges counted in the store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, insert

from leadrelay.api import create_app
from leadrelay.api.service import Service
from leadrelay.domain.lead import Lead
from leadrelay.domain.org import Team
from leadrelay.domain.rep import Rep
from leadrelay.policy import load_policy_text
from leadrelay.store import activate, open_store, save_policy, save_reps, save_teams
from leadrelay.store.keys import create_key
from leadrelay.store.tables import outbox
from leadrelay.workflow import route_lead, route_many

POLICY = """\
version: 1
routes:
  - {name: review, when: 'source == "partner"', to: {manual: true}, strategy: manual}
  - name: everyone
    to: {team: sales}
    strategy: round_robin
    sla: {accept_within: 1h, business_hours: false}
"""


class Api:
    def __init__(self, client: TestClient, engine: Engine, tokens: dict[str, str]) -> None:
        self.client, self.engine, self.tokens = client, engine, tokens

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = self.client.get("/metrics", headers=self.auth("manager"))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    engine = open_store(f"sqlite:///{tmp_path / 'leadrelay.db'}")
    with engine.begin() as conn:
        save_reps(conn, [Rep(r, teams=("sales",)) for r in ("ana", "bo")])
        save_teams(conn, [Team("sales", owner="ana")])
        activate(conn, save_policy(conn, load_policy_text(POLICY, reps={"ana", "bo"})))
        tokens = {role: create_key(conn, role)[1] for role in ("admin", "manager")}
        tokens["rep"] = create_key(conn, "rep", rep_id="bo")[1]
    with TestClient(create_app(engine=engine)) as client:
        yield Api(client, engine, tokens)
    engine.dispose()


def delta(
    before: dict[tuple[str, tuple[tuple[str, str], ...]], float],
    after: dict[tuple[str, tuple[tuple[str, str], ...]], float],
    name: str,
    **labels: str,
) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_metrics_need_a_staff_key_unless_made_public(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.client.get("/metrics").status_code == 401
    assert api.client.get("/metrics", headers=api.auth("rep")).status_code == 403
    assert api.client.get("/metrics", headers=api.auth("admin")).status_code == 200
    monkeypatch.setenv("LEADRELAY_METRICS_PUBLIC", "1")
    assert api.client.get("/metrics").status_code == 200
    assert "/metrics" not in api.client.get("/openapi.json").json()["paths"]


def test_routing_moves_the_counters_and_histograms(api: Api) -> None:
    before = api.scrape()
    for i in range(3):
        body = {"email": f"p{i}@x.example"}
        assert (
            api.client.post("/v1/leads", json=body, headers=api.auth("manager")).status_code == 201
        )
    assert api.client.post("/v1/leads", json={"source": "partner"}, headers=api.auth("manager"))
    # the same external id again routes nothing: it is not counted twice
    again = {"external_id": "same", "email": "same@x.example"}
    for _ in range(2):
        api.client.post("/v1/leads", json=again, headers=api.auth("manager"))
    after = api.scrape()

    routed = "leadrelay_leads_routed_total"
    assert delta(before, after, routed, status="assigned", route="everyone") == 4
    assert delta(before, after, routed, status="manual", route="review") == 1
    assert delta(before, after, "leadrelay_leads_unassigned_total") == 1
    http = "leadrelay_http_request_seconds_count"
    assert delta(before, after, http, method="POST", route="/v1/leads", status="201") == 5
    assert delta(before, after, http, method="POST", route="/v1/leads", status="200") == 1


def test_live_routing_times_each_lead(api: Api) -> None:
    policy = Service(api.engine).policy()
    before = api.scrape()
    for i in range(3):
        lead = Lead(external_id=f"t{i}", email=f"t{i}@x.example", received_at=datetime.now(UTC))
        route_lead(api.engine, lead, policy)
    route_lead(api.engine, lead, policy)  # stored already: not routed again, not timed
    after = api.scrape()
    assert delta(before, after, "leadrelay_route_seconds_count") == 3
    assert delta(before, after, "leadrelay_route_seconds_sum") > 0
    assert (
        delta(before, after, "leadrelay_leads_routed_total", status="assigned", route="everyone")
        == 3
    )


def test_a_batch_counts_each_lead_once_and_a_dry_run_none(api: Api) -> None:
    policy = Service(api.engine).policy()
    now = datetime.now(UTC)
    leads = [Lead(external_id=f"b{i}", email=f"b{i}@x.example", received_at=now) for i in range(6)]
    leads.append(Lead(external_id="p1", source="partner", received_at=now))
    before = api.scrape()
    route_many(api.engine, leads, policy, dry_run=True)
    dry = api.scrape()
    assert (
        delta(before, dry, "leadrelay_leads_routed_total", status="assigned", route="everyone") == 0
    )
    route_many(api.engine, leads, policy)
    route_many(api.engine, leads, policy)  # all stored already: nothing new
    after = api.scrape()
    routed = "leadrelay_leads_routed_total"
    assert delta(before, after, routed, status="assigned", route="everyone") == 6
    assert delta(before, after, routed, status="manual", route="review") == 1
    # timed once: the second batch stored nothing
    assert delta(before, after, "leadrelay_route_batch_seconds_count") == 1
    assert not [name for name, _ in after if name.endswith("_created")]


def test_unmatched_paths_share_one_label(api: Api) -> None:
    before = api.scrape()
    for path in ("/nope/1", "/nope/2", "/v1/leads/not-a-number/x"):
        api.client.get(path)
    after = api.scrape()
    http = "leadrelay_http_request_seconds_count"
    assert delta(before, after, http, method="GET", route="<unmatched>", status="404") == 3
    assert not [key for key in after if "/nope" in str(key)]


def test_gauges_are_counted_in_the_store(api: Api) -> None:
    for i in range(2):
        api.client.post("/v1/leads", json={"email": f"g{i}@x.example"}, headers=api.auth("manager"))
    api.client.post("/v1/leads", json={"source": "partner"}, headers=api.auth("manager"))
    now = datetime.now(UTC)
    with api.engine.begin() as conn:
        rows = [
            {"event": "assigned", "channel": "email", "target": f"t{i}@x.example",
             "payload": {}, "idempotency_key": f"k{i}", "created_at": now,
             "next_attempt_at": now + timedelta(hours=i - 1)}
            for i in range(3)
        ]  # fmt: skip
        conn.execute(insert(outbox), rows)
    samples = api.scrape()

    def gauge(name: str) -> float:
        return samples[(name, ())]

    assert gauge("leadrelay_manual_queue") == 1
    assert gauge("leadrelay_sla_timers_open") == 2  # one accept deadline per assigned lead
    assert gauge("leadrelay_sla_timers_overdue") == 0
    assert gauge("leadrelay_outbox_undelivered") == 3
    assert gauge("leadrelay_outbox_due") == 2  # one is scheduled an hour from now
