"""Best match: the eligible rep with the highest weighted sum of the policy's named factors.

``strategy: {name: best_match, weights: {expertise: 0.4, performance: 0.4, proximity: 0.2}}``.
Each factor scores every eligible rep in [0, 1] with a reason (pipeline/factors); the weighted
mean decides, and exact ties go to round-robin order so equals still take turns. Every factor
score of every candidate lands in the Decision.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadrelay.domain.decision import Candidate, Status
from leadrelay.domain.rep import Rep
from leadrelay.pipeline.factors import FACTORS, FactorOptions, FactorScore
from leadrelay.pipeline.strategies.base import Pass, Pick, RouteContext, Strategy

_TIE = 1e-9


class FactorWeights(BaseModel):
    """How much each factor counts; factors left out count nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    expertise: float = Field(default=0.0, ge=0)
    seniority: float = Field(default=0.0, ge=0)
    performance: float = Field(default=0.0, ge=0)
    load: float = Field(default=0.0, ge=0)
    proximity: float = Field(default=0.0, ge=0)
    social: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> FactorWeights:
        if not any(self.named()):
            raise ValueError(f"give at least one factor a weight above 0: {', '.join(FACTORS)}")
        return self

    def named(self) -> list[tuple[str, float]]:
        """The factors that count, in the order FACTORS lists them."""
        return [(name, getattr(self, name)) for name in FACTORS if getattr(self, name) > 0]


def weights_read(weights: FactorWeights) -> frozenset[str]:
    """The snapshot parts the weighted factors read (see ``Strategy.reads``)."""
    return frozenset(name for name in ("performance", "social") if getattr(weights, name) > 0)


class BestMatchParams(FactorOptions):
    weights: FactorWeights


def rank(ctx: RouteContext, options: FactorOptions, weights: FactorWeights) -> Ranking:
    """Score every eligible rep on the weighted factors; the best first by score then rotation."""
    named = weights.named()
    total = sum(weight for _, weight in named)
    scorers = [(name, weight, FACTORS[name].for_lead(ctx, options)) for name, weight in named]
    scored: list[Candidate] = []
    sums: list[float] = []
    parts_of: list[list[tuple[str, float, FactorScore]]] = []
    for rep in ctx.eligible:
        parts = [(name, weight, scorer(rep)) for name, weight, scorer in scorers]
        value = sum(weight * part.value for _, weight, part in parts) / total
        sums.append(value)
        parts_of.append(parts)
        scored.append(
            Candidate(
                rep.id,
                score=round(value, 4),
                factors={name: round(part.value, 4) for name, _, part in parts},
                note="; ".join(
                    f"{name} {part.value:.2f}: {part.reason}" for name, _, part in parts
                ),
            )
        )
    top = max(sums)
    best = min(
        (i for i, value in enumerate(sums) if value >= top - _TIE),
        key=lambda i: ctx.entry_order(ctx.eligible[i]),
    )
    tied = sum(1 for value in sums if value >= top - _TIE)
    return Ranking(ctx.eligible[best], sums[best], parts_of[best], tuple(scored), tied)


class Ranking:
    __slots__ = ("best", "parts", "score", "scored", "tied")

    def __init__(
        self,
        best: Rep,
        score: float,
        parts: list[tuple[str, float, FactorScore]],
        scored: tuple[Candidate, ...],
        tied: int,
    ) -> None:
        self.best, self.score, self.parts, self.scored, self.tied = best, score, parts, scored, tied

    def reason(self, label: str) -> str:
        # the factors that gave the winner most, strongest first
        top = sorted(self.parts, key=lambda p: -p[1] * p[2].value)[:2]
        why = "; ".join(f"{name} {part.value:.2f}: {part.reason}" for name, _, part in top)
        tie = f"; tied with {self.tied - 1} other(s), round-robin order" if self.tied > 1 else ""
        return f"{label}: {self.best.id} scored {self.score:.2f} ({why}){tie}"

    def pick(self, label: str, rotation: str | None = None) -> Pick:
        """The best rep as the route's answer, every candidate's scores in the trace."""
        return Pick(
            Status.ASSIGNED,
            self.reason(label),
            owner=self.best.id,
            scored=self.scored,
            rotation=rotation,
        )


class BestMatch(Strategy):
    name = "best_match"
    Params: ClassVar[type[BaseModel]] = BestMatchParams
    summary = "the rep with the best weighted factor score (expertise, performance, ...)"
    label = "best match"  # how the reason starts

    def weights(self, params: BaseModel) -> FactorWeights:
        assert isinstance(params, BestMatchParams)
        return params.weights

    def reads(self, params: BaseModel) -> frozenset[str]:
        return weights_read(self.weights(params))

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        if not ctx.eligible:
            return Pass("no eligible rep")
        params = ctx.route.params
        assert isinstance(params, FactorOptions)
        return rank(ctx, params, self.weights(params)).pick(self.label)


class PerformanceParams(FactorOptions):
    pass


_ONLY_PERFORMANCE = FactorWeights(performance=1.0)


class PerformanceStrategy(BestMatch):
    """Best match on performance alone: the rep who wins most of the leads it is given."""

    name = "performance"
    Params = PerformanceParams
    summary = "the rep with the best win rate on given leads of the lead's segment"
    label = "performance"

    def weights(self, params: BaseModel) -> FactorWeights:
        return _ONLY_PERFORMANCE
