"""``leadrelay demo``, ``leadrelay`` with no arguments, and the installed console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.cli_support import OUT_HEADER, STATUSES, counts, ok, plain, read_out, run, words

COMMANDS = ("init", "load", "route", "policy", "explain", "ledger", "demo")


def test_demo_builds_an_org_routes_leads_and_prints_reports_and_traces(tmp_path: Path) -> None:
    workdir = tmp_path / "tmp"
    result = ok("demo", "--workdir", workdir, "--leads", "300")

    stdout = plain(result.stdout)
    text = words(stdout)
    for title in ("Leads per rep", "Leads per route", "Not distributed to a rep, and why"):
        assert text.count(title) == 1, title
    assert text.count("why this rep: lead") == 3
    assert sum(line.startswith("Why: ") for line in stdout.splitlines()) == 3
    assert sum(line.startswith("assigned to ") for line in stdout.splitlines()) == 3

    for name in ("reps.csv", "teams.csv", "accounts.csv", "leads.csv", "policy.yaml"):
        assert (workdir / name).is_file(), name
    rows = read_out(workdir / "assignments.csv")
    assert (workdir / "assignments.csv").read_text(encoding="utf-8").startswith(OUT_HEADER + "\n")
    assert len(rows) == 300
    assert {row["status"] for row in rows} <= STATUSES
    url = f"sqlite:///{workdir / 'demo.db'}"
    assert f"leadrelay explain 1 --db {url} " in stdout  # whole, so it can be pasted
    assert f"leadrelay ledger --db {url}\n" in stdout
    assert counts(url)["leads"] == 300


def test_no_arguments_prints_help_listing_the_commands() -> None:
    result = run()
    assert result.exit_code in (0, 2)
    text = plain(result.output)
    assert "Usage:" in text
    for command in COMMANDS:
        assert f" {command} " in text, command


def _script() -> Path:
    """The ``leadrelay`` console script installed next to this Python."""
    script = Path(sys.executable).with_name("leadrelay")
    assert script.is_file(), f"{script} is missing: pip install -e . installs it"
    return script


def test_the_console_script_routes_and_reports_bad_input_with_exit_2(tmp_path: Path) -> None:
    """The real entry point, in its own process: stdout, stderr and exit status as users see
    them (``leadrelay.cli:main`` must propagate the status, not swallow it)."""
    reps = tmp_path / "reps.csv"
    reps.write_text("id,name,teams,timezone\nana,Ana,ent,UTC\nbo,Bo,ent,UTC\n", encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nroutes:\n  - {name: rr, to: {team: entt}, strategy: round_robin}\n",
        encoding="utf-8",
    )
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "external_id,email,received_at\n"
        "A1,a1@example.com,2026-11-16T10:00:00Z\n"
        "A2,a2@example.com,2026-11-16T11:00:00Z\n",
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'leadrelay.db'}"
    out = tmp_path / "out.csv"
    ok("load", "reps", reps, db=db)
    env = {**os.environ, "LEADRELAY_DB": db}  # the environment names the database
    route = [str(_script()), "route", str(leads), "--policy", str(policy), "--out", str(out)]

    bad = subprocess.run(route, env=env, capture_output=True, text=True, timeout=60, check=False)

    assert bad.returncode == 2, bad.stdout + bad.stderr
    # Each problem is one whole line, however long the path (scripts grep for these).
    problem = f"  {policy}:3: routes[0].to.team: unknown team 'entt' (did you mean 'ent'?)"
    assert problem in bad.stderr.splitlines(), bad.stderr
    assert not out.exists()
    assert counts(db)["leads"] == 0

    policy.write_text(policy.read_text(encoding="utf-8").replace("entt", "ent"), encoding="utf-8")
    good = subprocess.run(route, env=env, capture_output=True, text=True, timeout=60, check=False)

    assert good.returncode == 0, good.stderr
    assert f"wrote 2 rows to {out}" in words(good.stdout)
    assert out.read_text(encoding="utf-8").splitlines()[0] == OUT_HEADER
    assert [(r["external_id"], r["status"]) for r in read_out(out)] == [
        ("A1", "assigned"),
        ("A2", "assigned"),
    ]


def test_demo_refuses_a_database_that_already_has_leads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mine.db'}"
    ok("demo", "--workdir", tmp_path / "first", "--leads", "50", "--db", url)
    before = counts(url)

    result = run("demo", "--workdir", tmp_path / "second", "--leads", "50", "--db", url)

    assert result.exit_code == 2
    assert "needs an empty database" in plain(result.stderr)
    assert counts(url) == before
