"""Teams and accounts: who holds leads together, and who owns existing customers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    name: str = ""
    owner: str | None = None  # a rep id: the one accountable for leads the team holds


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str = ""
    domain: str | None = None
    owner: str | None = None  # a rep id
