"""Write the ``leadrelay route --out`` file: one row per input lead, in input order.

The columns are a contract users script against (DESIGN.md "File formats"):
``external_id,lead_id,status,owner,team,route,strategy,reason``. The file is UTF-8 without a
byte-order mark, ``\\n`` line endings, one physical line per row, and the same rows always give
the same bytes.

Text that a spreadsheet would run as a formula gets a leading ``'`` (``files.common.safe_cell``,
shared by every CSV leadrelay writes), so opening the file in Excel cannot execute anything a
lead's data smuggled in.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from leadrelay.domain.decision import Decision
from leadrelay.errors import InputFileError, Problem
from leadrelay.files.common import safe_cell


class AssignmentRow(NamedTuple):
    external_id: str
    lead_id: int | None
    status: str
    owner: str
    team: str
    route: str
    strategy: str
    reason: str

    @classmethod
    def of(cls, external_id: str | None, lead_id: int | None, decision: Decision) -> AssignmentRow:
        """The ``--out`` row for one routed lead."""
        return cls(
            external_id=external_id or "",
            lead_id=lead_id,
            status=decision.status.value,
            owner=decision.owner or "",
            team=decision.team or "",
            route=decision.route or "",
            strategy=decision.strategy or "",
            reason=decision.reason,
        )


ASSIGNMENT_COLUMNS: tuple[str, ...] = AssignmentRow._fields


def write_assignments(path: Path, rows: Iterable[AssignmentRow | Mapping[str, object]]) -> int:
    """Write ``rows`` to ``path`` (replaced whole, never left half-written); returns the count.

    A row is an ``AssignmentRow`` or a mapping with some of its column names (missing = blank).
    None becomes a blank cell. Raises ``InputFileError`` when the file cannot be written.
    """
    path = Path(path)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    count = 0
    try:
        with temp.open("x", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(ASSIGNMENT_COLUMNS)
            for row in rows:
                writer.writerow(_cells(row))
                count += 1
        temp.replace(path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise InputFileError(
            Problem(
                f"cannot write the file: {exc.strerror or exc}", source=str(path), field="--out"
            )
        ) from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return count


def _cells(row: AssignmentRow | Mapping[str, object]) -> list[str]:
    if isinstance(row, Mapping):
        unknown = set(row) - set(ASSIGNMENT_COLUMNS)
        if unknown:
            raise ValueError(f"unknown assignment columns {sorted(unknown)}")
        values: Iterable[object] = (row.get(name) for name in ASSIGNMENT_COLUMNS)
    else:
        values = row
    return [safe_cell(value) for value in values]
