"""``route --dry-run --policy NEW.yaml --since``: stored leads re-decided, what would change."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.cli.cli_support import dump, ok, plain, run, write_csv

from leadrelay.files.leads import LEAD_COLUMNS

OLD = """\
version: 1
routes:
  - {name: all, to: {reps: [ana, bo]}, strategy: round_robin}
"""
NEW = """\
version: 1
routes:
  - {name: banks, when: 'industry == "bank"', to: {rep: cy}, strategy: criteria}
  - {name: all, to: {reps: [ana, bo]}, strategy: round_robin}
"""
INDUSTRIES = ["bank", "retail", "retail", "bank", "retail", "airline", "retail", "bank"]


@pytest.fixture
def routed(sqlite_url: str, tmp_path: Path) -> tuple[str, Path]:
    """Reps ana, bo, cy; eight leads of the last few hours routed with the OLD policy."""
    reps = write_csv(tmp_path / "reps.csv", [["id", "name"], ["ana", "Ana"], ["bo", "Bo"],
                                             ["cy", "Cy"]])  # fmt: skip
    start = datetime.now(UTC) - timedelta(hours=10, minutes=15)
    leads = write_csv(
        tmp_path / "leads.csv",
        [list(LEAD_COLUMNS)]
        + [
            [{"external_id": f"L{i}", "industry": industry,
              "received_at": (start + timedelta(minutes=30 * i)).isoformat()}.get(c, "")
             for c in LEAD_COLUMNS]
            for i, industry in enumerate(INDUSTRIES)
        ],
    )  # fmt: skip
    (tmp_path / "old.yaml").write_text(OLD)
    (tmp_path / "new.yaml").write_text(NEW)
    ok("init", db=sqlite_url)
    ok("load", "reps", reps, db=sqlite_url)
    ok("route", leads, "--policy", tmp_path / "old.yaml", db=sqlite_url)
    return sqlite_url, tmp_path


def test_dry_run_since_lists_the_leads_a_new_policy_moves_and_writes_nothing(
    routed: tuple[str, Path],
) -> None:
    db, folder = routed
    before = dump(db)
    out = folder / "changes.csv"

    result = run("route", "--dry-run", "--policy", folder / "new.yaml", "--since", "1d",
                 "--out", out, "--json", db=db)  # fmt: skip

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["leads"] == len(INDUSTRIES)
    banks = {f"L{i}" for i, industry in enumerate(INDUSTRIES) if industry == "bank"}
    moved_to_cy = {c["external_id"] for c in data["changes"] if c["new_owner"] == "cy"}
    assert moved_to_cy == banks
    assert all(c["new_route"] == "banks" for c in data["changes"] if c["new_owner"] == "cy")
    deltas = {r["rep"]: r["delta"] for r in data["reps"]}
    assert deltas["cy"] == len(banks)
    assert sum(deltas.values()) == 0  # every lead is assigned before and after
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["external_id"] for r in rows] == [c["external_id"] for c in data["changes"]]
    assert dump(db) == before  # the dry run wrote nothing (the --out file is not the database)


def test_the_same_policy_changes_nothing(routed: tuple[str, Path]) -> None:
    db, folder = routed
    result = run("route", "--dry-run", "--policy", folder / "old.yaml", "--since", "1d",
                 "--json", db=db)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["leads"] == len(INDUSTRIES) and data["changes"] == []
    assert all(r["delta"] == 0 for r in data["reps"])


def test_a_window_holds_only_the_leads_received_since(routed: tuple[str, Path]) -> None:
    db, folder = routed
    result = run("route", "--dry-run", "--policy", folder / "new.yaml", "--since", "8h",
                 "--json", db=db)  # fmt: skip
    data = json.loads(result.stdout)
    # leads arrived every 30 minutes from 10h15m ago: L5..L7 are in the last 8 hours
    assert data["leads"] == 3
    assert {c["external_id"] for c in data["changes"] if c["new_owner"] == "cy"} == {"L7"}


def test_dry_run_diff_prints_tables(routed: tuple[str, Path]) -> None:
    db, folder = routed
    result = run("route", "--dry-run", "--policy", folder / "new.yaml", "--since", "1d", db=db)
    text = " ".join(plain(result.stdout).split())
    assert result.exit_code == 0
    assert "would change (nothing written)" in text and "cy" in text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--since", "1d"], "--dry-run"),  # --since without --dry-run
        (["--dry-run"], "one of them"),  # neither a file nor --since
        (["--dry-run", "--since", "soon"], "since"),
    ],
)
def test_route_refuses_unclear_options(
    routed: tuple[str, Path], args: list[str], needle: str
) -> None:
    db, folder = routed
    result = run("route", "--policy", folder / "new.yaml", *args, db=db)
    assert result.exit_code == 2 and needle in result.stderr


def test_route_refuses_a_file_and_since_together(routed: tuple[str, Path]) -> None:
    db, folder = routed
    result = run("route", folder / "leads.csv", "--dry-run", "--since", "1d", "--policy",
                 folder / "new.yaml", db=db)  # fmt: skip
    assert result.exit_code == 2 and "one of them" in result.stderr
