"""How close a rep is to a lead's person or company in the relationship graph."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Connection:
    """The strongest path from a rep to the lead (its person, else its company).

    ``strength`` is in [0, 1]: the product of the path's edge strengths, so a direct strong tie
    beats a long chain of weak ones. ``connector`` is the first person on the path who is not the
    rep: whom the rep should ask for an introduction (None when the rep knows the lead directly).
    """

    strength: float
    path: tuple[str, ...]  # readable node labels, from the rep to the lead's person or company
    connector: str | None = None

    @property
    def note(self) -> str:
        """One line for the decision trace."""
        return _note(self.path, self.strength, self.connector)


@lru_cache(maxsize=65536)
def _note(path: tuple[str, ...], strength: float, connector: str | None) -> str:
    # the same rep reaches the same company by the same path for lead after lead
    via = f"; ask {connector} for an introduction" if connector else ""
    return f"{' -> '.join(path)} (strength {strength:.2f}){via}"
