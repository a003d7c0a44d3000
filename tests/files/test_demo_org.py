"""The demo org: deterministic, readable by our own readers, and consistent with its policy."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest

from leadrelay.demo_org import DemoFiles, build_demo
from leadrelay.domain import Role, Seniority
from leadrelay.files import read_accounts, read_leads, read_reps, read_teams
from leadrelay.policy import load_policy

NOW = datetime(2030, 1, 1, tzinfo=UTC)
DATA = resources.files("leadrelay") / "data"


def crm_rows(name: str) -> list[dict[str, str]]:
    text = (DATA / "crm" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def paths(files: DemoFiles) -> list[Path]:
    return [files.reps, files.teams, files.accounts, files.leads, files.policy]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return build_demo(tmp_path_factory.mktemp("demo"), leads=300)


def test_same_seed_gives_byte_identical_files(demo: DemoFiles, tmp_path: Path) -> None:
    again = build_demo(tmp_path, leads=300)
    assert [p.name for p in paths(again)] == [
        "reps.csv",
        "teams.csv",
        "accounts.csv",
        "leads.csv",
        "policy.yaml",
    ]
    for first, second in zip(paths(demo), paths(again), strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name


def test_another_seed_changes_the_leads_not_the_org(demo: DemoFiles, tmp_path: Path) -> None:
    other = build_demo(tmp_path, seed=8, leads=300)
    assert other.leads.read_bytes() != demo.leads.read_bytes()
    assert other.reps.read_bytes() == demo.reps.read_bytes()
    assert other.accounts.read_bytes() == demo.accounts.read_bytes()


@pytest.mark.slow
def test_output_does_not_depend_on_hash_seed(demo: DemoFiles, tmp_path: Path) -> None:
    code = (
        "import sys; from leadrelay.demo_org import build_demo; build_demo(sys.argv[1], leads=300)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env=env)
    for first in paths(demo):
        assert (tmp_path / first.name).read_bytes() == first.read_bytes(), first.name


def test_demo_files_read_back_with_every_agent(demo: DemoFiles) -> None:
    reps = {rep.id: rep for rep in read_reps(demo.reps)}
    agents = crm_rows("sales_teams.csv")
    assert len(agents) == 35
    names = {rep.name for rep in reps.values() if rep.role is Role.REP}
    assert names == {row["sales_agent"] for row in agents}
    managers = {rep.id for rep in reps.values() if rep.role is Role.MANAGER}
    assert len(managers) == 6 == len({row["manager"] for row in agents})
    assert "moses-frase" in reps and reps["mei-mei-johns"].name == "Mei-Mei Johns"

    teams = read_teams(demo.teams)
    assert [(t.id, t.owner) for t in teams] == [
        ("central", "dustin-brinkmann"),
        ("east", "cara-losch"),
        ("west", "celia-rouche"),
    ]
    members = Counter(team for rep in reps.values() for team in rep.teams)
    assert members == {"central": 11, "east": 12, "west": 12}

    accounts = read_accounts(demo.accounts)
    assert len(accounts) == 85
    assert all(a.owner in reps and reps[a.owner].role is Role.REP for a in accounts)
    assert {a.domain for a in accounts} >= {"acme-corporation.com", "gekko-co.com"}

    leads = read_leads(demo.leads, now=NOW)
    assert len(leads) == 300
    assert all(lead.external_id for lead in leads)
    assert [lead.received_at for lead in leads] == sorted(lead.received_at for lead in leads)
    assert all(datetime(2026, 11, 16, tzinfo=UTC) <= lead.received_at < NOW for lead in leads)


def test_reps_are_derived_from_the_crm_history(demo: DemoFiles) -> None:
    reps = {rep.id: rep for rep in read_reps(demo.reps)}
    skills = {skill for rep in reps.values() for skill in rep.skills}
    assert "industry:technology" in skills and "product:gtx-pro" in skills
    assert not any("technolgy" in s or "gtxpro" in s for s in skills)
    new_hires = {"carl-lin", "carol-thompson", "elizabeth-anderson", "mei-mei-johns"}
    assert all(reps[r].seniority is Seniority.JUNIOR and not reps[r].skills for r in new_hires)
    assert (
        sum(rep.seniority is Seniority.SENIOR and rep.role is Role.REP for rep in reps.values())
        == 8
    )
    central = reps["moses-frase"]
    assert central.timezone == "America/Chicago" and "US-IL" in central.regions
    assert (central.office_lat, central.office_lon) == (41.8781, -87.6298)
    assert len({rep.weight for rep in reps.values()}) >= 4
    assert any(rep.caps and rep.caps.per_day == 3 for rep in reps.values())
    assert any(rep.out_of_office for rep in reps.values())


def test_demo_leads_mix_accounts_free_mail_and_unserved_countries(demo: DemoFiles) -> None:
    leads = read_leads(demo.leads, now=NOW)
    account_domains = {a.domain for a in read_accounts(demo.accounts)}
    assert any(lead.email_domain in account_domains for lead in leads)
    assert any(lead.email_domain == "gmail.com" for lead in leads)
    assert {lead.country for lead in leads} == {"US", "CA", "GB", "DE"}
    assert {lead.source for lead in leads} == {"web", "referral", "event", "partner", "outbound"}
    assert any(lead.lat is not None for lead in leads)
    assert any(lead.attributes.get("campaign") for lead in leads)


def test_demo_policy_loads_against_the_demo_org(demo: DemoFiles) -> None:
    reps = [rep.id for rep in read_reps(demo.reps)]
    teams = [team.id for team in read_teams(demo.teams)]
    policy = load_policy(demo.policy, reps=reps, teams=teams)
    strategies = {route.strategy for route in policy.routes}
    assert strategies == {
        "manual",
        "criteria",
        "weighted_round_robin",
        "team",
        "least_loaded",
        "round_robin",
        "claim",
        "territory",
    }
    assert policy.existing_account_owner


def test_enterprise_route_lists_exactly_the_senior_reps(demo: DemoFiles) -> None:
    reps = read_reps(demo.reps)
    seniors = {r.id for r in reps if r.seniority is Seniority.SENIOR and r.role is Role.REP}
    policy = load_policy(demo.policy)
    [enterprise] = [route for route in policy.routes if route.name == "enterprise"]
    assert set(enterprise.target.reps) == seniors


def test_shipped_demo_files_are_the_builder_output(tmp_path: Path) -> None:
    built = build_demo(tmp_path)
    for path in paths(built):
        shipped = (DATA / "demo" / path.name).read_bytes()
        regenerate = "python -m leadrelay.demo_org src/leadrelay/data/demo"
        assert shipped == path.read_bytes(), f"data/demo/{path.name} drifted: run {regenerate}"


def test_crm_copy_is_complete() -> None:
    assert len(crm_rows("sales_teams.csv")) == 35
    assert len(crm_rows("accounts.csv")) == 85
    assert len(crm_rows("products.csv")) == 7
    assert len(crm_rows("sales_pipeline.csv")) == 8800
    source = (DATA / "crm" / "SOURCE.md").read_text(encoding="utf-8")
    assert "Maven Analytics" in source and "kisaraF/CRM-Sales_Analysis" in source
