"""Read a history file for simulation: leads as they arrived, who had them, how they ended.

A history CSV/JSON is ``leads.csv`` (every column of the contract, Salesforce/HubSpot headers
mapped, custom columns kept) plus:

- ``owner``: the rep who historically had the lead (blank: nobody, or unknown);
- ``outcome``: ``won``, ``lost`` or blank (still open, or never known);
- ``won_value``: the won deal's size (only with ``outcome`` won);
- ``closed_at``: when it was won or lost (ISO 8601 with offset; not before ``received_at``).

``received_at`` is required: a replay needs each lead's moment. Every problem in the file is
reported at once, by row and column, as ``read_leads`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from leadrelay.domain.lead import Lead
from leadrelay.errors import InputFileError
from leadrelay.files.common import CellError, Problems, cell, open_table, parse_float
from leadrelay.files.leads import read_leads

HISTORY_COLUMNS = ("owner", "outcome", "won_value", "closed_at")
OUTCOMES = ("won", "lost")
# the arrival of a lead with a blank received_at while reading: such a row is an error here
_NO_TIME = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One historical lead: the lead, its historical owner and how it ended."""

    row: int  # in the file, for messages
    lead: Lead
    owner: str | None
    outcome: str | None  # won | lost | None (open or unknown)
    won_value: float | None
    closed_at: datetime | None


def read_history(
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    fields: Mapping[str, str] | None = None,
) -> list[HistoryRow]:
    """The file's historical leads in file order; ``InputFileError`` listing every bad row."""
    path = Path(path)
    problems = Problems(str(path))
    extras: list[tuple[int, list[str]]] = []  # row, and its cells of HISTORY_COLUMNS
    with open_table(path, problems) as table:
        if table is not None:
            lower = [name.strip().lower() for name in table.header]
            at = {name: lower.index(name) for name in HISTORY_COLUMNS if name in lower}
            for number, cells in table.rows:
                extras.append((number, [cell(cells, at.get(n)) for n in HISTORY_COLUMNS]))
    problems.raise_if_any()
    try:
        leads = read_leads(path, now=_NO_TIME, mapping=mapping, fields=fields)
    except InputFileError as exc:
        for p in exc.problems:
            problems.add(p.message, row=p.row, field=p.field, suggestion=p.suggestion)
        leads = []
    rows: list[HistoryRow] = []
    for index, (number, (owner, outcome, won_value, closed_at)) in enumerate(extras):
        parsed = _history_cells(number, outcome, won_value, closed_at, problems)
        if index >= len(leads):
            continue
        lead = leads[index]
        if lead.received_at == _NO_TIME:
            problems.add("a history lead needs the time it arrived", row=number,
                         field="received_at")  # fmt: skip
            continue
        if parsed is None:
            continue
        closed = parsed[2]
        if closed is not None and closed < lead.received_at:
            problems.add("closed before it was received", row=number, field="closed_at")
            continue
        attributes = {
            k: v for k, v in lead.attributes.items() if k.strip().lower() not in HISTORY_COLUMNS
        }
        lead = replace(lead, attributes=attributes)
        rows.append(HistoryRow(number, lead, owner or None, *parsed))
    problems.raise_if_any()
    return rows


def _history_cells(
    number: int,
    outcome_text: str,
    value_text: str,
    closed_text: str,
    problems: Problems,
) -> tuple[str | None, float | None, datetime | None] | None:
    ok = True
    outcome = outcome_text.lower() or None
    if outcome is not None and outcome not in OUTCOMES:
        problems.add(f"{outcome_text!r} is not won, lost or blank", row=number, field="outcome")
        ok = False
    won_value: float | None = None
    if value_text:
        try:
            won_value = parse_float(value_text)
            if won_value < 0:
                raise CellError(f"{value_text} is negative")
            if outcome != "won":
                raise CellError("only a won lead has a won value")
        except CellError as exc:
            problems.add(str(exc), row=number, field="won_value")
            ok = False
    closed_at: datetime | None = None
    if closed_text:
        try:
            closed_at = datetime.fromisoformat(closed_text)
        except ValueError:
            closed_at = None
        if closed_at is None or closed_at.tzinfo is None:
            problems.add(f"{closed_text!r} is not ISO 8601 with a UTC offset", row=number,
                         field="closed_at")  # fmt: skip
            ok = False
        elif outcome is None:
            problems.add("a closed lead needs its outcome (won or lost)", row=number,
                         field="closed_at")  # fmt: skip
            ok = False
    return (outcome, won_value, closed_at) if ok else None
