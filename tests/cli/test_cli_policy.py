"""``leadrelay policy check``: a good policy passes; a bad one lists every problem by line."""

from __future__ import annotations

from pathlib import Path

from tests.cli.cli_support import dump, ok, plain, run, words

from leadrelay.demo_org import DemoFiles

# Line 5: a misspelt field; line 6: a misspelt rep (anna-snelling is in the demo org).
BAD_POLICY = """\
version: 1
routes:
  - name: airlines
    # a comment, so the line numbers are not simply item positions
    when: 'industy == "airline"'
    to: {reps: [anna-snelling, ana-snelling]}
    strategy: round_robin
  - {name: rest, to: {team: central}, strategy: team}
"""


def test_the_demo_policy_checks_ok_against_the_org(org_db: str, policy: Path) -> None:
    before = dump(org_db)
    result = ok("policy", "check", policy, db=org_db)
    text = words(result.stdout)
    assert text.startswith(f"ok: {policy}")
    assert "9 routes" in text
    assert "names checked against the org" in text
    assert dump(org_db) == before


def test_a_bad_policy_exits_2_with_line_numbers_and_did_you_mean(
    org_db: str, tmp_path: Path
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(BAD_POLICY, encoding="utf-8")
    before = dump(org_db)

    result = run("policy", "check", path, db=org_db)

    assert result.exit_code == 2
    assert result.stdout == ""
    lines = plain(result.stderr).splitlines()
    field = [line for line in lines if f"{path}:5:" in line]
    rep = [line for line in lines if f"{path}:6:" in line]
    assert len(field) == 1, lines
    assert "unknown field 'industy'" in field[0]
    assert "did you mean 'industry'?" in field[0]
    assert len(rep) == 1, lines
    assert "unknown rep 'ana-snelling'" in rep[0]
    assert "did you mean 'anna-snelling'?" in rep[0]
    assert dump(org_db) == before


def test_without_an_org_only_the_policy_itself_is_checked(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(BAD_POLICY, encoding="utf-8")
    result = run("policy", "check", path, db=sqlite_url)
    assert result.exit_code == 2
    stderr = plain(result.stderr)
    assert f"{path}:5:" in stderr
    assert "ana-snelling" not in stderr  # no reps loaded: rep names cannot be checked

    good = tmp_path / "good.yaml"
    good.write_text(BAD_POLICY.replace("industy", "industry"), encoding="utf-8")
    result = ok("policy", "check", good, db=sqlite_url)
    assert "names not checked" in words(result.stdout)


def test_no_org_option_skips_the_name_check(org_db: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(BAD_POLICY.replace("industy", "industry"), encoding="utf-8")
    assert run("policy", "check", path, db=org_db).exit_code == 2
    ok("policy", "check", path, "--no-org", db=org_db)


def test_yaml_that_does_not_parse_exits_2_with_its_line(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\nroutes:\n  - name: [unclosed\n", encoding="utf-8")
    result = run("policy", "check", path, db=sqlite_url)
    assert result.exit_code == 2
    assert f"{path}:" in plain(result.stderr)


def test_a_missing_policy_file_exits_2_naming_it(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    result = run("policy", "check", path, db=sqlite_url)
    assert result.exit_code == 2
    assert str(path) in plain(result.stderr)


def test_teams_named_in_reps_csv_count_as_known_teams(
    sqlite_url: str, demo_files: DemoFiles
) -> None:
    # Only reps.csv loaded: the teams its `teams` column names are known, as DESIGN says.
    ok("load", "reps", demo_files.reps, db=sqlite_url)
    ok("policy", "check", demo_files.policy, db=sqlite_url)
