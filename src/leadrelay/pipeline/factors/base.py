"""What a factor is: a pure scorer of (lead, rep) -> a value in [0, 1] and a one-line reason.

A factor is asked once per lead (``for_lead``), so work that depends on the lead alone — its
segment, its coordinates, its place in the relationship graph — is done once, and the scorer it
returns is then asked about each eligible rep.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from leadrelay.domain.quick import quick_constructor
from leadrelay.domain.rep import Rep
from leadrelay.pipeline.strategies.base import RouteContext


@dataclass(frozen=True, slots=True)
class FactorScore:
    value: float  # in [0, 1]: 1 is the best a rep can be on this factor for this lead
    reason: str


# every factor answers for every eligible rep of every lead: built the quick way (domain/quick.py)
quick_score = quick_constructor(FactorScore)

Scorer = Callable[[Rep], FactorScore]


class FactorOptions(BaseModel):
    """How the factors measure, from the route's strategy parameters (all have defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # performance: the lead field whose segment win rates count ("*" = all leads together)
    segment: str = "industry"
    min_closed: int = Field(default=5, ge=0)  # own closed leads before a rep's rate counts
    prior_strength: float = Field(default=10.0, ge=0)  # closed leads the team's rate is worth
    scale_km: float = Field(default=500.0, gt=0)  # proximity: an office this far scores 0.5


class Factor(ABC):
    name: ClassVar[str]
    summary: ClassVar[str] = ""

    @abstractmethod
    def for_lead(self, ctx: RouteContext, options: FactorOptions) -> Scorer:
        """The scorer of each eligible rep for ``ctx.lead``."""


def clamp(value: float) -> float:
    return 0.0 if value < 0 else 1.0 if value > 1 else value
