"""Every CSV leadrelay writes is safe to open in a spreadsheet: no cell starts like a formula,
whatever text the leads carried, while numbers (negative ones too) stay numbers."""

from __future__ import annotations

import csv
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.analytics.diff import CHANGE_COLUMNS, Change, write_changes
from leadrelay.files.assignments import AssignmentRow, write_assignments
from leadrelay.files.common import FORMULA_START, safe_cell

texts = st.one_of(
    st.text(max_size=30),
    st.builds(
        lambda start, rest: start + rest, st.sampled_from(FORMULA_START), st.text(max_size=10)
    ),
    st.sampled_from(["-12", "+3.5", "-2+3", "=1+1", "@SUM(A1)", "\t=cmd", "\r=cmd", "+44 20 7946"]),
)
EXAMPLES = settings(max_examples=300, deadline=None, database=None)


def dangerous(cell: str) -> bool:
    """A cell a spreadsheet would evaluate: formula-like and not a plain number."""
    return cell.startswith(FORMULA_START) and not _number(cell)


def _number(text: str) -> bool:
    body = text.lstrip("+-")
    whole, _, fraction = body.partition(".")
    return (
        whole.isascii()
        and whole.isdigit()
        and (not fraction or fraction.isdigit())
        and ("." not in body or bool(fraction))
    )


@EXAMPLES
@given(texts)
def test_a_cell_is_the_text_on_one_line_or_that_behind_a_quote(text: str) -> None:
    line = " ".join(text.splitlines()) if "\n" in text or "\r" in text else text
    cell = safe_cell(text)
    assert cell in (line, "'" + line)
    assert not dangerous(cell) and "\r" not in cell and "\n" not in cell
    assert (cell != line) == dangerous(line)


@EXAMPLES
@given(st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_are_written_as_numbers(whole: int, real: float) -> None:
    assert safe_cell(whole) == str(whole)
    assert safe_cell(real) == str(real)
    assert safe_cell(None) == ""


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@EXAMPLES
@given(st.lists(st.tuples(texts, texts, texts), min_size=1, max_size=5))
def test_the_route_out_file_has_no_formula_cells(rows: list[tuple[str, str, str]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.csv"
        write_assignments(
            path, [AssignmentRow(ext, -i, "assigned", owner, "", "r", "s", why)
                   for i, (ext, owner, why) in enumerate(rows)]
        )  # fmt: skip
        written = _read(path)
    assert len(written) == len(rows) + 1
    for number, row in enumerate(written[1:]):
        assert row[1] == str(-number)  # a number column keeps its minus sign
        assert not any(dangerous(cell) for cell in row), row


@EXAMPLES
@given(st.lists(st.tuples(texts, texts, texts), min_size=1, max_size=5))
def test_the_dry_run_diff_file_has_no_formula_cells(rows: list[tuple[str, str, str]]) -> None:
    at = datetime(2026, 11, 25, 14, tzinfo=UTC)
    changes = [
        Change(i + 1, ext, at, "assigned", old, "r1", "assigned", new, None)
        for i, (ext, old, new) in enumerate(rows)
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "changes.csv"
        write_changes(path, changes)
        written = _read(path)
    assert written[0] == list(CHANGE_COLUMNS)
    for row in written[1:]:
        assert not any(dangerous(cell) for cell in row), row
