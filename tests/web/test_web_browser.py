"""Each page's flow in Chromium, against a real server: what a person clicks, what they see.

Skipped, saying why, where ``/usr/bin/chromium`` is missing (CI installs Debian's ``chromium``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine
from tests.web.browser import CHROMIUM, CHROMIUM_FLAGS, serving
from tests.web.conftest import POLICY, route, seed, seed_leads

from leadrelay.api import create_app
from leadrelay.store import open_store
from leadrelay.store.browse import lead_record
from leadrelay.store.outcomes import lead_events

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"browser test: {CHROMIUM} is missing (apt-get install chromium)",
    ),
]


@dataclass
class Site:
    url: str
    engine: Engine
    tokens: dict[str, str]
    leads: dict[str, int]
    browser: Browser

    def signed_in(self, who: str) -> Page:
        """A new browser context (its own cookies) signed in as ``who`` through the form."""
        page = self.browser.new_context().new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{self.url}/inbox" if who in ("ana", "bo", "cy") else f"{self.url}/console")
        assert "/signin" in page.url  # not signed in yet: sent to sign in, and back after
        page.fill("#key", self.tokens[who])
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "/signin" not in page.url
        return page

    def owner(self, lead_id: int) -> str | None:
        with self.engine.connect() as conn:
            record = lead_record(conn, lead_id)
        return None if record is None else record.owner


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from playwright.sync_api import sync_playwright

    db = tmp_path_factory.mktemp("browser") / "leadrelay.db"
    engine = open_store(f"sqlite:///{db}")
    tokens = seed(engine)
    leads = seed_leads(engine)
    leads["race"] = route(engine, email="race@pool.example", company="Race Co", source="web")
    with serving(create_app(engine=engine)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield Site(url, engine, tokens, leads, browser)
        finally:
            browser.close()
    engine.dispose()


def test_a_rep_signs_in_accepts_a_lead_and_logs_it_won(site: Site) -> None:
    lead = site.leads["rr2"]
    page = site.signed_in("bo")
    assert page.url.endswith("/inbox")
    row = page.locator(f"#lead-{lead}")
    row.get_by_role("button", name="Accept").click()
    row.get_by_text("Accepted.").wait_for()
    assert row.get_by_role("button", name="Accept").count() == 0  # swapped in place by htmx
    row.get_by_label("won value").fill("7500")
    row.get_by_role("button", name="Won").click()
    row.get_by_text("Logged as won.").wait_for()
    with site.engine.connect() as conn:
        kinds = [(e.kind, e.data.get("value")) for e in lead_events(conn, lead)]
    assert kinds[-2:] == [("accepted", None), ("won", 7500.0)]
    page.reload()
    assert page.locator(f"#lead-{lead}").count() == 0  # closed leads leave the inbox
    page.context.close()


def test_a_rep_claims_a_lead_from_the_pool(site: Site) -> None:
    lead = site.leads["pool"]
    page = site.signed_in("cy")
    page.get_by_role("link", name="Claim pool").click()
    page.locator(f"#lead-{lead}").get_by_role("button", name="Claim").click()
    page.get_by_text("it is yours now").wait_for()
    assert site.owner(lead) == "cy"
    page.get_by_role("link", name="Open your inbox").click()
    assert page.locator(f"#lead-{lead}").count() == 1
    page.context.close()


def test_two_reps_race_for_a_lead_and_the_loser_is_told(site: Site) -> None:
    lead = site.leads["race"]
    first, second = site.signed_in("ana"), site.signed_in("bo")
    for page in (first, second):
        page.goto(f"{site.url}/pool")
        assert page.locator(f"#lead-{lead}").count() == 1
    first.locator(f"#lead-{lead}").get_by_role("button", name="Claim").click()
    first.get_by_text("it is yours now").wait_for()
    second.locator(f"#lead-{lead}").get_by_role("button", name="Claim").click()
    second.get_by_text("Someone claimed it first").wait_for()
    assert site.owner(lead) == "ana"
    first.context.close()
    second.context.close()


def test_a_manager_assigns_a_lead_from_the_manual_queue(site: Site) -> None:
    lead = site.leads["manual"]
    page = site.signed_in("manager")
    row = page.locator(f"#lead-{lead}")
    row.get_by_label("rep").select_option("bo")
    row.get_by_label("reason").fill("met them at the fair")
    row.get_by_role("button", name="Assign").click()
    page.get_by_text("Assigned to bo.").wait_for()
    assert site.owner(lead) == "bo"
    assert page.locator("#rep-dee").get_by_text("out of office").count() >= 1
    page.context.close()


def test_a_rep_declines_a_lead_and_it_never_comes_back(site: Site) -> None:
    lead = site.leads["rr3"]
    holder = site.owner(lead)
    assert holder is not None
    page = site.signed_in(holder)
    row = page.locator(f"#lead-{lead}")
    row.get_by_label("decline reason").fill("conflict of interest")
    row.get_by_role("button", name="Decline").click()
    page.get_by_text("will not come back to you").wait_for()
    assert site.owner(lead) not in (None, holder)
    with site.engine.connect() as conn:
        declined = [e.data for e in lead_events(conn, lead) if e.kind == "declined"]
    assert declined and declined[0].get("reason") == "conflict of interest"
    page.reload()
    assert page.locator(f"#lead-{lead}").count() == 0
    page.context.close()


def test_a_manager_reassigns_one_lead_from_the_console(site: Site) -> None:
    lead = site.leads["rr1"]
    before = site.owner(lead)
    page = site.signed_in("manager")
    form = page.locator("#reassign-one")
    form.locator("input[name=lead]").fill(str(lead))
    target = "cy" if before != "cy" else "bo"
    form.locator("[name=to]").select_option(target)
    form.locator("[name=reason]").fill("territory change")
    form.get_by_role("button").click()
    page.get_by_text(f"now assigned, {target}.").wait_for()
    assert site.owner(lead) == target
    page.context.close()


def test_the_lead_page_shows_every_candidate(site: Site) -> None:
    page = site.signed_in("manager")
    page.goto(f"{site.url}/leads/{site.leads['rr1']}")
    assert page.locator("#headline").inner_text().startswith("Assigned to ana")
    took = page.locator("#route-everyone")
    assert took.get_by_text("took the lead").count() == 1
    reps = took.locator("table.candidates tbody tr td:nth-child(2)").all_inner_texts()
    assert reps == ["ana", "bo", "cy"]
    assert took.locator("tr.chosen td:nth-child(2)").inner_text() == "ana"
    page.context.close()


def test_the_dashboard_renders_charts_and_slices(site: Site) -> None:
    page = site.signed_in("manager")
    page.get_by_role("link", name="Dashboard").click()
    assert page.locator("svg.chart").count() >= 4
    assert page.locator("svg.chart rect.series-0").count() > 0
    page.locator("select[name=by]").first.select_option("owner")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"by=owner"))
    assert page.locator("table.kpi-table tbody tr").count() >= 3
    page.context.close()


def test_the_policy_page_shows_an_error_at_its_line_then_activates(site: Site) -> None:
    page = site.signed_in("admin")
    page.get_by_role("link", name="Policy").click()
    bad = POLICY.replace("strategy: claim", "strategy: clam")
    line = bad.splitlines().index("    strategy: clam") + 1
    page.fill("#text", bad)
    page.get_by_role("button", name="Check", exact=True).click()
    page.locator("#problems").wait_for()
    assert f"line {line}" in page.locator("#problems").inner_text()
    assert "clam" in page.locator(f"#line-{line}").inner_text()
    page.fill("#text", POLICY.replace("per_day: 20", "per_day: 30"))
    page.get_by_role("button", name="Check and activate").click()
    page.locator(".notice").get_by_text("Policy version 2 is active").wait_for()
    assert page.locator("#versions tr.active").inner_text().startswith("2")
    page.context.close()
