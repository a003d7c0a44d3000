"""What every file reader shares: opening CSV/JSON as rows, cell parsers, and problem collection.

Rows are numbered as a user counts them in a spreadsheet: the header is row 1 and the first data
row is row 2. A quoted cell spanning several lines is still one row, and a blank row still counts,
so the number in an error is the row the user sees when they open the file. In a JSON file (a
list of objects) the row is the object's 1-based position in the list.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from leadrelay.errors import InputFileError, Problem, did_you_mean

# Past this many problems a file is clearly the wrong file or a wrong export; listing the rest
# helps nobody, so they are counted instead.
MAX_PROBLEMS = 1000

FORMATS = (".csv", ".json")

_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
# What a spreadsheet runs as a formula when a cell starts with it (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


class CellError(ValueError):
    """A cell that does not parse; ``suggestion`` is a "did you mean" when one helps."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion


class Problems:
    """Everything wrong with one file, collected so the user can fix it all in one go."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self._problems: list[Problem] = []
        self._dropped = 0

    def add(
        self,
        message: str,
        *,
        row: int | None = None,
        field: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        if len(self._problems) >= MAX_PROBLEMS:
            self._dropped += 1
            return
        self._problems.append(Problem(message, self.source, None, row, field, suggestion))

    def __len__(self) -> int:
        return len(self._problems) + self._dropped

    def raise_if_any(self) -> None:
        if not self._problems:
            return
        problems = list(self._problems)
        if self._dropped:
            problems.append(
                Problem(
                    f"... and {self._dropped} more problems (the first {MAX_PROBLEMS} are shown)",
                    self.source,
                )
            )
        raise InputFileError(problems)


@dataclass(slots=True)
class Table:
    """A file's columns and its rows, every cell text (JSON values are turned into text)."""

    header: list[str]
    header_rows: list[int | None]  # where each column is named: row 1 in CSV, first object in JSON
    rows: Iterator[tuple[int, list[str]]]  # (row number, cells); blank rows are skipped
    header_row: int | None = 1  # where a missing column would be named: None in JSON


@contextmanager
def open_table(
    path: Path, problems: Problems, *, list_columns: frozenset[str] = frozenset()
) -> Iterator[Table | None]:
    """Open a ``.csv`` or ``.json`` file as a ``Table``; None (with a problem) if it cannot be.

    CSV is read as UTF-8 with or without a byte-order mark, streaming row by row. JSON must be
    a list of objects; a JSON list is accepted only in ``list_columns`` and becomes a ``;``
    list, as it would be written in CSV.
    """
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        problems.add(f"cannot read {suffix or 'a file without extension'}: use .csv or .json")
        yield None
        return
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        problems.add(f"cannot open the file: {exc.strerror or exc}")
        yield None
        return
    with handle:
        if suffix == ".json":
            yield _json_table(handle, problems, list_columns)
        else:
            yield _csv_table(handle, problems)


def _csv_table(handle: TextIO, problems: Problems) -> Table | None:
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as exc:
        _unreadable(problems, exc, 1)
        return None
    if not header or not any(cell.strip() for cell in header):
        problems.add("the file is empty: the first row must name the columns", row=1)
        return None
    if len(header) == 1 and ";" in header[0]:
        problems.add(
            "the columns are separated by ';': save the file as comma-separated CSV"
            " (';' separates items inside one cell)",
            row=1,
        )
        return None
    return Table([cell.strip() for cell in header], [1] * len(header), _csv_rows(reader, problems))


def _csv_rows(reader: Any, problems: Problems) -> Iterator[tuple[int, list[str]]]:
    row = 1
    try:
        for cells in reader:
            row += 1
            if any(cells) and (cells[0].strip() or "".join(cells).strip()):
                yield row, cells
    except (UnicodeDecodeError, csv.Error) as exc:
        _unreadable(problems, exc, row + 1)


def _unreadable(problems: Problems, exc: Exception, row: int) -> None:
    if isinstance(exc, UnicodeDecodeError):
        problems.add("the file is not UTF-8 text: save it as 'CSV UTF-8'", row=row)
    else:
        problems.add(f"not valid CSV: {exc}", row=row)


def _json_table(handle: TextIO, problems: Problems, list_columns: frozenset[str]) -> Table | None:
    try:
        data = json.load(handle)
    except UnicodeDecodeError:
        problems.add("the file is not UTF-8 text")
        return None
    except json.JSONDecodeError as exc:
        problems.add(f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
        return None
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number, nesting 100,000 deep
        problems.add(f"not valid JSON: {str(exc) or type(exc).__name__}")
        return None
    return records_table(data, problems, list_columns)


def records_table(
    data: Any, problems: Problems, list_columns: frozenset[str] = frozenset()
) -> Table | None:
    """A JSON list of objects (already parsed, e.g. a request body) as a ``Table``.

    Rows are the objects' 1-based positions; values become the text a CSV cell would hold.
    """
    if not isinstance(data, list):
        problems.add("expected a JSON list of objects, one per row")
        return None
    header: dict[str, int] = {}
    objects: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            problems.add(f"expected an object, got {_json_kind(item)}", row=index)
            continue
        for key in item:
            header.setdefault(str(key).strip(), index)
        objects.append((index, {str(k).strip(): v for k, v in item.items()}))
    names = list(header)
    rows: list[tuple[int, list[str]]] = []
    for index, item in objects:
        cells: list[str] = []
        for name in names:
            text = _json_cell(item.get(name), name in list_columns)
            if text is None:
                problems.add(
                    f"expected a single value, got {_json_kind(item[name])}", row=index, field=name
                )
                text = ""
            cells.append(text)
        rows.append((index, cells))
    return Table(names, [header[name] for name in names], iter(rows), header_row=None)


def csv_text_table(text: str, problems: Problems) -> Table | None:
    """CSV already in memory (e.g. a request body) as a ``Table``, rows numbered as in a file."""
    return _csv_table(io.StringIO(text.removeprefix("\ufeff"), newline=""), problems)


def _json_cell(value: Any, is_list: bool) -> str | None:
    """A JSON value as CSV text; None when it cannot be one (a nested object, a stray list)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list) and is_list:
        parts = [_json_cell(item, False) for item in value]
        if any(part is None for part in parts):
            return None
        return ";".join(part for part in parts if part)
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def check_header(
    table: Table,
    problems: Problems,
    *,
    known: tuple[str, ...],
    required: tuple[str, ...] = (),
) -> dict[str, int]:
    """Column name -> index, after flagging unknown, repeated and missing columns.

    Names are compared ignoring case and surrounding spaces. An unknown column is an error, not
    ignored: a typo like ``max_per_dya`` would otherwise silently drop every cap in the file.
    """
    index: dict[str, int] = {}
    for position, (raw, row) in enumerate(zip(table.header, table.header_rows, strict=True)):
        name = raw.lower()
        if not name:
            problems.add(f"column {position + 1} has no name", row=row)
        elif name not in known:
            problems.add(
                f"unknown column {raw!r}", row=row, field=raw, suggestion=did_you_mean(name, known)
            )
        elif name in index:
            problems.add(f"column {name!r} appears twice", row=row, field=raw)
        else:
            index[name] = position
    for name in required:
        if name not in index:
            problems.add(f"missing column {name!r}", row=table.header_row, field=name)
    return index


def cell(cells: list[str], position: int | None) -> str:
    """The stripped text at ``position`` ("" when the column is absent or the row is short)."""
    if position is None or position >= len(cells):
        return ""
    return cells[position].strip()


def extra_cells(cells: list[str], width: int) -> bool:
    """Whether a row has non-blank cells beyond the header's columns."""
    return len(cells) > width and any(c.strip() for c in cells[width:])


# Cell parsers: each takes stripped, non-blank text and raises CellError with a message a user
# can act on. Blank cells never reach them; the caller applies the column's default.


def parse_bool(text: str) -> bool:
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise CellError(f"{text!r} is not true or false (also yes/no, 1/0)")


def parse_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        if not _THOUSANDS.fullmatch(text):
            raise CellError(f"{text!r} is not a number") from None
        value = float(text.replace(",", ""))
    if not math.isfinite(value):
        raise CellError(f"{text!r} is not a finite number")
    return value


def parse_count(text: str) -> int:
    """A whole number >= 0 (``1,200`` and ``12.0`` are accepted)."""
    if text.isascii() and text.isdigit() and len(text) < 19:
        return int(text)
    try:
        value = parse_float(text)
    except CellError:
        raise CellError(f"{text!r} is not a whole number") from None
    if not value.is_integer():
        raise CellError(f"{text!r} is not a whole number")
    if value < 0:
        raise CellError(f"{text!r} is negative; use 0 or more")
    return int(value)


def parse_latitude(text: str) -> float:
    value = parse_float(text)
    if not -90 <= value <= 90:
        raise CellError(f"latitude {text} is outside -90..90")
    return value


def parse_longitude(text: str) -> float:
    value = parse_float(text)
    if not -180 <= value <= 180:
        raise CellError(f"longitude {text} is outside -180..180")
    return value


def split_list(text: str) -> list[str]:
    """``a; b;;c`` -> ``["a", "b", "c"]``: items stripped, blanks and repeats dropped."""
    seen: dict[str, None] = {}
    for raw in text.split(";"):
        item = raw.strip()
        if item:
            seen.setdefault(item, None)
    return list(seen)


def choice(options: tuple[str, ...]) -> Callable[[str], str]:
    """A parser accepting one of ``options`` (any case), suggesting the nearest on a typo."""

    def parse(text: str) -> str:
        low = text.lower()
        if low in options:
            return low
        raise CellError(
            f"{text!r} is not one of {', '.join(options)}", suggestion=did_you_mean(low, options)
        )

    return parse


def safe_cell(value: object) -> str:
    """``value`` as the text of a CSV cell that a spreadsheet cannot run as a formula.

    Every CSV leadrelay writes passes its cells through here. Line breaks become spaces: one
    physical line per row, and no carriage return that a reader would take for the end of a row
    (Python's csv writer leaves a lone ``\r`` unquoted), where the rest would start a new row.
    Text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'``
    (the OWASP rule: the spreadsheet shows it as text). Numbers, and text that is a plain number
    such as ``-12`` or ``+3.5``, are left alone: a spreadsheet reads those as numbers, never as
    formulas. None is blank.
    """
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    if "\n" in text or "\r" in text:
        text = " ".join(text.splitlines())
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text
