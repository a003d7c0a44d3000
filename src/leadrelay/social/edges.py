"""Edges of the relationship graph, and the strengths the importers give them.

A strength is in (0, 1]: how likely the tie gets the rep a warm introduction. A path is as strong
as the product of its edges: a chain of three 0.8 ties (0.51) beats two 0.7 ones (0.49), and a
direct 0.6 tie beats both. The defaults below are deliberately round numbers; a generic
relationships file can set any strength per edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from leadrelay.social.keys import COMPANY_KINDS, NodeKind, kind_of

# Edge kinds the importers write. Any other lowercase word is allowed in a generic file.
KNOWS = "knows"  # a LinkedIn connection, or a generic tie
WORKS_AT = "works_at"  # a person and their current employer (Company column, CRM company)
OWNS = "owns"  # a rep owns a contact in the CRM
ALIAS = "alias"  # two keys naming one node; merged, never walked

# A CRM owner speaks to their contact as part of the job: the strongest routine tie.
OWNS_STRENGTH = 0.9
# Someone working at the lead's company can usually introduce the rep there.
WORKS_AT_STRENGTH = 0.8
# A generic row with a blank strength.
DEFAULT_STRENGTH = 0.5
# LinkedIn connections: 0.7 when made today, halving the part above 0.3 every two years (0.5 at
# two years, 0.4 at four, towards 0.3), since a recent connection is more likely an active one.
# A connection without a date gets 0.4, as if four years old.
LINKEDIN_NEWEST = 0.7
LINKEDIN_OLDEST = 0.3
LINKEDIN_HALF_LIFE_YEARS = 2.0
LINKEDIN_UNDATED = 0.4


@dataclass(frozen=True, slots=True)
class Edge:
    """An undirected tie between two node keys (see ``social.keys``), with display labels."""

    a: str
    b: str
    kind: str
    strength: float
    a_label: str = ""
    b_label: str = ""

    def __post_init__(self) -> None:
        if not (0.0 < self.strength <= 1.0) or math.isnan(self.strength):
            raise ValueError(f"strength {self.strength} is not in (0, 1]")
        kinds = kind_of(self.a), kind_of(self.b)
        if self.a == self.b:
            raise ValueError(f"an edge from {self.a!r} to itself")
        if self.kind == ALIAS and (kinds[0] in COMPANY_KINDS) != (kinds[1] in COMPANY_KINDS):
            raise ValueError(
                f"{self.a!r} and {self.b!r} cannot be one node: a person is no company"
            )
        if self.kind == ALIAS and NodeKind.REP in kinds and kinds[0] == kinds[1]:
            raise ValueError(f"{self.a!r} and {self.b!r} are two reps, not one")


def linkedin_strength(connected_on: date | None, today: date) -> float:
    """The strength of a LinkedIn connection made on ``connected_on`` (see the constants)."""
    if connected_on is None:
        return LINKEDIN_UNDATED
    years = max(0.0, (today - connected_on).days / 365.25)
    decay: float = 0.5 ** (years / LINKEDIN_HALF_LIFE_YEARS)
    return round(LINKEDIN_OLDEST + (LINKEDIN_NEWEST - LINKEDIN_OLDEST) * decay, 4)
