"""Errors leadrelay raises for bad input.

Normal routing outcomes (screened out, duplicate, nobody eligible) are values in a
``Decision``, never exceptions. Exceptions are for input a user must fix::

    LeadRelayError                  anything leadrelay refuses; exit status 2 in the CLI
    ├── PolicyError                 a policy file that does not load; carries every problem
    ├── InputFileError              a CSV/JSON file with bad rows; carries every problem
    ├── UnknownNameError            a name (rep, team, route, lead) that does not exist
    └── StoreError                  the database is missing, outdated or unreachable

Every error carries ``problems``: located, human-readable lines (file, line/row, field,
what is wrong, and a "did you mean" where one helps).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, located as precisely as the input allows."""

    message: str
    source: str | None = None
    line: int | None = None
    row: int | None = None
    field: str | None = None
    suggestion: str | None = None

    def __str__(self) -> str:
        where = self.source or ""
        if self.line is not None:
            where += f":{self.line}"
        if self.row is not None:
            where += f" row {self.row}"
        text = self.message
        if self.field:
            text = f"{self.field}: {text}"
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return f"{where}: {text}" if where else text


class LeadRelayError(Exception):
    """Base of every error leadrelay raises on purpose."""

    def __init__(self, problems: Problem | Sequence[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[LeadRelayError], tuple[tuple[Problem, ...]]]:
        # pickled with its problems, not its message (the API's routing process sends errors)
        return type(self), (self.problems,)


class PolicyError(LeadRelayError):
    """A policy that does not parse or validate; nothing of it was applied."""


class InputFileError(LeadRelayError):
    """A data file with bad rows; nothing of it was written."""


class UnknownNameError(LeadRelayError):
    """A name that refers to nothing: an unknown rep, team, lead or route."""


class StoreError(LeadRelayError):
    """The database cannot be used as asked."""


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest known name to a misspelt one, if any is close enough."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None
