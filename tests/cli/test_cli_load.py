"""``leadrelay init`` and ``leadrelay load``: files in, counts out; a bad file changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.cli_support import counts, dump, ok, plain, read_csv, run, words, write_csv

from leadrelay.demo_org import DemoFiles


def test_init_creates_the_schema_and_is_idempotent(sqlite_url: str) -> None:
    result = ok("init", db=sqlite_url)
    assert "database ready" in result.stdout
    tables = counts(sqlite_url)
    assert {"reps", "teams", "accounts", "leads", "assignments", "decisions"} <= set(tables)
    assert tables["reps"] == tables["leads"] == 0
    before = dump(sqlite_url)
    ok("init", db=sqlite_url)
    assert dump(sqlite_url) == before


def test_load_reps_teams_and_accounts_prints_counts(sqlite_url: str, demo_files: DemoFiles) -> None:
    ok("init", db=sqlite_url)
    expected = {
        "reps": (demo_files.reps, len(read_csv(demo_files.reps)) - 1),
        "teams": (demo_files.teams, len(read_csv(demo_files.teams)) - 1),
        "accounts": (demo_files.accounts, len(read_csv(demo_files.accounts)) - 1),
    }
    for kind, (path, rows) in expected.items():
        result = ok("load", kind, path, db=sqlite_url)
        assert f"loaded {rows} {kind} from {path}" in words(result.stdout)
    tables = counts(sqlite_url)
    assert {kind: tables[kind] for kind in expected} == {k: n for k, (_, n) in expected.items()}
    assert tables["reps"] == 41


def test_loading_the_same_reps_twice_keeps_one_row_per_rep(
    sqlite_url: str, demo_files: DemoFiles
) -> None:
    ok("load", "reps", demo_files.reps, db=sqlite_url)
    before = dump(sqlite_url)["reps"]
    ok("load", "reps", demo_files.reps, db=sqlite_url)
    assert dump(sqlite_url)["reps"] == before


def _bad_reps(demo_files: DemoFiles, folder: Path) -> Path:
    """The demo reps with an unknown column and a bad time zone on row 3 (header = row 1)."""
    rows = read_csv(demo_files.reps)
    header = rows[0]
    rows = [[*row, "x"] for row in rows[:6]]
    rows[0][-1] = "nickname"
    rows[2][header.index("timezone")] = "Europe/Berlinn"
    return write_csv(folder / "bad_reps.csv", rows)


def _assert_bad_reps_reported(stderr: str, path: Path) -> None:
    lines = plain(stderr).splitlines()
    assert any(f"{path} row 3: timezone:" in line and "Europe/Berlinn" in line for line in lines), (
        stderr
    )
    assert any(f"{path} row 1: nickname: unknown column" in line for line in lines), stderr


@pytest.mark.parametrize("already_loaded", [False, True], ids=["empty-db", "db-with-reps"])
def test_a_bad_reps_file_exits_2_naming_file_row_and_field_and_changes_nothing(
    sqlite_url: str, demo_files: DemoFiles, tmp_path: Path, already_loaded: bool
) -> None:
    ok("init", db=sqlite_url)
    if already_loaded:
        ok("load", "reps", demo_files.reps, db=sqlite_url)
        ok("load", "teams", demo_files.teams, db=sqlite_url)
    bad = _bad_reps(demo_files, tmp_path)
    before = dump(sqlite_url)

    result = run("load", "reps", bad, db=sqlite_url)

    assert result.exit_code == 2
    _assert_bad_reps_reported(result.stderr, bad)
    assert "loaded" not in result.stdout
    assert dump(sqlite_url) == before
    assert counts(sqlite_url)["reps"] == (41 if already_loaded else 0)


def test_a_missing_file_exits_2_naming_it(sqlite_url: str, tmp_path: Path) -> None:
    ok("init", db=sqlite_url)
    before = dump(sqlite_url)
    missing = tmp_path / "no_such_teams.csv"
    result = run("load", "teams", missing, db=sqlite_url)
    assert result.exit_code == 2
    assert str(missing) in plain(result.stderr)
    assert dump(sqlite_url) == before


def test_a_team_owner_who_is_not_a_loaded_rep_is_rejected(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'lr.db'}"
    reps = tmp_path / "reps.csv"
    reps.write_text("id,name\nana,Ana\nbo,Bo\n", encoding="utf-8")
    teams = tmp_path / "teams.csv"
    teams.write_text("id,name,owner\nsdr,SDR,anaa\n", encoding="utf-8")
    ok("load", "reps", reps, db=db)

    result = run("load", "teams", teams, db=db)

    assert result.exit_code == 2
    assert "owner: sdr: owner 'anaa' is not a loaded rep (did you mean 'ana'?)" in plain(
        result.stderr
    )
    assert counts(db)["teams"] == 0
