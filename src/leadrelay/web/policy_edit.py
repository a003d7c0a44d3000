"""The policy page's work: check a text as the API does, activate it, list the versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from leadrelay.errors import PolicyError, Problem
from leadrelay.policy import load_policy_text
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store import activate, list_versions, rep_ids, save_policy, team_ids

if TYPE_CHECKING:
    from leadrelay.analytics.diff import PolicyDiff

MAX_POLICY_BYTES = 1024 * 1024
DRY_RUN_DAYS = 30
SHOWN_CHANGES = 50


@dataclass(frozen=True, slots=True)
class NumberedLine:
    number: int
    text: str
    problems: tuple[str, ...]


def check(conn: Connection, text: str) -> CompiledPolicy:
    """The compiled policy; PolicyError with every problem at its line (names checked too)."""
    if "\x00" in text:
        raise PolicyError(Problem("the policy contains a NUL character", field="text"))
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise PolicyError(Problem(f"a policy is at most {MAX_POLICY_BYTES:,} bytes", field="text"))
    return load_policy_text(text, source="policy", reps=rep_ids(conn), teams=team_ids(conn))


def dry_run(conn: Connection, text: str, now: datetime) -> tuple[CompiledPolicy, PolicyDiff]:
    """The text checked, and what it would have decided on the last ``DRY_RUN_DAYS`` of leads
    (``analytics.diff``: the same ``decide``; nothing is written)."""
    from leadrelay.analytics.diff import stored_diff

    compiled = check(conn, text)
    return compiled, stored_diff(conn, compiled, since=now - timedelta(days=DRY_RUN_DAYS), now=now)


def check_and_activate(engine: Engine, text: str) -> tuple[CompiledPolicy, int]:
    """Store the text as a version (once per distinct text) and make it the active one."""
    with engine.begin() as conn:
        compiled = check(conn, text)
        revision = save_policy(conn, compiled)
        activate(conn, revision)
    return compiled, revision


def numbered(text: str, problems: tuple[Problem, ...]) -> list[NumberedLine]:
    """The text line by line with the problems found on each, for showing errors in place."""
    at: dict[int, list[str]] = {}
    for p in problems:
        if p.line is not None:
            at.setdefault(p.line, []).append(f"{p.field}: {p.message}" if p.field else p.message)
    return [
        NumberedLine(n, line, tuple(at.get(n, ())))
        for n, line in enumerate(text.splitlines() or [""], 1)
    ]


def versions(conn: Connection) -> list[tuple[int, str, bool, int]]:
    """(revision, created, active, number of lines), newest first."""
    from leadrelay.web.render import when

    return [
        (v.revision, when(v.created_at), v.active, len(v.text.splitlines()))
        for v in reversed(list_versions(conn))
    ]
