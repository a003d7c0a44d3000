"""The route --out file: contract columns, deterministic bytes, no spreadsheet formulas."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from leadrelay.domain import Status
from leadrelay.errors import InputFileError
from leadrelay.files import ASSIGNMENT_COLUMNS, AssignmentRow, write_assignments

ROWS = [
    AssignmentRow("L-1", 1, "assigned", "ana", "", "emea", "round_robin", "round robin: ana next"),
    AssignmentRow("L-2", 2, "team", "bo", "sdr", "sdr", "team", "team: held by team sdr"),
    AssignmentRow("", None, "screened_out", "", "", "", "", "screened out by rule 'not-served'"),
]


def test_columns_are_the_design_contract() -> None:
    assert ",".join(ASSIGNMENT_COLUMNS) == (
        "external_id,lead_id,status,owner,team,route,strategy,reason"
    )


def test_write_assignments_writes_header_and_one_line_per_row(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    assert write_assignments(path, ROWS) == 3
    assert path.read_text(encoding="utf-8").splitlines() == [
        "external_id,lead_id,status,owner,team,route,strategy,reason",
        "L-1,1,assigned,ana,,emea,round_robin,round robin: ana next",
        "L-2,2,team,bo,sdr,sdr,team,team: held by team sdr",
        ",,screened_out,,,,,screened out by rule 'not-served'",
    ]


def test_same_rows_give_the_same_bytes(tmp_path: Path) -> None:
    write_assignments(tmp_path / "a.csv", ROWS)
    write_assignments(tmp_path / "b.csv", list(ROWS))
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert b"\r" not in (tmp_path / "a.csv").read_bytes()


def test_mapping_rows_and_enum_values_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_assignments(path, [{"external_id": "L-9", "lead_id": 9, "status": Status.POOL}])
    assert path.read_text().splitlines()[1] == "L-9,9,pool,,,,,"
    with pytest.raises(ValueError, match="unknown assignment columns"):
        write_assignments(path, [{"lead": 1}])


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("-12", "-12"),
        ("+3.5", "+3.5"),
        ("a=b", "a=b"),
    ],
)
def test_formula_like_text_is_defused(tmp_path: Path, text: str, written: str) -> None:
    path = tmp_path / "out.csv"
    write_assignments(path, [AssignmentRow(text, 1, "manual", "", "", "", "", text)])
    with path.open(newline="", encoding="utf-8") as handle:
        row = list(csv.reader(handle))[1]
    assert (row[0], row[7]) == (written, written)


def test_line_breaks_in_a_reason_stay_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_assignments(path, [AssignmentRow("L-1", 1, "manual", "", "", "", "", "a\nb\r\nc")])
    assert path.read_text().splitlines()[1] == "L-1,1,manual,,,,,a b c"


def test_existing_file_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old content that is longer than the new one\n" * 100)
    write_assignments(path, ROWS[:1])
    assert len(path.read_text().splitlines()) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_unwritable_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as exc:
        write_assignments(tmp_path / "missing" / "out.csv", ROWS)
    assert exc.value.problems[0].field == "--out"
    assert list(tmp_path.iterdir()) == []
