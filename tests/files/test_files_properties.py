"""Properties: whatever is wrong with a file, readers raise InputFileError and nothing else."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.errors import InputFileError
from leadrelay.files import LEAD_COLUMNS, REP_COLUMNS, read_accounts, read_leads, read_reps

NOW = datetime(2026, 11, 16, tzinfo=UTC)

GOOD_REPS = [
    ["ana", "Ana", "ana@example.com", "emea;sdr", "rep", "Europe/Berlin", "mon-fri 09:00-17:00",
     "2026-12-01..2026-12-05", "2", "5", "20", "80", "industry:airline", "DE", "senior", "52.5",
     "13.4", "true"],
    ["bo", "Bo", "", "", "manager", "", "", "", "", "", "", "", "", "", "", "", "", ""],
    ["chen", "Chen", "chen@example.com", "sdr", "", "America/Chicago", "", "", "0.5", "", "",
     "", "", "US-IL", "junior", "41.9", "-87.6", "no"],
]  # fmt: skip
GOOD_LEADS = [
    ["L-1", "jo@acme.com", "+1 555", "Jo", "Park", "Acme", "acme.com", "software", "smb", "40",
     "US", "AMER", "IL", "60601", "41.9", "-87.6", "crm", "5000", "web",
     "2026-11-16T09:00:00-06:00"],
    ["L-2", "al@b.com", "", "", "", "", "", "", "", "", "GB", "", "", "", "", "", "", "", "", ""],
]  # fmt: skip

# Values no column of its kind accepts.
INVALID = {
    "timezone": ["Mars/Olympus", "UTC+2", "America", "Europe/" + "x" * 300],
    "working_hours": ["9 to 5", "mon-fri 17:00-09:00"],
    "out_of_office": ["soon", "2026-12-05..2026-12-01"],
    "weight": ["-1", "0", "x", "inf"],
    "max_per_day": ["1.5", "-2", "lots"],
    "max_per_week": ["1e400", "?"],
    "max_per_month": ["NaN"],
    "role": ["boss"],
    "seniority": ["elder"],
    "office_lat": ["91", "north"],
    "office_lon": ["181", "west"],
    "active": ["maybe", "2"],
    "email": ["nobody", "@x"],
}
INVALID_LEAD = {
    "employees": ["1.5", "-1", "a few"],
    "lat": ["-91", "x"],
    "lon": ["180.5"],
    "value": ["-1", "cheap"],
    "received_at": ["2026-11-16T09:00:00", "Monday", "2026-13-01T00:00:00Z"],
}

cell_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


def csv_bytes(header: list[str] | tuple[str, ...], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([list(header), *rows])
    return buffer.getvalue().encode()


def mangled(rows: list[list[str]], row: int, column: int, value: str) -> list[list[str]]:
    copy = [list(r) for r in rows]
    copy[row][column] = value
    return copy


def outcome(read: object, name: str, data: bytes) -> object:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            return read(path)  # type: ignore[operator]
        except InputFileError as exc:
            return exc


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(GOOD_REPS) - 1), st.integers(0, len(REP_COLUMNS) - 1), cell_text)
def test_any_rep_cell_mangled_reads_or_raises_input_error(row: int, column: int, text: str) -> None:
    result = outcome(
        read_reps, "reps.csv", csv_bytes(REP_COLUMNS, mangled(GOOD_REPS, row, column, text))
    )
    assert isinstance(result, list | InputFileError)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(GOOD_REPS) - 1), st.sampled_from(sorted(INVALID)), st.data())
def test_invalid_rep_cell_is_reported_at_its_row_and_column(
    row: int, column: str, data: st.DataObject
) -> None:
    value = data.draw(st.sampled_from(INVALID[column]))
    rows = mangled(GOOD_REPS, row, REP_COLUMNS.index(column), value)
    result = outcome(read_reps, "reps.csv", csv_bytes(REP_COLUMNS, rows))
    assert isinstance(result, InputFileError)
    assert [(p.row, p.field) for p in result.problems] == [(row + 2, column)]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(GOOD_LEADS) - 1), st.integers(0, len(LEAD_COLUMNS) - 1), cell_text)
def test_any_lead_cell_mangled_reads_or_raises_input_error(
    row: int, column: int, text: str
) -> None:
    rows = mangled(GOOD_LEADS, row, column, text)
    result = outcome(lambda p: read_leads(p, now=NOW), "leads.csv", csv_bytes(LEAD_COLUMNS, rows))
    assert isinstance(result, list | InputFileError)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, len(GOOD_LEADS) - 1), st.sampled_from(sorted(INVALID_LEAD)), st.data())
def test_invalid_lead_cell_is_reported_at_its_row_and_column(
    row: int, column: str, data: st.DataObject
) -> None:
    value = data.draw(st.sampled_from(INVALID_LEAD[column]))
    rows = mangled(GOOD_LEADS, row, LEAD_COLUMNS.index(column), value)
    result = outcome(lambda p: read_leads(p, now=NOW), "leads.csv", csv_bytes(LEAD_COLUMNS, rows))
    assert isinstance(result, InputFileError)
    assert [(p.row, p.field) for p in result.problems] == [(row + 2, column)]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=60), st.integers(0, 400), st.sampled_from(["csv", "json"]))
def test_any_bytes_spliced_into_a_file_never_escape_as_another_error(
    junk: bytes, at: int, kind: str
) -> None:
    if kind == "csv":
        good = csv_bytes(REP_COLUMNS, GOOD_REPS)
    else:
        good = b'[{"id": "acme", "name": "Acme", "domain": "acme.com", "owner": "ana"}]'
    data = good[:at] + junk + good[at:]
    for read, name in ((read_reps, f"reps.{kind}"), (read_accounts, f"accounts.{kind}")):
        assert isinstance(outcome(read, name, data), list | InputFileError)
    result = outcome(lambda p: read_leads(p, now=NOW), f"leads.{kind}", data)
    assert isinstance(result, list | InputFileError)


def test_time_zone_that_is_a_directory_or_too_long_is_a_cell_error(tmp_path: Path) -> None:
    path = tmp_path / "reps.csv"
    path.write_text(f"id,timezone\nana,America\nbo,{'a' * 300}\n")
    result = outcome(read_reps, "reps.csv", path.read_bytes())
    assert isinstance(result, InputFileError)
    assert [(p.row, p.field) for p in result.problems] == [(2, "timezone"), (3, "timezone")]


def test_json_nested_too_deep_or_huge_number_is_an_input_error() -> None:
    for data in (b"[" * 100_000, b'[{"id": "a", "weight": ' + b"9" * 5000 + b"}]"):
        assert isinstance(outcome(read_reps, "reps.json", data), InputFileError)


def test_huge_whole_number_is_a_cell_error() -> None:
    rows = mangled(GOOD_REPS, 0, REP_COLUMNS.index("max_per_day"), "9" * 5000)
    result = outcome(read_reps, "reps.csv", csv_bytes(REP_COLUMNS, rows))
    assert isinstance(result, InputFileError)
    assert [(p.row, p.field) for p in result.problems] == [(2, "max_per_day")]
