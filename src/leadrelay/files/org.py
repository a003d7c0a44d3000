"""Read the sales org from files: ``reps``, ``teams`` and ``accounts`` as CSV or JSON.

The columns are the contract in DESIGN.md "File formats". Only ``id`` must be present; any
other column may be left out or left blank, and then takes its default. A column nobody knows is
an error with a "did you mean", never silently ignored. Every problem in the file is collected
and raised at once as one ``InputFileError`` naming the file, the row and the column (rows are
counted as in a spreadsheet: the header is row 1, the first data row is row 2; in JSON the row is
the object's 1-based position in the list).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import available_timezones

from leadrelay.domain.org import Account, Team
from leadrelay.domain.rep import (
    Caps,
    DateRange,
    Rep,
    Role,
    Seniority,
    WorkingHours,
    parse_skill,
    zone,
)
from leadrelay.errors import did_you_mean
from leadrelay.files.common import (
    CellError,
    Problems,
    Table,
    cell,
    check_header,
    choice,
    extra_cells,
    open_table,
    parse_bool,
    parse_count,
    parse_float,
    parse_latitude,
    parse_longitude,
    records_table,
    split_list,
)

REP_COLUMNS = (
    "id", "name", "email", "teams", "role", "timezone", "working_hours", "out_of_office",
    "weight", "max_per_day", "max_per_week", "max_per_month", "skills", "regions", "seniority",
    "office_lat", "office_lon", "active",
)  # fmt: skip
TEAM_COLUMNS = ("id", "name", "owner")
ACCOUNT_COLUMNS = ("id", "name", "domain", "owner")

_REP_LISTS = frozenset({"teams", "out_of_office", "skills", "regions"})
_DOMAIN = re.compile(r"[^\s/@:]+\.[^\s/@:.]+")

T = TypeVar("T")
Parser = Callable[[str], Any]
Builder = Callable[[dict[str, Any], int, Problems], T | None]


def read_reps(path: Path) -> list[Rep]:
    """Reps from ``reps.csv`` / ``reps.json``; raises ``InputFileError`` listing every problem.

    Blank cells take the defaults: role rep, time zone UTC, always working, weight 1, no caps of
    its own (the policy's default applies), seniority mid, active. Skills are lowercased.
    """
    return _read(Path(path), _REP_PARSERS, _build_rep, _REP_LISTS)


def read_teams(path: Path) -> list[Team]:
    """Teams from ``teams.csv`` / ``teams.json`` (``id,name,owner``; owner is a rep id)."""
    return _read(Path(path), _TEAM_PARSERS, _build_team, frozenset())


def read_accounts(path: Path) -> list[Account]:
    """Accounts from ``accounts.csv`` / ``.json`` (``id,name,domain,owner``).

    Domains are normalised the way leads' websites are (lowercase, no scheme, no ``www.``, no
    path), and two accounts may not share one: a lead's domain must name a single account.
    """
    return _read(Path(path), _ACCOUNT_PARSERS, _build_account(), frozenset())


def _build_account() -> Builder[Account]:
    """A builder that also refuses a domain two accounts share (state: the domains seen)."""
    seen: dict[str, int] = {}

    def build(values: dict[str, Any], row: int, problems: Problems) -> Account | None:
        domain: str | None = values.get("domain")
        if domain is not None:
            first = seen.setdefault(domain, row)
            if first != row:
                problems.add(
                    f"domain {domain!r} is already the domain of row {first}",
                    row=row,
                    field="domain",
                )
                return None
        return Account(
            id=values["id"], name=values.get("name", ""), domain=domain, owner=values.get("owner")
        )

    return build


def reps_from_records(records: Any, source: str | None = None) -> list[Rep]:
    """Reps from already-parsed JSON objects (an API body), checked exactly as a reps file."""
    return _from_records(records, source, _REP_PARSERS, _build_rep, _REP_LISTS)


def teams_from_records(records: Any, source: str | None = None) -> list[Team]:
    return _from_records(records, source, _TEAM_PARSERS, _build_team, frozenset())


def accounts_from_records(records: Any, source: str | None = None) -> list[Account]:
    return _from_records(records, source, _ACCOUNT_PARSERS, _build_account(), frozenset())


def _read(
    path: Path, parsers: Mapping[str, Parser], build: Builder[T], list_columns: frozenset[str]
) -> list[T]:
    problems = Problems(str(path))
    with open_table(path, problems, list_columns=list_columns) as table:
        items = _collect(table, parsers, build, problems) if table is not None else []
    problems.raise_if_any()
    return items


def _from_records(
    records: Any,
    source: str | None,
    parsers: Mapping[str, Parser],
    build: Builder[T],
    list_columns: frozenset[str],
) -> list[T]:
    problems = Problems(source)
    table = records_table(records, problems, list_columns)
    items = _collect(table, parsers, build, problems) if table is not None else []
    problems.raise_if_any()
    return items


def _collect(
    table: Table, parsers: Mapping[str, Parser], build: Builder[T], problems: Problems
) -> list[T]:
    items: list[T] = []
    index = check_header(table, problems, known=tuple(parsers), required=("id",))
    width = len(table.header)
    ids: dict[str, int] = {}
    for row, cells in table.rows:
        if extra_cells(cells, width):
            problems.add(f"row has {len(cells)} cells but the header names {width}", row=row)
        values, ok = _parse_row(cells, index, parsers, row, problems)
        if "id" not in values:
            continue
        first = ids.setdefault(values["id"], row)
        if first != row:
            problems.add(f"id {values['id']!r} is already used in row {first}", row=row, field="id")
            continue
        if not ok:
            continue
        item = build(values, row, problems)
        if item is not None:
            items.append(item)
    return items


def _parse_row(
    cells: list[str],
    index: Mapping[str, int],
    parsers: Mapping[str, Parser],
    row: int,
    problems: Problems,
) -> tuple[dict[str, Any], bool]:
    """The row's good non-blank cells parsed, and whether every cell was good."""
    values: dict[str, Any] = {}
    ok = True
    for name, position in index.items():
        text = cell(cells, position)
        if not text:
            continue
        try:
            values[name] = parsers[name](text)
        except CellError as exc:
            problems.add(str(exc), row=row, field=name, suggestion=exc.suggestion)
            ok = False
    if "id" not in values and "id" in index and not cell(cells, index["id"]):
        problems.add("id is required", row=row, field="id")
    return values, ok


def _parse_id(text: str) -> str:
    if ";" in text:
        raise CellError(f"id {text!r} contains ';', which separates list items")
    return text


def _parse_email(text: str) -> str:
    local, at, host = text.partition("@")
    if not at or not local or "." not in host:
        raise CellError(f"{text!r} is not an email address")
    return text


def _parse_timezone(text: str) -> str:
    try:
        zone(text)
    except (ValueError, OSError):  # OSError: "America" is a directory, a name too long, ...
        raise CellError(
            f"unknown time zone {text!r}; use an IANA name like Europe/Berlin",
            suggestion=did_you_mean(text, _zone_names()),
        ) from None
    return text


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def _parse_working_hours(text: str) -> WorkingHours:
    try:
        return WorkingHours.parse(text)
    except ValueError as exc:
        raise CellError(str(exc)) from None


def _parse_out_of_office(text: str) -> tuple[DateRange, ...]:
    ranges: list[DateRange] = []
    for item in split_list(text):
        try:
            ranges.append(DateRange.parse(item))
        except ValueError as exc:
            if "before it starts" in str(exc):
                raise CellError(str(exc)) from None
            raise CellError(
                f"cannot read {item!r}; write a day 2026-12-01 or a range 2026-12-01..2026-12-05"
            ) from None
    return tuple(ranges)


def _parse_weight(text: str) -> float:
    value = parse_float(text)
    if value <= 0:
        raise CellError(f"weight {text} must be more than 0")
    return value


def _parse_domain(text: str) -> str:
    low = text.lower()
    for prefix in ("https://", "http://"):
        low = low.removeprefix(prefix)
    low = low.split("/", 1)[0].removeprefix("www.")
    if "@" in low:
        raise CellError(f"{text!r} is an email address; give the domain after the @")
    if not _DOMAIN.fullmatch(low):
        raise CellError(f"{text!r} is not a domain like acme.com")
    return low


_REP_PARSERS: dict[str, Parser] = {
    "id": _parse_id,
    "name": str,
    "email": _parse_email,
    "teams": lambda text: tuple(split_list(text)),
    "role": choice(tuple(Role)),
    "timezone": _parse_timezone,
    "working_hours": _parse_working_hours,
    "out_of_office": _parse_out_of_office,
    "weight": _parse_weight,
    "max_per_day": parse_count,
    "max_per_week": parse_count,
    "max_per_month": parse_count,
    "skills": lambda text: frozenset(parse_skill(s) for s in split_list(text)),
    "regions": lambda text: tuple(split_list(text)),
    "seniority": choice(tuple(Seniority)),
    "office_lat": parse_latitude,
    "office_lon": parse_longitude,
    "active": parse_bool,
}
_TEAM_PARSERS: dict[str, Parser] = {"id": _parse_id, "name": str, "owner": str}
_ACCOUNT_PARSERS: dict[str, Parser] = {
    "id": _parse_id,
    "name": str,
    "domain": _parse_domain,
    "owner": str,
}


def _build_rep(values: dict[str, Any], row: int, problems: Problems) -> Rep | None:
    lat, lon = values.get("office_lat"), values.get("office_lon")
    if (lat is None) != (lon is None):
        missing = "office_lon" if lon is None else "office_lat"
        problems.add("give both office_lat and office_lon, or neither", row=row, field=missing)
        return None
    caps = None
    if any(name in values for name in ("max_per_day", "max_per_week", "max_per_month")):
        caps = Caps(
            values.get("max_per_day"), values.get("max_per_week"), values.get("max_per_month")
        )
    return Rep(
        id=values["id"],
        name=values.get("name", ""),
        email=values.get("email"),
        teams=values.get("teams", ()),
        role=Role(values.get("role", Role.REP)),
        timezone=values.get("timezone", "UTC"),
        working_hours=values.get("working_hours", WorkingHours()),
        out_of_office=values.get("out_of_office", ()),
        weight=values.get("weight", 1.0),
        caps=caps,
        skills=values.get("skills", frozenset()),
        regions=values.get("regions", ()),
        seniority=Seniority(values.get("seniority", Seniority.MID)),
        office_lat=lat,
        office_lon=lon,
        active=values.get("active", True),
    )


def _build_team(values: dict[str, Any], row: int, problems: Problems) -> Team | None:
    return Team(id=values["id"], name=values.get("name", ""), owner=values.get("owner"))
