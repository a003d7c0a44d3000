"""``leadrelay load KIND FILE`` on fuzzed files: exit 0, or exit 2 with the problem on stderr and
every table of the database exactly as before (all or nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from tests.cli.cli_support import dump, ok, run, write_csv
from tests.fuzz.fuzz_files import any_file

from leadrelay.files import (
    ACCOUNT_COLUMNS,
    GENERIC_COLUMNS,
    LEAD_COLUMNS,
    REP_COLUMNS,
    TEAM_COLUMNS,
)
from leadrelay.files.outcomes import OUTCOME_COLUMNS

POLICY = """\
version: 1
routes:
  - {name: everyone, to: {team: sales}, strategy: round_robin}
"""
KINDS = {
    "reps": REP_COLUMNS,
    "teams": TEAM_COLUMNS,
    "accounts": ACCOUNT_COLUMNS,
    "relationships": GENERIC_COLUMNS,
    "outcomes": OUTCOME_COLUMNS,
    "leads": LEAD_COLUMNS,
}


def seeded(folder: Path) -> str:
    """A database with an org, an active policy and three routed leads (e-1..e-3)."""
    db = f"sqlite:///{folder / 'leadrelay.db'}"
    ok("init", db=db)
    reps = [["id", "name", "teams"], *[[r, r.title(), "sales"] for r in ("ana", "bo", "cy")]]
    ok("load", "reps", write_csv(folder / "reps.csv", reps), db=db)
    ok("load", "teams", write_csv(folder / "teams.csv", [TEAM_COLUMNS, ["sales", "S", "ana"]]),
       db=db)  # fmt: skip
    (folder / "policy.yaml").write_text(POLICY, encoding="utf-8")
    ok("policy", "activate", folder / "policy.yaml", db=db)
    leads = [["external_id", "email"], *[[f"e-{i}", f"p{i}@x.example"] for i in (1, 2, 3)]]
    ok("load", "leads", write_csv(folder / "leads.csv", leads), db=db)
    return db


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_refused_file_leaves_the_database_as_it_was(tmp_path: Path, kind: str) -> None:
    db = seeded(tmp_path)
    outcomes = {"accepted": 0, "refused": 0}

    @given(any_file(KINDS[kind]))
    @settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def attempt(file: tuple[str, bytes]) -> None:
        suffix, content = file
        path = tmp_path / f"input{suffix}"
        path.write_bytes(content)
        before = dump(db)
        result = run("load", kind, path, db=db)
        if result.exit_code == 0:
            outcomes["accepted"] += 1
            return
        outcomes["refused"] += 1
        assert result.exit_code == 2, f"exit {result.exit_code}: {result.stderr}"
        assert result.stderr.strip(), "refused without saying why"
        assert dump(db) == before, f"a refused {kind} file changed the database"

    attempt()
    assert outcomes["refused"] > 0
