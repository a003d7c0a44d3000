"""Helpers for the CLI tests: run ``leadrelay`` in-process, read its files, dump the database."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import MetaData, inspect, select
from sqlalchemy import Table as SqlTable
from typer.testing import CliRunner, Result

from leadrelay.cli import app
from leadrelay.store import make_engine

OUT_HEADER = "external_id,lead_id,status,owner,team,route,strategy,reason"
STATUSES = {"assigned", "team", "pool", "manual", "screened_out", "duplicate"}

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run(*args: str | Path, db: str | None = None) -> Result:
    """``leadrelay ARGS [--db DB]`` in this process, with ``LEADRELAY_DB`` unset.

    Exceptions other than the CLI's own exits propagate, so a crash shows its traceback.
    """
    argv = [str(a) for a in args]
    if db is not None:
        argv += ["--db", db]
    return CliRunner().invoke(app, argv, env={"LEADRELAY_DB": None}, catch_exceptions=False)


def ok(*args: str | Path, db: str | None = None) -> Result:
    """``run`` that must exit 0."""
    result = run(*args, db=db)
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result


def plain(text: str) -> str:
    """Text without terminal colour codes."""
    return _ANSI.sub("", text)


def words(text: str) -> str:
    """Text without colour codes and with every run of whitespace one space: Rich wraps
    table titles and long lines at the console width (80 columns when not a terminal)."""
    return " ".join(plain(text).split())


def load_org(db: str, reps: Path, teams: Path | None = None, accounts: Path | None = None) -> None:
    ok("init", db=db)
    ok("load", "reps", reps, db=db)
    if teams is not None:
        ok("load", "teams", teams, db=db)
    if accounts is not None:
        ok("load", "accounts", accounts, db=db)


def read_out(path: Path) -> list[dict[str, str]]:
    """The rows of a ``route --out`` file (header checked separately)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def write_csv(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


def dump(url: str) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table (alembic's included), as sorted text: equal dumps = same data."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            metadata = MetaData()
            names = sorted(inspect(conn).get_table_names())
            tables = {name: SqlTable(name, metadata, autoload_with=conn) for name in names}
            return {
                name: sorted(tuple(repr(v) for v in row) for row in conn.execute(select(table)))
                for name, table in tables.items()
            }
    finally:
        engine.dispose()


def counts(url: str) -> dict[str, int]:
    """Rows per table."""
    return {name: len(rows) for name, rows in dump(url).items()}
