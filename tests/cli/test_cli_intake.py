"""``policy activate``, ``load leads`` (with the active policy) and ``keys``."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.cli_support import STATUSES, dump, ok, plain, read_out, run, write_csv

from leadrelay.demo_org import DemoFiles
from leadrelay.store import make_engine
from leadrelay.store.keys import find_key


def test_load_leads_needs_an_active_policy_and_changes_nothing_without(
    org_db: str, demo_files: DemoFiles
) -> None:
    before = dump(org_db)
    result = run("load", "leads", demo_files.leads, db=org_db)
    assert result.exit_code == 2
    assert "policy activate" in result.stderr
    assert dump(org_db) == before


def test_load_leads_routes_with_the_active_policy_like_route_does(
    org_db: str, demo_files: DemoFiles, tmp_path: Path
) -> None:
    assert "version 1 is active" in plain(
        ok("policy", "activate", demo_files.policy, db=org_db).stdout
    )
    ok("load", "leads", demo_files.leads, "--out", tmp_path / "a.csv", db=org_db)
    rows = read_out(tmp_path / "a.csv")
    assert len(rows) == 200
    assert {row["status"] for row in rows} <= STATUSES
    # the same file through `route --policy` on a fresh org decides the same
    other = f"sqlite:///{tmp_path / 'other.db'}"
    ok("load", "reps", demo_files.reps, db=other)
    ok("load", "teams", demo_files.teams, db=other)
    ok("load", "accounts", demo_files.accounts, db=other)
    ok("route", demo_files.leads, "--policy", demo_files.policy, "--out", tmp_path / "b.csv",
       db=other)  # fmt: skip
    assert read_out(tmp_path / "b.csv") == rows
    versions = plain(ok("policy", "versions", db=org_db).stdout)
    assert "*" in versions


def test_a_bad_lead_file_is_reported_by_row_and_field(
    org_db: str, demo_files: DemoFiles, tmp_path: Path
) -> None:
    ok("policy", "activate", demo_files.policy, db=org_db)
    bad = tmp_path / "bad.csv"
    write_csv(bad, [["Email", "NumberOfEmployees"], ["a@a.example", "12"], ["b@b.example", "x"]])
    before = dump(org_db)
    result = run("load", "leads", bad, db=org_db)
    assert result.exit_code == 2
    assert "row 3" in result.stderr and "employees" in result.stderr.lower()
    assert dump(org_db) == before


def test_keys_create_prints_the_secret_once_and_stores_a_digest(org_db: str) -> None:
    result = ok("keys", "create", "--role", "rep", "--rep", demo_rep(org_db), "--name", "t",
                db=org_db)  # fmt: skip
    token = result.stdout.strip()
    assert token.startswith("lr_")
    engine = make_engine(org_db)
    with engine.connect() as conn:
        key = find_key(conn, token)
    engine.dispose()
    assert key is not None and key.role == "rep"
    assert token not in str(dump(org_db))
    listing = plain(ok("keys", "list", db=org_db).stdout)
    assert key.prefix in listing
    ok("keys", "revoke", key.prefix, db=org_db)
    assert run("keys", "revoke", key.prefix, db=org_db).exit_code == 2


def test_keys_create_refuses_a_bad_role_or_rep(org_db: str) -> None:
    bad_role = run("keys", "create", "--role", "owner", db=org_db)
    assert bad_role.exit_code == 2 and "admin, manager, rep" in bad_role.stderr
    no_rep = run("keys", "create", "--role", "rep", "--rep", "nobody", db=org_db)
    assert no_rep.exit_code == 2 and "nobody" in no_rep.stderr


def demo_rep(db: str) -> str:
    from leadrelay.store import rep_ids

    engine = make_engine(db)
    with engine.connect() as conn:
        first = sorted(rep_ids(conn))[0]
    engine.dispose()
    return first


def test_load_outcomes_is_all_or_nothing_and_names_rows(
    org_db: str, demo_files: DemoFiles, tmp_path: Path
) -> None:
    ok("policy", "activate", demo_files.policy, db=org_db)
    ok("load", "leads", demo_files.leads, "--out", tmp_path / "a.csv", db=org_db)
    held = [r for r in read_out(tmp_path / "a.csv") if r["status"] in {"assigned", "team"}]
    good = tmp_path / "good.csv"
    write_csv(good, [["external_id", "kind", "value"], [held[0]["external_id"], "won", "900"],
                     [held[1]["external_id"], "contacted", ""]])  # fmt: skip
    bad = tmp_path / "bad.csv"
    write_csv(bad, [["lead_id", "kind"], [held[2]["lead_id"], "won"], ["99999", "won"],
                    [held[2]["lead_id"], "lost"]])  # fmt: skip
    before = dump(org_db)
    result = run("load", "outcomes", bad, db=org_db)
    assert result.exit_code == 2
    assert "row 3" in result.stderr and "no lead 99999" in result.stderr
    assert "row 4" in result.stderr and "already won" in result.stderr
    assert dump(org_db) == before
    assert "recorded 2 outcomes" in ok("load", "outcomes", good, db=org_db).stdout
    again = run("load", "outcomes", good, db=org_db)
    assert again.exit_code == 2 and "already won" in again.stderr


def test_kpi_prints_a_table_and_json(org_db: str, demo_files: DemoFiles) -> None:
    import json

    ok("policy", "activate", demo_files.policy, db=org_db)
    ok("load", "leads", demo_files.leads, db=org_db)
    rows = json.loads(ok("kpi", "--by", "value_slab", "--json", db=org_db).stdout)
    assert sum(row["leads"] for row in rows) == 200
    assert {row["group"]["value_slab"] for row in rows} <= {"low", "medium", "high"}
    assert "KPIs by unit" in plain(ok("kpi", "--by", "unit", db=org_db).stdout)
    bad = run("kpi", "--by", "colour", db=org_db)
    assert bad.exit_code == 2 and "unknown dimension" in bad.stderr


def test_fairness_shows_each_route_against_its_targets(org_db: str, demo_files: DemoFiles) -> None:
    import json

    ok("policy", "activate", demo_files.policy, db=org_db)
    ok("load", "leads", demo_files.leads, db=org_db)
    routes = json.loads(ok("fairness", "--json", db=org_db).stdout)
    shared = {"weighted_round_robin", "round_robin", "least_loaded", "territory"}
    given = [r for r in routes if r["strategy"] in shared and r["leads"]]
    assert len(given) >= 3, "the demo policy's rotating routes take leads"
    for route in given:
        assert sum(rep["leads"] for rep in route["reps"]) == route["leads"]
        targets = [rep["target"] for rep in route["reps"] if rep["target"] is not None]
        assert sum(targets) == pytest.approx(1.0)
    assert run("fairness", "--route", "nope", db=org_db).exit_code == 2
