"""Read outcomes from CSV/JSON: ``lead_id`` or ``external_id``, ``kind``, ``at``, ``value``,
``reason`` — what a CRM export of closed deals gives. Problems name the row and column."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from leadrelay.files.common import (
    CellError,
    Problems,
    cell,
    check_header,
    extra_cells,
    open_table,
    parse_count,
    parse_float,
)

OUTCOME_COLUMNS = ("lead_id", "external_id", "kind", "at", "value", "reason")
KINDS = ("contacted", "qualified", "won", "lost")


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    row: int  # in the file, for error messages
    lead_id: int | None
    external_id: str | None
    kind: str
    at: datetime | None  # None: when it is loaded
    value: float | None
    reason: str | None


def read_outcomes(path: Path) -> list[OutcomeRow]:
    path = Path(path)
    problems = Problems(str(path))
    rows: list[OutcomeRow] = []
    with open_table(path, problems) as table:
        if table is not None:
            index = check_header(table, problems, known=OUTCOME_COLUMNS, required=("kind",))
            if "lead_id" not in index and "external_id" not in index:
                problems.add("name the lead: give a lead_id or an external_id column")
            width = len(table.header)
            for number, cells in table.rows:
                if extra_cells(cells, width):
                    problems.add(f"row has {len(cells)} cells but the header names {width}",
                                 row=number)  # fmt: skip
                parsed = _row(number, cells, index, problems)
                if parsed is not None:
                    rows.append(parsed)
    problems.raise_if_any()
    return rows


def _row(
    number: int, cells: list[str], index: dict[str, int], problems: Problems
) -> OutcomeRow | None:
    def text(name: str) -> str:
        return cell(cells, index.get(name))

    ok = True
    lead_id: int | None = None
    if text("lead_id"):
        try:
            lead_id = parse_count(text("lead_id"))
        except CellError as exc:
            problems.add(str(exc), row=number, field="lead_id")
            ok = False
    external_id = text("external_id") or None
    if lead_id is None and external_id is None and ok:
        problems.add("give the lead's lead_id or external_id", row=number, field="lead_id")
        ok = False
    kind = text("kind").lower()
    if kind not in KINDS:
        problems.add(f"kind {text('kind')!r} is not one of {', '.join(KINDS)}", row=number,
                     field="kind")  # fmt: skip
        ok = False
    at: datetime | None = None
    if text("at"):
        try:
            at = datetime.fromisoformat(text("at"))
            if at.tzinfo is None:
                raise ValueError
        except ValueError:
            problems.add(f"{text('at')!r} is not ISO 8601 with a UTC offset", row=number,
                         field="at")  # fmt: skip
            ok = False
    value: float | None = None
    if text("value"):
        try:
            value = parse_float(text("value"))
            if value < 0 or kind != "won":
                raise CellError("a value is a won deal's size, not negative")
        except CellError as exc:
            problems.add(str(exc), row=number, field="value")
            ok = False
    if not ok:
        return None
    return OutcomeRow(number, lead_id, external_id, kind, at, value, text("reason") or None)
