"""Proximity on a small hand-made company graph: paths, strengths, connectors, bounds."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
from tests.social.conftest import REPS, TODAY

from leadrelay.domain.lead import Lead
from leadrelay.social import WORKS_AT_STRENGTH, Edge, SocialGraph, linkedin_strength

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ALL = ["ana", "bo", "cy"]


def lead(**fields: str) -> Lead:
    return Lead(received_at=NOW, **fields)  # type: ignore[arg-type]


def ln(day: date | None) -> float:
    return linkedin_strength(day, TODAY)


def test_rep_reaches_the_leads_company_through_a_colleague_who_knows_someone_there(
    company_edges: list[Edge],
) -> None:
    graph = SocialGraph.build(company_edges, REPS)
    found = graph.proximity(lead(email="kim@acme.com", company="ACME, Inc."), ALL)
    assert set(found) == {"ana", "bo"}  # Cy knows nobody
    ana = found["ana"]
    # Ana knows Dana twice (Ana's export: 2024; Dana's: 2020): the stronger tie counts
    dana_ana = max(ln(date(2024, 1, 1)), ln(date(2020, 6, 15)))
    assert ana.strength == pytest.approx(dana_ana * ln(date(2025, 12, 1)) * WORKS_AT_STRENGTH)
    assert ana.path == (
        "Ana Lopez (rep)", "Dana Whitfield (employee)", "Jo Park (Acme Inc)", "Acme Inc",
    )  # fmt: skip
    assert ana.connector == "Dana Whitfield (employee)"
    bo = found["bo"]
    assert bo.path == ("Bo Chen (rep)", "Jo Park (Acme Inc)", "Acme Inc")
    assert bo.strength == pytest.approx(ln(date(2016, 1, 1)) * WORKS_AT_STRENGTH)
    assert bo.connector == "Jo Park (Acme Inc)"
    assert "ask Jo Park (Acme Inc) for an introduction" in bo.note


def test_a_rep_who_knows_the_lead_directly_has_no_connector(company_edges: list[Edge]) -> None:
    graph = SocialGraph.build(company_edges, REPS)
    found = graph.proximity(lead(email="JO@acme.com"), ["bo", "ana"])
    # Bo's export has Jo by profile URL only; Dana's joins that URL to Jo's email
    assert found["bo"].path == ("Bo Chen (rep)", "Jo Park (Acme Inc)")
    assert found["bo"].connector is None
    assert found["bo"].strength == pytest.approx(ln(date(2016, 1, 1)))
    assert found["ana"].connector == "Dana Whitfield (employee)"


def test_lead_is_found_by_name_and_company_without_an_email(company_edges: list[Edge]) -> None:
    graph = SocialGraph.build(company_edges, REPS)
    found = graph.proximity(lead(first_name="Jo", last_name="PARK", company="Acme"), ["bo"])
    assert found["bo"].path == ("Bo Chen (rep)", "Jo Park (Acme Inc)")


def test_mailbox_providers_name_no_company(company_edges: list[Edge]) -> None:
    graph = SocialGraph.build(company_edges, REPS)
    assert graph.proximity(lead(email="someone.else@gmail.com"), ALL) == {}
    # Sam writes from gmail.com, but is reached as a person and through Initech
    found = graph.proximity(lead(email="sam@gmail.com"), ALL)
    assert found["ana"].path == ("Ana Lopez (rep)", "Sam Ray (Initech)")


def test_the_leads_website_and_email_domain_are_its_company(company_edges: list[Edge]) -> None:
    graph = SocialGraph.build(company_edges, REPS)
    by_site = graph.proximity(lead(domain="https://www.acme.com/about"), ["bo"])
    by_mail = graph.proximity(lead(email="new.person@acme.com"), ["bo"])
    assert (
        by_site["bo"].path
        == by_mail["bo"].path
        == ("Bo Chen (rep)", "Jo Park (Acme Inc)", "acme.com")
    )


def test_paths_are_bounded_in_hops(company_edges: list[Edge]) -> None:
    graph = SocialGraph.build(company_edges, REPS)
    globex = lead(company="Globex Corporation")
    three = graph.proximity(globex, ALL)
    assert three["ana"].path == (
        "Ana Lopez (rep)",
        "Dana Whitfield (employee)",
        "Kim Lee (Globex)",
        "Globex",
    )
    assert three["ana"].strength == pytest.approx(
        ln(date(2024, 1, 1)) * ln(None) * WORKS_AT_STRENGTH
    )
    assert graph.proximity(globex, ALL, max_hops=2) == {}


def test_companies_end_paths_but_never_relay_them() -> None:
    edges = [
        Edge("rep:cy", "company:hooli", "works_at", 0.9),
        Edge("person:lee@x.com", "company:hooli", "works_at", 0.9),
        Edge("rep:bo", "person:pat@y.com", "knows", 0.2),
        Edge("person:pat@y.com", "person:lee@x.com", "knows", 0.2),
    ]
    graph = SocialGraph.build(edges, REPS)
    found = graph.proximity(lead(email="lee@x.com"), ALL)
    assert set(found) == {"bo"}  # Cy -> Hooli -> Lee would pass through a company
    assert graph.proximity(lead(company="Hooli"), ALL)["cy"].path == ("Cy Diaz (rep)", "hooli")


def test_only_the_reps_asked_about_are_answered(company_edges: list[Edge]) -> None:
    graph = SocialGraph.build(company_edges, REPS)
    assert set(graph.proximity(lead(company="Acme"), ["bo", "nobody"])) == {"bo"}
    assert graph.proximity(lead(company="Acme"), []) == {}


def test_the_answer_does_not_depend_on_the_order_of_edges(company_edges: list[Edge]) -> None:
    leads = [lead(company="Acme"), lead(email="jo@acme.com"), lead(company="Globex")]
    expected = [SocialGraph.build(company_edges, REPS).proximity(one, ALL) for one in leads]
    rng = random.Random(7)
    for _ in range(5):
        shuffled = company_edges[:]
        rng.shuffle(shuffled)
        graph = SocialGraph.build(shuffled, REPS)
        assert [graph.proximity(one, ALL) for one in leads] == expected


def test_equal_paths_tie_on_fewer_hops_then_node_order() -> None:
    edges = [
        Edge("rep:ana", "person:zed@a.com", "knows", 0.5),
        Edge("rep:ana", "person:amy@a.com", "knows", 0.5),
        Edge("person:zed@a.com", "company:acme", "works_at", 0.8),
        Edge("person:amy@a.com", "company:acme", "works_at", 0.8),
        # as strong as the two-hop paths, but three hops
        Edge("rep:ana", "person:bea@b.com", "knows", 1.0),
        Edge("person:bea@b.com", "person:cal@a.com", "knows", 0.4),
        Edge("person:cal@a.com", "company:acme", "works_at", 1.0),
    ]
    found = SocialGraph.build(edges, REPS).proximity(lead(company="Acme"), ["ana"])
    assert found["ana"].path == ("Ana Lopez (rep)", "amy@a.com", "acme")
    assert found["ana"].strength == pytest.approx(0.4)


def test_a_rep_joined_to_their_email_is_one_node(company_edges: list[Edge]) -> None:
    graph = SocialGraph.build(company_edges, REPS)
    # Dana's export lists Ana by email: that is the rep, labelled as the rep
    assert graph.label("person:ana@our.co") == graph.label("rep:ana") == "Ana Lopez (rep)"
    without_reps = SocialGraph.build(company_edges)
    assert without_reps.label("person:ana@our.co") == "Ana Lopez (Our Co)"


def test_max_hops_is_checked() -> None:
    with pytest.raises(ValueError, match="max_hops"):
        SocialGraph.build([], max_hops=0)
    graph = SocialGraph.build([Edge("rep:ana", "company:acme", "works_at", 1.0)], max_hops=2)
    with pytest.raises(ValueError, match="at most 2 hops"):
        graph.proximity(lead(company="Acme"), ["ana"], max_hops=3)
