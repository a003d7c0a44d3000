"""A CSV (or JSON) of historical leads with an outcome column, as model-ready columns.

Any columns are accepted. Headers are named the way ``files/leads.py`` names them (a Salesforce
``NumberOfEmployees`` column is the lead field ``employees``; an unknown column keeps its header
as the custom attribute's name), so the model later finds each feature among a lead's fields.

Which columns become features is decided from the data, and every column left out is reported
with the reason: identifiers and contact details (they name a lead, they do not describe it),
dates (a model fitted on last year's dates learns the calendar), text with nearly one value per
row, columns always empty or constant, and columns that give the outcome away (every value goes
with one outcome: usually a field filled in after the fact, like a close value or a status).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from leadrelay.domain.lead import LEAD_FIELDS
from leadrelay.errors import InputFileError, Problem, did_you_mean
from leadrelay.files.common import Problems, open_table
from leadrelay.files.leads import EXPORT_HEADERS
from leadrelay.scoring.values import is_missing_text, parse_number, to_category

# Outcome columns found without --target, compared ignoring case, spaces and underscores.
TARGET_NAMES = ("won", "iswon", "converted", "isconverted", "outcome", "closedwon", "iswonlost")
POSITIVE = frozenset(
    {"1", "true", "t", "yes", "y", "won", "win", "converted", "closed won", "closed-won", "success"}
)
NEGATIVE = frozenset(
    {
        "0", "false", "f", "no", "n", "lost", "lose", "loss", "not converted", "unconverted",
        "closed lost", "closed-lost", "failure", "failed",
    }
)  # fmt: skip
MIN_ROWS = 50  # fewer rows with an outcome than this cannot give a held-out AUC worth reading
MIN_PER_CLASS = 10  # each outcome this often at least: the split and calibration need both
MAX_CATEGORIES = 100  # more distinct values than this is free text, not a category
UNIQUE_SHARE = 0.5  # text with distinct values in over half its rows is an identifier
MOSTLY_EMPTY = 0.95

# Identifiers and contact details by name (after header mapping, lowercased).
_ID_NAMES = frozenset(
    {
        "id", "external_id", "email", "phone", "mobile", "first_name", "last_name", "name",
        "full_name", "company", "domain", "website", "street", "address", "postal_code", "lat",
        "lon", "ip", "ip_address", "url", "linkedin", "notes", "description",
    }
)  # fmt: skip
_ID_SUFFIXES = ("_id", " id", "id_", "_email", "_phone", "_name", "_url")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")
_SLASH_DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{2,4}( \d{1,2}:\d{2}(:\d{2})?( ?[AaPp][Mm])?)?")


@dataclass(frozen=True, slots=True)
class Dropped:
    column: str  # the header as written in the file
    reason: str


@dataclass(frozen=True, slots=True)
class Dataset:
    """The labelled rows: feature columns (numbers or category labels) and the outcome."""

    source: str
    target: str  # the outcome column's header
    numeric: tuple[str, ...]  # feature names (what the lead field is called)
    categorical: tuple[str, ...]
    numbers: dict[str, list[float | None]]
    categories: dict[str, list[str]]
    outcome: list[int]  # 1 won/converted, 0 lost
    dropped: tuple[Dropped, ...]
    skipped: int  # rows whose outcome cell was blank (still open): not used
    headers: dict[str, str]  # feature name -> header in the file

    @property
    def rows(self) -> int:
        return len(self.outcome)

    @property
    def won(self) -> int:
        return sum(self.outcome)


def read_dataset(path: Path, *, target: str | None = None, drop: Sequence[str] = ()) -> Dataset:
    """Read and check the file; raise ``InputFileError`` naming the row and column of a problem."""
    problems = Problems(str(path))
    with open_table(Path(path), problems) as table:
        if table is None:
            problems.raise_if_any()
            raise AssertionError("open_table gave no table and no problem")
        header = table.header
        raw_rows = [(row, cells) for row, cells in table.rows]
    problems.raise_if_any()
    source = str(path)
    target_at = _target_column(header, target, source)
    names = _feature_names(header, target_at, source)
    _check_drop(drop, header, source)
    outcome: list[int] = []
    kept: list[list[str]] = []
    skipped = 0
    width = len(header)
    for row, raw in raw_rows:
        cells = (raw + [""] * width)[:width]
        text = cells[target_at].strip()
        if is_missing_text(text):
            skipped += 1
            continue
        label = text.casefold()
        if label in POSITIVE:
            outcome.append(1)
        elif label in NEGATIVE:
            outcome.append(0)
        else:
            problems.add(
                f"{text!r} is not an outcome; use won/lost, true/false, yes/no or 1/0"
                " (leave it blank for a lead still open)",
                row=row,
                field=header[target_at],
            )
            continue
        kept.append(cells)
    problems.raise_if_any()
    _check_size(outcome, header[target_at], source, skipped)
    dropped_by_user = {d.strip().lower() for d in drop}
    numeric: list[str] = []
    categorical: list[str] = []
    numbers: dict[str, list[float | None]] = {}
    categories: dict[str, list[str]] = {}
    dropped: list[Dropped] = []
    headers: dict[str, str] = {}
    for position, name in names.items():
        column = header[position]
        if column.lower() in dropped_by_user or name.lower() in dropped_by_user:
            dropped.append(Dropped(column, "left out with --drop"))
            continue
        cells = [row[position] for row in kept]
        kind, reason = _profile(name, cells, outcome)
        headers[name] = column
        if reason is not None:
            dropped.append(Dropped(column, reason))
        elif kind == "numeric":
            numeric.append(name)
            numbers[name] = [parse_number(c) for c in cells]
        else:
            categorical.append(name)
            categories[name] = [to_category(c) for c in cells]
    if not numeric and not categorical:
        why = "; ".join(f"{d.column}: {d.reason}" for d in dropped) or "no other column"
        raise InputFileError(Problem(f"no column is usable as a feature ({why})", source=source))
    return Dataset(
        source=source,
        target=header[target_at],
        numeric=tuple(numeric),
        categorical=tuple(categorical),
        numbers=numbers,
        categories=categories,
        outcome=outcome,
        dropped=tuple(dropped),
        skipped=skipped,
        headers={n: headers[n] for n in (*numeric, *categorical)},
    )


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


def _target_column(header: list[str], target: str | None, source: str) -> int:
    if target is not None:
        wanted = target.strip().lower()
        for position, name in enumerate(header):
            if name.lower() == wanted:
                return position
        raise InputFileError(
            Problem(
                f"no column {target!r} for the outcome (--target)",
                source=source,
                row=1,
                field="--target",
                suggestion=did_you_mean(target, header),
            )
        )
    found = [i for i, name in enumerate(header) if _squash(name) in TARGET_NAMES]
    if len(found) == 1:
        return found[0]
    if found:
        named = ", ".join(header[i] for i in found)
        message = f"several columns could be the outcome ({named}); choose one with --target"
    else:
        message = (
            "no outcome column found (looked for won, is_won, converted, IsConverted, outcome);"
            " name it with --target"
        )
    raise InputFileError(Problem(message, source=source, row=1))


def _feature_names(header: list[str], target_at: int, source: str) -> dict[int, str]:
    """Column position -> the lead field or attribute name the column feeds, as leads.py maps."""
    names: dict[int, str] = {}
    seen: dict[str, int] = {}
    problems = Problems(source)
    for position, raw in enumerate(header):
        if position == target_at or not raw:
            continue
        low = raw.lower()
        name = EXPORT_HEADERS.get(low, low if low in LEAD_FIELDS else raw)
        if name in seen:
            problems.add(
                f"columns {header[seen[name]]!r} and {raw!r} both give {name}; remove one",
                row=1,
                field=raw,
            )
            continue
        seen[name] = position
        names[position] = name
    problems.raise_if_any()
    return names


def _check_drop(drop: Sequence[str], header: list[str], source: str) -> None:
    lower = {name.lower() for name in header}
    mapped = {EXPORT_HEADERS.get(n, n) for n in lower}
    for name in drop:
        if name.strip().lower() not in lower | mapped:
            raise InputFileError(
                Problem(
                    f"--drop {name}: the file has no such column",
                    source=source,
                    field="--drop",
                    suggestion=did_you_mean(name, header),
                )
            )


def _check_size(outcome: list[int], column: str, source: str, skipped: int) -> None:
    won, rows = sum(outcome), len(outcome)
    open_note = f" ({skipped} more have a blank outcome)" if skipped else ""
    if rows < MIN_ROWS:
        raise InputFileError(
            Problem(
                f"only {rows} rows have an outcome{open_note}; training needs at least"
                f" {MIN_ROWS} to measure anything",
                source=source,
                field=column,
            )
        )
    if won in (0, rows):
        kind = "won" if won else "lost"
        raise InputFileError(
            Problem(
                f"every one of the {rows} rows is {kind}: a model needs both won and lost leads",
                source=source,
                field=column,
            )
        )
    if min(won, rows - won) < MIN_PER_CLASS:
        raise InputFileError(
            Problem(
                f"only {min(won, rows - won)} {'won' if won < rows - won else 'lost'} rows;"
                f" training needs at least {MIN_PER_CLASS} of each outcome",
                source=source,
                field=column,
            )
        )


def _profile(name: str, cells: list[str], outcome: list[int]) -> tuple[str, str | None]:
    """("numeric" | "categorical", why the column is left out or None)."""
    low = name.lower()
    if low in _ID_NAMES or low.endswith(_ID_SUFFIXES) or low.startswith("id_"):
        return "", "an identifier or contact detail, not a trait of the lead"
    present = [c.strip() for c in cells if not is_missing_text(c)]
    if not present:
        return "", "always empty"
    if len(present) < (1 - MOSTLY_EMPTY) * len(cells):
        return "", f"empty in {1 - len(present) / len(cells):.0%} of rows"
    if (name in LEAD_FIELDS and LEAD_FIELDS[name] is datetime) or _dates(present):
        return "", "a date: the model would learn the calendar of past leads"
    distinct = Counter(present)
    if len(distinct) == 1:
        return "", "the same value in every row"
    numbers = [parse_number(c) for c in present]
    kind = "numeric" if all(n is not None for n in numbers) else "categorical"
    if kind == "categorical":
        labels = {to_category(c) for c in present}
        if len(labels) > MAX_CATEGORIES:
            return "", f"free text: {len(labels):,} distinct values"
        if len(labels) > UNIQUE_SHARE * len(present) and len(labels) > 20:
            return "", "nearly one value per row, like an identifier"
    if _gives_away(cells, outcome, kind):
        return "", "gives the outcome away (every value goes with one outcome): filled in after?"
    return kind, None


def _dates(present: list[str]) -> bool:
    sample = present[:200]
    hits = sum(1 for c in sample if _DATE.fullmatch(c) or _SLASH_DATE.fullmatch(c))
    return hits >= 0.9 * len(sample)


def _gives_away(cells: list[str], outcome: list[int], kind: str) -> bool:
    """Whether the column alone separates won from lost perfectly (with room to spare)."""
    if kind == "categorical":
        seen: dict[str, set[int]] = {}
        for text, label in zip(cells, outcome, strict=True):
            seen.setdefault(to_category(text), set()).add(label)
        # a category per handful of rows separates by chance; require well-filled categories
        return len(seen) <= len(cells) / 10 and all(len(labels) == 1 for labels in seen.values())
    # missing sorts below every number: "no close value" is as telling as a small one
    pairs = [(parse_number(c), label) for c, label in zip(cells, outcome, strict=True)]
    won = [float("-inf") if n is None else n for n, label in pairs if label == 1]
    lost = [float("-inf") if n is None else n for n, label in pairs if label == 0]
    return max(lost) < min(won) or max(won) < min(lost)
