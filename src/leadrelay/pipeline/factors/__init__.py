"""Factors for the smart strategies: each a pure scorer of (lead, rep), in its own module."""

from __future__ import annotations

from leadrelay.pipeline.factors.base import Factor, FactorOptions, FactorScore, Scorer
from leadrelay.pipeline.factors.expertise import Expertise
from leadrelay.pipeline.factors.load import Load
from leadrelay.pipeline.factors.performance import PerformanceFactor
from leadrelay.pipeline.factors.proximity import Proximity
from leadrelay.pipeline.factors.seniority import SeniorityFit
from leadrelay.pipeline.factors.social import Social

# the one list of factors; a policy's best_match weights name them
FACTORS: dict[str, Factor] = {
    factor.name: factor
    for factor in (Expertise(), SeniorityFit(), PerformanceFactor(), Load(), Proximity(), Social())
}

__all__ = ["FACTORS", "Factor", "FactorOptions", "FactorScore", "Scorer"]
