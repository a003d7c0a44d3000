"""Every page and form, through the app (no browser): what each shows and what each changes."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from tests.web.conftest import POLICY, Web, csrf_of

from leadrelay.store import list_versions
from leadrelay.store.browse import lead_record
from leadrelay.store.keys import create_key
from leadrelay.store.outcomes import lead_events
from leadrelay.store.tables import events, policies

HX = {"HX-Request": "true"}


def _owner(web: Web, lead_id: int) -> str | None:
    with web.engine.connect() as conn:
        record = lead_record(conn, lead_id)
    assert record is not None
    return record.owner


def _kinds(web: Web, lead_id: int) -> list[str]:
    with web.engine.connect() as conn:
        return [e.kind for e in lead_events(conn, lead_id)]


def _inbox_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="lead-(\d+)"', html)]


# --- inbox -----------------------------------------------------------------------------------


def test_the_inbox_lists_my_open_leads_high_priority_first(web: Web) -> None:
    low = web.route(email="late@x.example", company="Late Co")  # round robin: next in turn
    owner = _owner(web, low)
    mine = [i for i in (*web.routed.values(), low) if _owner(web, i) == owner]
    html = web.client.get("/inbox", headers=web.header(owner or "")).text
    assert sorted(_inbox_ids(html)) == sorted(
        i
        for i in mine
        if i != web.routed["pool"]  # pool leads are not in an inbox
    )
    ana = web.client.get("/inbox", headers=web.header("ana")).text
    ranks = re.findall(r'<span class="badge (high|medium|low)">', ana)
    assert ranks == sorted(ranks, key=["high", "medium", "low"].index)


def test_accepting_swaps_the_row_and_a_second_accept_says_why_not(web: Web) -> None:
    lead = web.routed["rr2"]
    first = web.client.post(f"/inbox/{lead}/accept", headers=web.header("bo") | HX)
    assert first.status_code == 200
    assert first.text.lstrip().startswith(f'<tr id="lead-{lead}"')  # the row alone
    assert "Accepted." in first.text and ">Accept</button>" not in first.text
    again = web.client.post(f"/inbox/{lead}/accept", headers=web.header("bo") | HX)
    assert again.status_code == 409 and "accepted already" in again.text
    assert _kinds(web, lead).count("accepted") == 1


def test_logging_won_with_a_value_closes_the_lead(web: Web) -> None:
    lead = web.routed["rr2"]
    bo = web.header("bo") | HX
    bad = web.client.post(
        f"/inbox/{lead}/outcome", data={"kind": "won", "value": "lots"}, headers=bo
    )
    assert bad.status_code == 422 and "value" in bad.text and "not a number" in bad.text
    assert "won" not in _kinds(web, lead)
    won = web.client.post(
        f"/inbox/{lead}/outcome", data={"kind": "won", "value": "12,500"}, headers=bo
    )
    assert won.status_code == 200 and "Logged as won." in won.text
    with web.engine.connect() as conn:
        data = conn.scalar(
            select(events.c.data).where(events.c.lead_id == lead, events.c.kind == "won")
        )
    assert data is not None and data["value"] == 12500.0 and data["by"] == "bo"
    twice = web.client.post(f"/inbox/{lead}/outcome", data={"kind": "lost"}, headers=bo)
    assert twice.status_code == 409 and "already won" in twice.text
    assert lead not in _inbox_ids(web.client.get("/inbox", headers=web.header("bo")).text)


def test_logging_contacted_and_lost_with_a_reason(web: Web) -> None:
    lead = web.routed["rr3"]
    cy = web.header("cy") | HX
    assert (
        web.client.post(
            f"/inbox/{lead}/outcome", data={"kind": "contacted"}, headers=cy
        ).status_code
        == 200
    )
    lost = web.client.post(
        f"/inbox/{lead}/outcome", data={"kind": "lost", "reason": "no budget"}, headers=cy
    )
    assert lost.status_code == 200 and "<strong>lost</strong>" in lost.text
    assert _kinds(web, lead)[-2:] == ["contacted", "lost"]
    unknown = web.client.post(f"/inbox/{lead}/outcome", data={"kind": "dreamt"}, headers=cy)
    assert unknown.status_code == 409 and "unknown outcome" in unknown.text


def test_a_rep_cannot_work_or_read_another_reps_lead(web: Web) -> None:
    lead = web.routed["rr2"]  # bo's
    cy = web.header("cy")
    answer = web.client.post(f"/inbox/{lead}/outcome", data={"kind": "won"}, headers=cy)
    assert answer.status_code == 404
    assert web.client.post(f"/inbox/{lead}/accept", headers=cy).status_code == 409
    assert web.client.get(f"/leads/{lead}", headers=cy).status_code == 404
    assert _kinds(web, lead) == ["routed"]


def test_a_plain_form_post_gets_the_whole_page_back(web: Web) -> None:
    token = web.sign_in("bo")
    answer = web.client.post(f"/inbox/{web.routed['rr2']}/accept", data={"csrf": token})
    assert answer.status_code == 200
    assert "<html" in answer.text and 'class="notice"' in answer.text


def test_lead_fields_are_escaped_everywhere(web: Web) -> None:
    evil = "<script>alert(1)</script>"
    lead = web.route(email="e@evil.example", company=evil, source="partner", product=evil)
    pages = [
        web.client.get("/console", headers=web.header("manager")).text,
        web.client.get(f"/leads/{lead}", headers=web.header("manager")).text,
        web.client.get("/dashboard?by=product", headers=web.header("manager")).text,
    ]
    for html in pages:
        assert evil not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- pool ------------------------------------------------------------------------------------


def test_the_pool_lists_leads_open_in_my_teams_and_claiming_takes_one(web: Web) -> None:
    lead = web.routed["pool"]
    html = web.client.get("/pool", headers=web.header("bo")).text
    assert lead in _inbox_ids(html) and ">Claim</button>" in html
    won = web.client.post(f"/pool/{lead}/claim", headers=web.header("bo") | HX)
    assert won.status_code == 200 and "it is yours now" in won.text
    assert _owner(web, lead) == "bo"
    lost = web.client.post(f"/pool/{lead}/claim", headers=web.header("cy") | HX)
    assert lost.status_code == 409 and "Someone claimed it first" in lost.text
    assert _owner(web, lead) == "bo"
    assert lead not in _inbox_ids(web.client.get("/pool", headers=web.header("cy")).text)


def test_a_rep_outside_the_pools_team_sees_nothing_to_claim(web: Web) -> None:
    with web.engine.begin() as conn:
        dee = {"Authorization": f"Bearer {create_key(conn, 'rep', rep_id='dee')[1]}"}
    html = web.client.get("/pool", headers=dee).text
    assert _inbox_ids(html) == [] and "Nothing open in your pools" in html
    assert "You cannot take a lead right now: out of office" in html
    answer = web.client.post(f"/pool/{web.routed['pool']}/claim", headers=dee | HX)
    assert answer.status_code == 422 and "not a member of pool sales" in answer.text
    assert _owner(web, web.routed["pool"]) == "ana"  # the pool's accountable owner, unchanged


# --- console ---------------------------------------------------------------------------------


def test_the_console_shows_the_queue_and_each_reps_load_and_availability(web: Web) -> None:
    html = web.client.get("/console", headers=web.header("manager")).text
    queue = html.split('id="queue"')[1].split("</table>")[0]
    assert _inbox_ids(queue) == [web.routed["manual"]]
    ana = html.split('id="rep-ana"')[1].split("</tr>")[0]
    assert re.search(r"<td[^>]*>\s*1 / 5", ana)  # one lead today against her own cap of 5
    assert "/ 60" in ana  # the policy's weekly default
    dee = html.split('id="rep-dee"')[1].split("</tr>")[0]
    assert "out of office" in dee and "mon-fri 09:00-17:00" in dee and "Europe/Berlin" in dee


def test_assigning_from_the_manual_queue(web: Web) -> None:
    lead = web.routed["manual"]
    manager = web.header("manager") | HX
    missing = web.client.post(
        f"/console/{lead}/assign", data={"rep": "cy", "reason": " "}, headers=manager
    )
    assert missing.status_code == 422 and "a reason is required" in missing.text
    assert _owner(web, lead) is None
    done = web.client.post(
        f"/console/{lead}/assign", data={"rep": "cy", "reason": "speaks Korean"}, headers=manager
    )
    assert done.status_code == 200 and "Assigned to cy." in done.text
    assert _owner(web, lead) == "cy"
    again = web.client.post(
        f"/console/{lead}/assign", data={"rep": "nobody", "reason": "x"}, headers=manager
    )
    assert again.status_code == 422 and "no rep &#39;nobody&#39;" in again.text


# --- lead page -------------------------------------------------------------------------------


def test_the_lead_page_tells_the_whole_decision(web: Web) -> None:
    lead = web.routed["rr1"]
    html = web.client.get(f"/leads/{lead}", headers=web.header("manager")).text
    assert "Assigned to ana by route &#39;everyone&#39; (round_robin), policy version 1" in html
    assert "+40 points from &#39;big-company&#39;" in html
    assert "passed &#39;not-served&#39;" in html
    for route in ("hand-pick", "inbound", "everyone"):
        assert f'id="route-{route}"' in html
    took = html.split('id="route-everyone"')[1]
    assert "took the lead" in took and "takes turns" in took
    assert all(rep in took for rep in ("<td>ana</td>", "<td>bo</td>", "<td>cy</td>"))
    assert "★" in took
    screened = web.client.get(f"/leads/{web.routed['out']}", headers=web.header("admin")).text
    assert "Screened out by rule “not-served”" in screened


# --- dashboard -------------------------------------------------------------------------------


def test_the_dashboard_draws_its_charts_and_slices_by_dimension(web: Web) -> None:
    html = web.client.get("/dashboard", headers=web.header("manager")).text
    assert html.count('<svg class="chart"') >= 4
    for title in (
        "Turnaround",
        "Aging of leads not distributed yet",
        "Leads distributed per week",
        "Route everyone: share of its leads per rep",
    ):
        assert title in html
    assert re.search(r"<span>Leads</span><strong>6</strong>", html)
    sliced = web.client.get(
        "/dashboard?by=owner&by=route&period=day&since=30d", headers=web.header("manager")
    ).text
    table = sliced.split('class="kpi-table"')[1]
    assert "<th>owner</th><th>route</th>" in table and "<td>bo</td><td>everyone</td>" in table


def test_a_bad_dashboard_filter_says_which(web: Web) -> None:
    bad = web.client.get("/dashboard?since=yesterday", headers=web.header("manager"))
    assert bad.status_code == 422 and "since" in bad.text
    unknown = web.client.get("/dashboard?by=colour", headers=web.header("manager"))
    assert unknown.status_code == 422 and "colour" in unknown.text


# --- policy ----------------------------------------------------------------------------------


def _versions(web: Web) -> int:
    with web.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(policies)) or 0)


def test_a_bad_policy_shows_each_problem_at_its_line_and_stores_nothing(web: Web) -> None:
    token = web.sign_in("admin")
    bad = POLICY.replace("strategy: round_robin", "strategy: round_robbin")
    answer = web.client.post("/policy", data={"csrf": token, "text": bad, "action": "activate"})
    assert answer.status_code == 422
    line = bad.splitlines().index("    strategy: round_robbin") + 1
    assert f'<a href="#line-{line}">line {line}</a>' in answer.text
    assert f'<span id="line-{line}" class="bad">' in answer.text
    assert "nothing was stored" in answer.text and _versions(web) == 1


def test_checking_stores_nothing_and_activating_makes_a_new_version(web: Web) -> None:
    token = web.sign_in("admin")
    new = POLICY.replace("per_day: 20", "per_day: 25")
    checked = web.client.post("/policy", data={"csrf": token, "text": new, "action": "check"})
    assert checked.status_code == 200 and "The policy is valid: 3 routes" in checked.text
    assert _versions(web) == 1
    done = web.client.post("/policy", data={"csrf": token, "text": new, "action": "activate"})
    assert done.status_code == 200 and "Policy version 2 is active" in done.text
    with web.engine.connect() as conn:
        assert [v.active for v in list_versions(conn)] == [False, True]
    assert web.client.get("/policy?revision=1").text.count("per_day: 20") == 1


def test_a_policy_file_can_be_uploaded(web: Web) -> None:
    token = web.sign_in("admin")
    new = POLICY.replace("per_week: 60", "per_week: 70")
    answer = web.client.post(
        "/policy",
        data={"csrf": token, "action": "activate"},
        files={"upload": ("policy.yaml", new.encode(), "application/yaml")},
    )
    assert answer.status_code == 200 and "Policy version 2 is active" in answer.text
    binary = web.client.post(
        "/policy",
        data={"csrf": csrf_of(answer.text), "action": "activate"},
        files={"upload": ("policy.yaml", b"\xff\xfe\x00", "application/yaml")},
    )
    assert binary.status_code == 422 and "not UTF-8" in binary.text and _versions(web) == 2
