"""The pages' hand-on controls: decline, SLA deadlines, reassign (one and bulk), dry run."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from tests.web.conftest import POLICY, Web

from leadrelay.store import load_org
from leadrelay.store.browse import lead_record
from leadrelay.store.tables import policies

HX = {"HX-Request": "true"}


def _owner(web: Web, lead_id: int) -> str | None:
    with web.engine.connect() as conn:
        record = lead_record(conn, lead_id)
    assert record is not None
    return record.owner


def test_the_inbox_counts_down_to_the_accept_deadline(web: Web) -> None:
    html = web.client.get("/inbox", headers=web.header("bo")).text
    row = html.split(f'id="lead-{web.routed["rr2"]}"')[1].split("</tr>")[0]
    assert '<time class="sla' in row and "accept within 59m" in row
    late = web.route(email="late@x.example", received_at=datetime.now(UTC) - timedelta(hours=3))
    owner = _owner(web, late) or ""
    html = web.client.get("/inbox", headers=web.header(owner)).text
    row = html.split(f'id="lead-{late}"')[1].split("</tr>")[0]
    assert "sla late" in row and re.search(r"accept overdue by (1h 59m|2h 0m)", row)


def test_declining_hands_the_lead_on_and_needs_a_reason(web: Web) -> None:
    lead = web.routed["rr2"]
    bo = web.header("bo") | HX
    empty = web.client.post(f"/inbox/{lead}/decline", data={"reason": ""}, headers=bo)
    assert empty.status_code == 422 and "a reason is required" in empty.text
    assert _owner(web, lead) == "bo"
    done = web.client.post(f"/inbox/{lead}/decline", data={"reason": "conflict"}, headers=bo)
    assert done.status_code == 200 and "Declined" in done.text
    assert _owner(web, lead) not in (None, "bo")
    again = web.client.post(f"/inbox/{lead}/decline", data={"reason": "x"}, headers=bo)
    assert again.status_code == 409 and "not bo&#39;s to decline" in again.text


def test_the_console_lists_missed_deadlines_and_reassigns_one(web: Web) -> None:
    late = web.route(email="late@x.example", received_at=datetime.now(UTC) - timedelta(hours=3))
    before = _owner(web, late)
    manager = web.header("manager")
    html = web.client.get("/console", headers=manager).text
    table = html.split('id="overdue"')[1].split("</table>")[0]
    assert f'id="lead-{late}"' in table and "accept" in table
    moved = web.client.post(
        "/console/reassign", data={"lead": late, "to": "", "reason": "slow"}, headers=manager | HX
    )
    assert moved.status_code == 200 and "Reassigned" in moved.text
    assert _owner(web, late) not in (None, before)
    to_cy = web.client.post(
        "/console/reassign",
        data={"lead": web.routed["rr2"], "to": "cy", "reason": "German"},
        headers=manager,
    )
    assert to_cy.status_code == 200 and "now assigned, cy." in to_cy.text
    assert _owner(web, web.routed["rr2"]) == "cy"


def test_handing_on_every_open_lead_of_a_rep(web: Web) -> None:
    manager = web.header("manager")
    done = web.client.post(
        "/console/hand-on",
        data={"rep": "cy", "reason": "on leave", "deactivate": "true"},
        headers=manager,
    )
    assert done.status_code == 200 and "cy: 1 open lead(s) handed on" in done.text
    assert _owner(web, web.routed["rr3"]) not in (None, "cy")
    with web.engine.connect() as conn:
        assert not load_org(conn).reps["cy"].active
    unknown = web.client.post(
        "/console/hand-on", data={"rep": "zed", "reason": "x"}, headers=manager
    )
    assert unknown.status_code == 404 and "no rep" in unknown.text


def test_a_dry_run_shows_what_a_policy_would_change_and_stores_nothing(web: Web) -> None:
    token = web.sign_in("admin")
    everyone_to_bo = POLICY.replace(
        "    to: {team: sales}\n    strategy: round_robin",
        "    to: {rep: bo}\n    strategy: criteria",
    )
    answer = web.client.post(
        "/policy", data={"csrf": token, "text": everyone_to_bo, "action": "diff"}
    )
    assert answer.status_code == 200
    assert "<strong>2</strong> of 6 leads would go elsewhere" in answer.text  # ana's and cy's
    reps = answer.text.split('id="diff-reps"')[1].split("</table>")[0]
    assert "<td>bo</td><td>1</td><td>3</td>" in reps
    with web.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(policies)) == 1


def test_the_console_lists_breaches_the_worker_handled(web: Web) -> None:
    from leadrelay.workflow.sla import run_due_timers

    late = web.route(email="slow@x.example", received_at=datetime.now(UTC) - timedelta(hours=3))
    missed_by = _owner(web, late)
    run_due_timers(web.engine, lambda: datetime.now(UTC))
    html = web.client.get("/console", headers=web.header("manager")).text
    handled = html.split('id="handled-breaches"')[1].split("</section>")[0]
    row = handled.split(f'href="/leads/{late}"')[1].split("</tr>")[0]
    assert "accept" in row and f"<td>{missed_by}</td>" in row
    assert _owner(web, late) != missed_by
