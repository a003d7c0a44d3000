"""Read leads from a CSV (or JSON) file: the leads.csv contract, or a Salesforce/HubSpot export.

Columns are matched ignoring case: first the ``mapping`` a user gives (``--map field=column``),
then the contract names in DESIGN.md, then the headers Salesforce and HubSpot exports use
(``EXPORT_HEADERS``). Any other column becomes a custom attribute of the lead, kept as text
unless the policy declares its type (``fields`` / ``coerce_attributes``).

Rows are numbered as in a spreadsheet (header = row 1, first lead = row 2). Every problem in the
file is collected and raised at once as one ``InputFileError`` naming the row and the column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from leadrelay.domain.lead import LEAD_FIELDS, Lead
from leadrelay.errors import InputFileError, Problem, did_you_mean
from leadrelay.files.common import (
    CellError,
    Problems,
    Table,
    csv_text_table,
    extra_cells,
    open_table,
    parse_bool,
    parse_count,
    parse_float,
    parse_latitude,
    parse_longitude,
)

LEAD_COLUMNS = tuple(LEAD_FIELDS)

# Column headers of common CRM exports (lowercase) -> lead field, or the custom attribute a
# column becomes. Salesforce: Lead object API names and report labels; HubSpot: contact export.
EXPORT_HEADERS: dict[str, str] = {
    # Salesforce
    "id": "external_id",
    "lead id": "external_id",
    "firstname": "first_name",
    "lastname": "last_name",
    "company": "company",
    "email": "email",
    "phone": "phone",
    "leadsource": "source",
    "lead source": "source",
    "industry": "industry",
    "annualrevenue": "annual_revenue",
    "annual revenue": "annual_revenue",
    "numberofemployees": "employees",
    "city": "city",
    "state": "state",
    "state/province": "state",
    "postalcode": "postal_code",
    "zip/postal code": "postal_code",
    "country": "country",
    "latitude": "lat",
    "longitude": "lon",
    "website": "domain",
    "createddate": "received_at",
    "created date": "received_at",
    # HubSpot
    "record id": "external_id",
    "first name": "first_name",
    "last name": "last_name",
    "phone number": "phone",
    "company name": "company",
    "website url": "domain",
    "number of employees": "employees",
    "country/region": "country",
    "state/region": "state",
    "postal code": "postal_code",
    "original source": "source",
    "create date": "received_at",
}

Converter = Callable[[str], Any]
_FieldColumn = tuple[int, str, Converter | None, str]  # position, field, converter, header
_AttributeColumn = tuple[int, str, Converter | None]  # position, attribute, converter


def read_leads(
    path: Path,
    *,
    now: datetime,
    mapping: Mapping[str, str] | None = None,
    fields: Mapping[str, str] | None = None,
) -> list[Lead]:
    """The file's leads in file order; raises ``InputFileError`` listing every bad row.

    ``now`` (an aware datetime) is the arrival time of a lead whose ``received_at`` is blank;
    a ``received_at`` without a UTC offset is an error, since its moment is unknown.
    ``mapping`` is ``{lead field: column header}`` and wins over the automatic matching.
    ``fields`` is the policy's declared custom attributes ``{name: type}``; their cells are
    converted here, so their errors name the exact row (see ``coerce_attributes``).
    """
    _check_now(now)
    _check_types(fields or {})
    path = Path(path)
    problems = Problems(str(path))
    leads: list[Lead] = []
    with open_table(path, problems) as table:
        if table is not None:
            _read_table(table, problems, mapping or {}, fields or {}, now, leads)
    problems.raise_if_any()
    return leads


def leads_from_csv_text(
    text: str,
    *,
    now: datetime,
    source: str | None = None,
    mapping: Mapping[str, str] | None = None,
    fields: Mapping[str, str] | None = None,
) -> list[Lead]:
    """``read_leads`` for CSV already in memory (a request body); ``source`` names it."""
    _check_now(now)
    _check_types(fields or {})
    problems = Problems(source)
    leads: list[Lead] = []
    table = csv_text_table(text, problems)
    if table is not None:
        _read_table(table, problems, mapping or {}, fields or {}, now, leads)
    problems.raise_if_any()
    return leads


def parse_mapping(items: Iterable[str], option: str = "--map") -> dict[str, str]:
    """``["email=E-mail Address", ...]`` as ``{field: column}``; ``option`` names the input in
    errors (``--map`` on the command line, ``map`` in a query string)."""
    mapping: dict[str, str] = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise InputFileError(Problem(f"{option} {item!r}: write field=column", field=option))
        mapping[field.strip()] = column.strip()
    return mapping


def _check_now(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("reading leads needs an aware `now` (with a time zone)")


def _read_table(
    table: Table,
    problems: Problems,
    mapping: Mapping[str, str],
    fields: Mapping[str, str],
    now: datetime,
    leads: list[Lead],
) -> None:
    plan, attrs, unnamed = _plan(table, problems, mapping, fields)
    if plan or attrs:
        _read_rows(table, plan, attrs, unnamed, now, problems, leads)


def coerce_attributes(
    leads: Iterable[Lead], fields: Mapping[str, str], *, source: str | None = None
) -> list[Lead]:
    """Leads with the declared custom attributes converted from text to their types.

    ``fields`` maps attribute name to ``string``, ``number``, ``integer``, ``boolean`` or
    ``datetime`` (ISO 8601 with an offset). Blank text becomes None; values that are not text
    are left as they are. Errors name the lead as the row it would be in a file read by
    ``read_leads`` (its position + 1, after the header): exact unless the file had blank rows,
    which is why ``read_leads(..., fields=...)`` is the better choice for a file.
    """
    _check_types(fields)
    converters = {
        name: convert
        for name, kind in fields.items()
        if (convert := _ATTRIBUTE_CONVERTERS[kind]) is not None
    }
    problems = Problems(source)
    result: list[Lead] = []
    for position, lead in enumerate(leads, start=2):
        attributes = dict(lead.attributes)
        for name, convert in converters.items():
            value = attributes.get(name)
            if not isinstance(value, str):
                continue
            text = value.strip()
            try:
                attributes[name] = convert(text) if text else None
            except CellError as exc:
                problems.add(str(exc), row=position, field=name)
        result.append(replace(lead, attributes=attributes))
    problems.raise_if_any()
    return result


def _check_types(fields: Mapping[str, str]) -> None:
    unknown = sorted(kind for kind in fields.values() if kind not in _ATTRIBUTE_CONVERTERS)
    if unknown:
        raise ValueError(f"unknown attribute type(s) {unknown}; use {list(_ATTRIBUTE_CONVERTERS)}")


def _plan(
    table: Table, problems: Problems, mapping: Mapping[str, str], fields: Mapping[str, str]
) -> tuple[list[_FieldColumn], list[_AttributeColumn], list[int]]:
    """Decide once what each column feeds: the lead fields, the custom attributes (each with
    its converter), and the unnamed columns (which must stay blank)."""
    header = table.header
    lower = [name.lower() for name in header]
    field_at: dict[str, int] = {}
    for field, column in mapping.items():
        if field not in LEAD_FIELDS:
            problems.add(
                f"--map {field}={column}: {field!r} is not a lead field",
                field=field,
                suggestion=did_you_mean(field, LEAD_FIELDS),
            )
        elif column.strip().lower() in lower:
            field_at[field] = lower.index(column.strip().lower())
        else:
            problems.add(
                f"--map {field}={column}: the file has no column {column!r}",
                row=table.header_row,
                field=field,
                suggestion=did_you_mean(column, header),
            )
    mapped = set(field_at.values())
    attribute_at: dict[str, int] = {}
    unnamed: list[int] = []
    for position, name in enumerate(header):
        if position in mapped:
            continue
        if not name:
            unnamed.append(position)
            continue
        low = name.lower()
        target = EXPORT_HEADERS.get(low, low if low in LEAD_FIELDS else name)
        if target in mapping:  # displaced by --map: kept as a custom attribute
            where, target = attribute_at, name
        else:
            where = field_at if target in LEAD_FIELDS else attribute_at
        if target in where:
            problems.add(
                f"columns {header[where[target]]!r} and {name!r} both give {target}; remove one"
                f" or choose with --map {target}=COLUMN",
                row=table.header_rows[position],
                field=name,
            )
            continue
        where[target] = position
    if not field_at and not problems:
        problems.add(
            f"no lead columns found; expected some of {', '.join(LEAD_COLUMNS)}",
            row=table.header_row,
        )
    plan = sorted(
        (position, name, _FIELD_CONVERTERS.get(name), header[position])
        for name, position in field_at.items()
    )
    attrs = sorted(
        (position, name, _ATTRIBUTE_CONVERTERS[fields[name]] if name in fields else None)
        for name, position in attribute_at.items()
    )
    return plan, attrs, unnamed


def _read_rows(
    table: Table,
    plan: list[_FieldColumn],
    attrs: list[_AttributeColumn],
    unnamed: list[int],
    now: datetime,
    problems: Problems,
    leads: list[Lead],
) -> None:
    # The per-row path is kept lean (a million-row file must read in seconds): columns are
    # split once into plain-text and converted ones, and short rows are padded once.
    width = len(table.header)
    padding = [""] * width
    texts = [
        (position, name)
        for position, name, convert, _ in plan
        if convert is None and name not in _CATEGORIES
    ]
    # A million leads share a few dozen countries, states and products: one string each.
    categories = [(position, name) for position, name, _, _ in plan if name in _CATEGORIES]
    shared: dict[str, str] = {}
    converted = [(p, name, convert, column) for p, name, convert, column in plan if convert]
    attribute_texts = [(position, name) for position, name, convert in attrs if convert is None]
    attributes_converted = [(p, name, convert) for p, name, convert in attrs if convert]
    failed = len(problems) > 0
    for row, raw in table.rows:
        cells = raw
        if len(raw) != width:
            if extra_cells(raw, width):
                problems.add(f"row has {len(raw)} cells but the header names {width}", row=row)
                failed = True
            cells = (raw + padding)[:width]
        for position in unnamed:
            if cells[position].strip():
                problems.add(f"column {position + 1} has a value but no name", row=row)
                failed = True
        values: dict[str, Any] = {
            name: text for position, name in texts if (text := cells[position].strip())
        }
        for position, name in categories:
            text = cells[position].strip()
            if text:
                values[name] = shared.setdefault(text, text)
        for position, name, convert, column in converted:
            text = cells[position].strip()
            if text:
                try:
                    values[name] = convert(text)
                except CellError as exc:
                    problems.add(str(exc), row=row, field=column)
                    failed = True
        if attrs:
            attributes: dict[str, Any] = {
                name: cells[position].strip() or None for position, name in attribute_texts
            }
            for position, name, convert in attributes_converted:
                text = cells[position].strip()
                try:
                    attributes[name] = convert(text) if text else None
                except CellError as exc:
                    problems.add(str(exc), row=row, field=name)
                    failed = True
            values["attributes"] = attributes
        if failed:
            continue  # keep reading to report every problem, but build nothing more
        if "received_at" not in values:
            values["received_at"] = now
        leads.append(Lead(**values))


def _parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CellError(
            f"{text!r} is not an ISO 8601 time like 2026-11-16T09:30:00-05:00"
        ) from None
    if moment.tzinfo is None:
        raise CellError(
            f"{text!r} needs a UTC offset, like {moment.isoformat()}Z or {moment.isoformat()}-05:00"
        )
    return moment


def _parse_value(text: str) -> float:
    value = parse_float(text)
    if value < 0:
        raise CellError(f"value {text} is negative")
    return value


def _parse_integer(text: str) -> int:
    value = parse_float(text)
    if not value.is_integer():
        raise CellError(f"{text!r} is not a whole number")
    return int(value)


_CATEGORIES = frozenset(
    {"industry", "company_type", "country", "region", "state", "product", "source"}
)
_FIELD_CONVERTERS: dict[str, Converter] = {
    "employees": parse_count,
    "lat": parse_latitude,
    "lon": parse_longitude,
    "value": _parse_value,
    "received_at": _parse_moment,
}
_ATTRIBUTE_CONVERTERS: dict[str, Converter | None] = {
    "string": None,
    "number": parse_float,
    "integer": _parse_integer,
    "boolean": parse_bool,
    "datetime": _parse_moment,
}
