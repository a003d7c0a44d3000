"""``leadrelay explain`` and ``leadrelay ledger`` on a database the demo leads were routed into."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from tests.cli.cli_support import load_org, ok, plain, read_out, run, words

from leadrelay.demo_org import DemoFiles


@pytest.fixture(scope="module")
def routed(
    tmp_path_factory: pytest.TempPathFactory, demo_files: DemoFiles
) -> tuple[str, list[dict[str, str]]]:
    """A SQLite database holding the demo org and its 200 leads routed (read-only), and the
    rows of the --out file."""
    folder = tmp_path_factory.mktemp("routed")
    url = f"sqlite:///{folder / 'leadrelay.db'}"
    load_org(url, demo_files.reps, demo_files.teams, demo_files.accounts)
    out = folder / "out.csv"
    ok("route", demo_files.leads, "--policy", demo_files.policy, "--out", out, db=url)
    return url, read_out(out)


def _first(rows: list[dict[str, str]], status: str) -> dict[str, str]:
    return next(row for row in rows if row["status"] == status)


def _explain(db: str, lead_id: str) -> list[str]:
    return plain(ok("explain", lead_id, db=db).stdout).splitlines()


def test_explain_shows_owner_reason_route_and_candidates(
    routed: tuple[str, list[dict[str, str]]],
) -> None:
    db, rows = routed
    row = _first(rows, "assigned")
    lines = _explain(db, row["lead_id"])

    assert lines[0] == (
        f"assigned to {row['owner']} by route '{row['route']}' ({row['strategy']}),"
        " policy version 1"
    )
    assert lines[1] == f"Why: {row['reason']}"
    assert lines[2].startswith("Screening: ")
    assert "Routes looked at, in order:" in lines
    took = [line for line in lines if f". {row['route']} [{row['strategy']}] took the lead" in line]
    assert len(took) == 1, lines
    assert any(line.strip().startswith(f"* {row['owner']}:") for line in lines), lines
    # Every candidate of the chosen route is listed: the passed-over ones with a reason.
    assert any(line.strip().startswith("- ") and "not eligible" in line for line in lines)


def test_explain_of_a_team_lead_names_the_accountable_owner(
    routed: tuple[str, list[dict[str, str]]],
) -> None:
    db, rows = routed
    row = _first(rows, "team")
    lines = _explain(db, row["lead_id"])
    assert lines[0].startswith(f"held by team {row['team']} (accountable: {row['owner']})")
    assert lines[1] == f"Why: {row['reason']}"


def test_explain_of_a_screened_out_lead_names_the_rule(
    routed: tuple[str, list[dict[str, str]]],
) -> None:
    db, rows = routed
    row = _first(rows, "screened_out")
    lines = _explain(db, row["lead_id"])
    assert lines[0].startswith("screened out")
    assert "Screening: rejected by rule 'not-served'" in lines


def test_explain_shows_skipped_routes_too(routed: tuple[str, list[dict[str, str]]]) -> None:
    db, rows = routed
    row = next(r for r in rows if r["status"] == "assigned" and r["route"] == "territory")
    lines = _explain(db, row["lead_id"])
    assert any(re.match(r"\s+\d+\. no-email: skipped, ", line) for line in lines), lines


@pytest.mark.parametrize("lead_id", ["99999", "0"])
def test_explain_of_an_unknown_lead_exits_2_with_a_clear_message(
    routed: tuple[str, list[dict[str, str]]], lead_id: str
) -> None:
    db, _ = routed
    result = run("explain", lead_id, db=db)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"no decision stored for lead {lead_id}" in plain(result.stderr)


def test_explain_of_a_lead_id_that_is_not_a_number_is_a_usage_error(
    routed: tuple[str, list[dict[str, str]]],
) -> None:
    db, _ = routed
    result = run("explain", "L-00001", db=db)
    assert result.exit_code == 2
    assert "Invalid value for 'lead_id'" in words(result.stderr)


_LEDGER_ROW = re.compile(r"^│\s*(\S+)\s*│\s*(\S+)\s*│\s*(\d+)\s*│\s*(\d+)\s*│$")


def _ledger(db: str, *args: str) -> list[tuple[str, str, int, int]]:
    stdout = plain(ok("ledger", *args, db=db).stdout)
    assert "Round-robin ledger" in stdout
    rows = []
    for line in stdout.splitlines():
        if match := _LEDGER_ROW.match(line):
            route, rep, count, last = match.groups()
            rows.append((route, rep, int(count), int(last)))
    return rows


def test_ledger_counts_add_up_to_the_leads_each_route_assigned(
    routed: tuple[str, list[dict[str, str]]],
) -> None:
    db, rows = routed
    assigned = Counter(row["route"] for row in rows if row["status"] == "assigned")
    per_rep = Counter((row["route"], row["owner"]) for row in rows if row["status"] == "assigned")

    ledger = _ledger(db)

    assert ledger
    totals: Counter[str] = Counter()
    for route, rep, count, _ in ledger:
        totals[route] += count
        assert per_rep[(route, rep)] == count, (route, rep)
    assert totals == assigned
    # Positions within a route are distinct and the highest is the route's assigned count.
    for route, total in assigned.items():
        positions = [last for r, _, _, last in ledger if r == route]
        assert len(set(positions)) == len(positions)
        assert max(positions) <= total


def test_ledger_route_option_shows_only_that_route(
    routed: tuple[str, list[dict[str, str]]],
) -> None:
    db, rows = routed
    territory = sum(r["status"] == "assigned" and r["route"] == "territory" for r in rows)
    ledger = _ledger(db, "--route", "territory")
    assert {route for route, *_ in ledger} == {"territory"}
    assert sum(count for _, _, count, _ in ledger) == territory


def test_ledger_of_an_empty_database_is_an_empty_table(sqlite_url: str) -> None:
    assert _ledger(sqlite_url) == []
