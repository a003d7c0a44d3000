"""Read relationship files: LinkedIn ``Connections.csv``, CRM contact owners, generic edges.

Three formats, told apart by their header when ``format`` is not given:

- ``connections``: LinkedIn's export for one employee (``--employee``: a rep id, an email, or
  ``Name <email>`` for an employee who is not a rep). Columns ``First Name, Last Name, URL,
  Email Address, Company, Position, Connected On``; the "Notes:" lines LinkedIn puts above the
  header are skipped. Each row is a ``knows`` edge from the employee whose strength falls with
  the connection's age (``social.edges.linkedin_strength``), and a ``works_at`` edge from the
  connection to its company (and to its email's domain, unless a mailbox provider).
- ``crm``: ``owner,email,first_name,last_name,company``: the rep who owns each contact (an
  ``owns`` edge, 0.9), the contact's company, and the company's email domain as an alias.
- ``generic``: ``a,b,kind,strength[,a_name,b_name]`` with nodes written ``rep:ana``,
  ``person:jo@acme.com`` (or a profile URL, or ``Jo Park|Acme Inc``), ``company:Acme Inc``,
  ``domain:acme.com``, or a bare email. ``kind`` defaults to ``knows``, ``strength`` to 0.5;
  ``alias`` says both name one node.

Every problem in the file is collected and raised at once (``InputFileError``), naming the file,
the row (as a spreadsheet counts it) and the column; nothing of a bad file is returned.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path

from leadrelay.errors import InputFileError, Problem, did_you_mean
from leadrelay.files.common import (
    CellError,
    Problems,
    Table,
    cell,
    check_header,
    extra_cells,
    open_table,
    parse_float,
)
from leadrelay.pipeline.match import FREE_MAIL_DOMAINS
from leadrelay.social.edges import (
    ALIAS,
    DEFAULT_STRENGTH,
    KNOWS,
    OWNS,
    OWNS_STRENGTH,
    WORKS_AT,
    WORKS_AT_STRENGTH,
    Edge,
    linkedin_strength,
)
from leadrelay.social.keys import (
    company_key,
    domain_key,
    email_key,
    name_key,
    normalise_email,
    rep_key,
    url_key,
)

RELATIONSHIP_FORMATS = ("connections", "generic", "crm")
CONNECTIONS_COLUMNS = (
    "first name", "last name", "url", "email address", "company", "position", "connected on",
)  # fmt: skip
GENERIC_COLUMNS = ("a", "b", "kind", "strength", "a_name", "b_name")
CRM_COLUMNS = ("owner", "email", "first_name", "last_name", "company")

_PREAMBLE_ROWS = 10  # LinkedIn puts 2-3 "Notes:" rows above the header
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
)}  # fmt: skip
_NAMED_EMAIL = re.compile(r"(?P<name>[^<>]*)<(?P<email>[^<>]+)>\s*")


@dataclass(frozen=True, slots=True)
class RelationshipFile:
    """A relationship file read: its format, the import ``source`` its edges replace, edges."""

    format: str
    source: str
    edges: tuple[Edge, ...]


def read_relationships(
    path: Path,
    *,
    format: str | None = None,
    employee: str | None = None,
    known_reps: Collection[str] | None = None,
    today: date | None = None,
    source: str | None = None,
) -> RelationshipFile:
    """Edges from a relationship file (CSV, or JSON as a list of objects).

    ``known_reps``, when given, are the rep ids a file may name (``--employee``, ``owner``,
    ``rep:``). ``today`` dates LinkedIn connections (default: today). ``source`` overrides the
    default import name: ``linkedin:<employee key>``, ``crm`` or ``file:<file name>``.
    """
    path = Path(path)
    problems = Problems(str(path))
    if format is not None and format not in RELATIONSHIP_FORMATS:
        raise InputFileError(
            Problem(
                f"unknown format {format!r}; use one of {', '.join(RELATIONSHIP_FORMATS)}",
                field="--format",
                suggestion=did_you_mean(format, RELATIONSHIP_FORMATS),
            )
        )
    edges: list[Edge] = []
    found = format
    with _open(path, problems) as table:
        if table is not None:
            found = found or _detect(table, problems)
            if found is not None:
                reader = _Reader(problems, known_reps, today or date.today())
                edges, default_source = reader.read(found, table, employee)
                source = source or default_source
    problems.raise_if_any()
    assert found is not None and source is not None  # else a problem was raised
    return RelationshipFile(found, source, tuple(edges))


@contextmanager
def _open(path: Path, problems: Problems) -> Iterator[Table | None]:
    """``open_table`` for JSON; for CSV, a table whose header may follow a LinkedIn preamble."""
    if path.suffix.lower() != ".csv":
        with open_table(path, problems) as table:
            yield table
        return
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        problems.add(f"cannot open the file: {exc.strerror or exc}")
        yield None
        return
    with handle:
        yield _csv_after_preamble(csv.reader(handle), problems)


def _csv_after_preamble(reader: Iterator[list[str]], problems: Problems) -> Table | None:
    """The first row with two or more cells is the header; rows above it (LinkedIn's "Notes:"
    and its one-cell note) are skipped. Rows are numbered as a spreadsheet shows them."""
    records = _numbered(reader, problems)
    for row, cells in records:
        if sum(1 for c in cells if c.strip()) >= 2:
            header = [c.strip() for c in cells]
            return Table(header, [row] * len(header), records, header_row=row)
        if row >= _PREAMBLE_ROWS:
            break
    problems.add(f"no header row in the first {_PREAMBLE_ROWS} rows: is this a CSV export?")
    return None


def _numbered(reader: Iterator[list[str]], problems: Problems) -> Iterator[tuple[int, list[str]]]:
    row = 0
    try:
        for cells in reader:
            row += 1
            if any(c.strip() for c in cells):
                yield row, cells
    except UnicodeDecodeError:
        problems.add("the file is not UTF-8 text: save it as 'CSV UTF-8'", row=row + 1)
    except csv.Error as exc:
        problems.add(f"not valid CSV: {exc}", row=row + 1)


def _detect(table: Table, problems: Problems) -> str | None:
    names = {name.lower() for name in table.header}
    if {"first name", "last name"} <= names or "connected on" in names:
        return "connections"
    if "owner" in names:
        return "crm"
    if {"a", "b"} <= names:
        return "generic"
    problems.add(
        "cannot tell the format from the columns: expected LinkedIn's Connections.csv (First"
        " Name, Last Name, URL, ...), a,b,kind,strength, or owner,email,first_name,last_name,"
        "company (or give --format)",
        row=table.header_row,
    )
    return None


class _Reader:
    """Turns rows into edges, adding a problem (row, column) for every bad cell."""

    def __init__(self, problems: Problems, known_reps: Collection[str] | None, today: date):
        self.problems = problems
        self.known_reps = known_reps
        self.today = today
        self.fields: dict[str, str] = {}  # column key -> the name the file gives it

    def read(self, fmt: str, table: Table, employee: str | None) -> tuple[list[Edge], str]:
        known = {"connections": CONNECTIONS_COLUMNS, "crm": CRM_COLUMNS}.get(fmt, GENERIC_COLUMNS)
        required = {"connections": ("first name", "last name"), "crm": ("owner",)}
        before = len(self.problems)
        index = check_header(
            table, self.problems, known=known, required=required.get(fmt, ("a", "b"))
        )
        if len(self.problems) > before:
            return [], ""  # a misnamed column would make every row wrong: fix the header first
        names = {name.lower(): name for name in table.header}
        self.fields = {name: names.get(name, name) for name in known}
        edges: list[Edge] = []
        row_edges: Callable[[int, dict[str, str]], list[Edge]]
        if fmt == "connections":
            # without a good employee the rows are still checked; the problem stops the import
            owner = self._employee(employee) or ("rep:?", "")
            source = f"linkedin:{owner[0]}"
            row_edges = partial(self._connection, owner)
        elif employee is not None:
            self.add(f"--employee is for a Connections.csv, not a {fmt} file", None, "--employee")
            return [], ""
        elif fmt == "crm":
            source, row_edges = "crm", self._crm
        else:
            source, row_edges = f"file:{Path(self.problems.source or '').name}", self._generic
        width = len(table.header)
        for row, cells in table.rows:
            if extra_cells(cells, width):
                self.problems.add(
                    f"row has {len(cells)} cells but the header names {width}", row=row
                )
                continue
            edges.extend(row_edges(row, {name: cell(cells, i) for name, i in index.items()}))
        return edges, source

    def add(
        self, message: str, row: int | None, column: str, suggestion: str | None = None
    ) -> None:
        field = self.fields.get(column, column) if row is not None else column
        self.problems.add(message, row=row, field=field, suggestion=suggestion)

    def _rep(self, rep_id: str, row: int | None, column: str) -> str | None:
        if self.known_reps is not None and rep_id not in self.known_reps:
            self.add(
                f"{rep_id!r} is not a loaded rep (load reps first)",
                row, column, did_you_mean(rep_id, self.known_reps),
            )  # fmt: skip
            return None
        return rep_key(rep_id)

    def _employee(self, employee: str | None) -> tuple[str, str] | None:
        """The employee whose export this is: (key, label)."""
        if not employee or not employee.strip():
            self.add("a Connections.csv is one employee's: give --employee (rep id or email)",
                     None, "--employee")  # fmt: skip
            return None
        text = employee.strip()
        named = _NAMED_EMAIL.fullmatch(text)
        name, address = (named["name"].strip(), named["email"]) if named else ("", text)
        if "@" not in address:
            key = self._rep(text, None, "--employee")
            return None if key is None else (key, "")
        key = email_key(address)
        if key is None:
            self.add(f"{address.strip()!r} is not an email address", None, "--employee")
            return None
        return key, f"{name or key.partition(':')[2]} (employee)"

    def _connection(self, owner: tuple[str, str], row: int, cells: dict[str, str]) -> list[Edge]:
        ok = True
        connected: date | None = None
        if text := cells.get("connected on", ""):
            try:
                connected = _parse_connected_on(text)
            except CellError as exc:
                self.add(str(exc), row, "connected on")
                ok = False
        person = self._person(row, cells, "email address", "url", "first name", "last name")
        if person is None or not ok:
            return []
        key, label, company, aliases = person
        if key == owner[0]:
            return []  # the employee in their own export
        edges = [
            Edge(owner[0], key, KNOWS, linkedin_strength(connected, self.today), owner[1], label)
        ]
        return (
            edges
            + aliases
            + _employer(key, label, company, cells.get("email address", ""), alias=False)
        )

    def _crm(self, row: int, cells: dict[str, str]) -> list[Edge]:
        owner = None
        if not cells.get("owner"):
            self.add("owner is required (a rep id)", row, "owner")
        else:
            owner = self._rep(cells["owner"], row, "owner")
        person = self._person(row, cells, "email", None, "first_name", "last_name")
        if person is None or owner is None:
            return []
        key, label, company, aliases = person
        edges = [Edge(owner, key, OWNS, OWNS_STRENGTH, "", label), *aliases]
        return edges + _employer(key, label, company, cells.get("email", ""), alias=True)

    def _person(
        self, row: int, cells: dict[str, str], email_col: str, url_col: str | None,
        first_col: str, last_col: str,
    ) -> tuple[str, str, str, list[Edge]] | None:  # fmt: skip
        """A row's person: (key, label, company, aliases joining its other keys)."""
        keys: list[str] = []
        ok = True
        if address := cells.get(email_col, ""):
            key = email_key(address)
            if key is None:
                self.add(f"{address!r} is not an email address", row, email_col)
                ok = False
            else:
                keys.append(key)
        if url_col and (url := cells.get(url_col, "")):
            key = url_key(url)
            if key is None:
                self.add(f"{url!r} is not a profile URL", row, url_col)
                ok = False
            else:
                keys.append(key)
        name = " ".join(p for p in (cells.get(first_col, ""), cells.get(last_col, "")) if p)
        company = cells.get("company", "")
        if name and company and (key := name_key(name, company)):
            keys.append(key)
        if not ok:
            return None
        if not keys:
            column = url_col or email_col
            self.add("cannot tell who this is: give an email, a URL, or a name and company",
                     row, column)  # fmt: skip
            return None
        label = name or keys[0].partition(":")[2]
        if company:
            label = f"{label} ({company})"
        aliases = [Edge(keys[0], other, ALIAS, 1.0) for other in dict.fromkeys(keys[1:])]
        return keys[0], label, company, aliases

    def _generic(self, row: int, cells: dict[str, str]) -> list[Edge]:
        a = self._node(cells.get("a", ""), row, "a")
        b = self._node(cells.get("b", ""), row, "b")
        kind = (cells.get("kind") or KNOWS).lower()
        ok = a is not None and b is not None
        if not _KIND.fullmatch(kind):
            self.add(
                f"{cells['kind']!r} is not a kind: one word of letters, digits or _", row, "kind"
            )
            ok = False
        strength = self._strength(cells.get("strength", ""), kind, row)
        if not ok or strength is None or a is None or b is None:
            return []
        a_label = cells.get("a_name") or a[1]
        b_label = cells.get("b_name") or b[1]
        try:
            return [Edge(a[0], b[0], kind, strength, a_label, b_label)]
        except ValueError:
            why = (
                "a and b name the same node" if a[0] == b[0]
                else "a person and a company cannot be one node (alias)" if kind == ALIAS
                else "two reps cannot be one node (alias)"
            )  # fmt: skip
            self.add(why, row, "b")
            return []

    def _strength(self, text: str, kind: str, row: int) -> float | None:
        if not text:
            return 1.0 if kind == ALIAS else DEFAULT_STRENGTH
        try:
            value = parse_float(text)
        except CellError as exc:
            self.add(str(exc), row, "strength")
            return None
        if kind == ALIAS and value != 1:
            self.add("an alias joins two names of one node: leave strength blank", row, "strength")
            return None
        if not 0 < value <= 1:
            self.add(f"strength {text} is not in (0, 1]: 1 is the strongest tie", row, "strength")
            return None
        return value

    def _node(self, text: str, row: int, column: str) -> tuple[str, str] | None:
        """A generic file's node reference: (key, default label)."""
        if not text:
            self.add(f"{column} is required", row, column)
            return None
        prefix, sep, rest = text.partition(":")
        prefix, rest = prefix.strip().lower(), rest.strip()
        if not sep or (prefix != "rep" and prefix not in _NODES):
            if normalise_email(text) is not None:
                prefix, rest = "person", text
            else:
                self.add(
                    f"{text!r} is not a node: write rep:ID, person:EMAIL, company:NAME,"
                    " domain:DOMAIN, or an email", row, column,
                )  # fmt: skip
                return None
        if prefix == "rep":
            key = self._rep(rest, row, column) if rest else None
            if not rest:
                self.add("rep: needs a rep id", row, column)
            return None if key is None else (key, "")
        key = _NODES[prefix](rest)
        if key is None:
            self.add(_NODE_HELP[prefix].format(text=text), row, column)
            return None
        return key, rest


def _person_ref(text: str) -> str | None:
    if "@" in text:
        return email_key(text)
    if "|" in text:
        name, _, company = text.partition("|")
        return name_key(name, company)
    return url_key(text)


_NODES: dict[str, Callable[[str], str | None]] = {
    "person": _person_ref,
    "company": company_key,
    "domain": domain_key,
}
_NODE_HELP = {
    "person": "{text!r} names no person: write person:EMAIL, person:PROFILE-URL or"
    " person:Name|Company",
    "company": "{text!r} names no company",
    "domain": "{text!r} is not a domain like domain:acme.com",
}


def _employer(key: str, label: str, company: str, email: str, *, alias: bool) -> list[Edge]:
    """A person's ties to their company and their email's domain (unless a mailbox provider).

    ``alias``: the domain is another name of the company (a CRM's own contacts); otherwise the
    person is tied to each separately (a LinkedIn email may be from a previous employer).
    """
    edges: list[Edge] = []
    firm = company_key(company) if company else None
    address = normalise_email(email) if email else None
    host = address.rsplit("@", 1)[1] if address else None
    domain = domain_key(host) if host and host not in FREE_MAIL_DOMAINS else None
    if firm is not None:
        edges.append(Edge(key, firm, WORKS_AT, WORKS_AT_STRENGTH, label, company))
    if domain is not None and alias and firm is not None:
        edges.append(Edge(firm, domain, ALIAS, 1.0, company, ""))
    elif domain is not None:
        edges.append(Edge(key, domain, WORKS_AT, WORKS_AT_STRENGTH, label, ""))
    return edges


def _parse_connected_on(text: str) -> date:
    """``01 Jan 2024`` (LinkedIn's export) or ``2024-01-01``; English month names."""
    parts = text.replace(",", " ").split()
    if len(parts) == 3 and parts[0].isdigit() and parts[1][:3].lower() in _MONTHS:
        try:
            return date(int(parts[2]), _MONTHS[parts[1][:3].lower()], int(parts[0]))
        except ValueError:
            pass
    else:
        try:
            return datetime.strptime(text, "%Y-%m-%d").date()
        except ValueError:
            pass
    raise CellError(f"{text!r} is not a date like 01 Jan 2024")
