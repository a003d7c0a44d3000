"""Every file importer on whatever it is handed: it returns rows, or raises ``InputFileError``
naming each problem; never any other exception. (``test_fuzz_cli_load.py`` checks the database
is unchanged when the CLI refuses a file.)"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.fuzz.fuzz_files import any_file

from leadrelay.errors import InputFileError, LeadRelayError
from leadrelay.files import (
    ACCOUNT_COLUMNS,
    CONNECTIONS_COLUMNS,
    CRM_COLUMNS,
    GENERIC_COLUMNS,
    HISTORY_COLUMNS,
    LEAD_COLUMNS,
    REP_COLUMNS,
    TEAM_COLUMNS,
    read_accounts,
    read_history,
    read_leads,
    read_relationships,
    read_reps,
    read_teams,
)
from leadrelay.files.outcomes import OUTCOME_COLUMNS, read_outcomes

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
REPS = {"ana", "bo", "cy"}

READERS: dict[str, tuple[tuple[str, ...], Callable[[Path], Any]]] = {
    "reps": (REP_COLUMNS, read_reps),
    "teams": (TEAM_COLUMNS, read_teams),
    "accounts": (ACCOUNT_COLUMNS, read_accounts),
    "leads": (LEAD_COLUMNS, lambda p: read_leads(p, now=NOW, fields={"seats": "integer"})),
    "outcomes": (OUTCOME_COLUMNS, read_outcomes),
    "history": (LEAD_COLUMNS + HISTORY_COLUMNS, read_history),
    "connections": (
        CONNECTIONS_COLUMNS,
        lambda p: read_relationships(p, employee="ana", known_reps=REPS, today=date(2026, 1, 1)),
    ),
    "crm-relationships": (CRM_COLUMNS, lambda p: read_relationships(p, known_reps=REPS)),
    "generic-relationships": (GENERIC_COLUMNS, lambda p: read_relationships(p, known_reps=REPS)),
}


def read_cleanly(reader: Callable[[Path], Any], suffix: str, content: bytes) -> Any:
    """Run ``reader`` on a file holding ``content``: its result, or None after a clean refusal."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(content)
        try:
            return reader(path)
        except InputFileError as exc:
            assert exc.problems, "an InputFileError with no problem in it"
            for problem in exc.problems:
                assert problem.message.strip(), f"a problem without a message: {problem!r}"
            assert str(path) in str(exc), "the error does not name the file"
            return None
        except LeadRelayError as exc:
            name = type(exc).__name__
            raise AssertionError(f"an importer raised {name}, not InputFileError") from exc


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(READERS))
def test_an_importer_reads_a_file_or_refuses_it_cleanly(kind: str) -> None:
    columns, reader = READERS[kind]

    @given(any_file(columns))
    @settings(
        max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(file: tuple[str, bytes]) -> None:
        read_cleanly(reader, *file)

    run()


def test_the_strategies_reach_both_outcomes() -> None:
    """The fuzzing is not vacuous: valid rows import, broken ones are refused."""
    good = b"id,name,owner\nsales,Sales,ana\n"
    assert read_cleanly(read_teams, ".csv", good) is not None
    assert read_cleanly(read_teams, ".csv", b"id,name,owner\n,Sales,ana\n") is None
    assert read_cleanly(read_reps, ".csv", b"\xff\xfe\x00garbage") is None


@given(st.binary(max_size=64))
@settings(max_examples=50, deadline=None, database=None)
def test_bytes_that_are_not_utf8_are_refused_with_the_file_named(data: bytes) -> None:
    read_cleanly(read_accounts, ".csv", data)
