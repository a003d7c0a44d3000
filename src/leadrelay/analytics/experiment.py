"""Did the challenger route do better? Per arm: counts, rates with intervals, and a test.

Leads enter an experiment by a sticky hash of their id (``pipeline.decide.split_bucket``) and
are stored with their arm. Every lead that entered an arm counts in it, whatever happened next
(intention to treat: a challenger that leaves leads unplaced pays for it).

Definitions, per arm:
- **contacted**: the lead has a ``contacted``, ``qualified`` or ``won`` outcome (nobody
  qualifies or wins a lead they never spoke to); **contact rate** = contacted / leads.
- **converted**: a ``qualified`` or ``won`` outcome; **conversion rate** = converted / leads.
- **win rate**: won / (won + lost), over closed leads only, as in the KPIs.

Each rate has a 95% Wilson score interval. Challenger and control are compared per rate by a
two-sided two-proportion z-test with the pooled rate (scipy.stats.norm for the tail). The
normal approximation behind both needs enough of each outcome: a comparison is **too small
to conclude** while either arm expects fewer than ``MIN_EXPECTED`` successes or failures at the
pooled rate (n x p and n x (1 - p), the usual rule of thumb); the report then says roughly how
many leads per arm would be enough. Otherwise it is significant or not at ``ALPHA``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scipy.stats import norm  # type: ignore[import-untyped]
from sqlalchemy import Connection

from leadrelay.errors import Problem, UnknownNameError, did_you_mean
from leadrelay.store.experiments import ArmFacts

ALPHA = 0.05
CONFIDENCE = 0.95
MIN_EXPECTED = 10  # expected successes and failures per arm before a test is trusted
ARMS = ("control", "challenger")
METRICS = ("contact", "conversion", "win")

TOO_SMALL = "too small to conclude"
BETTER = "challenger better"
WORSE = "challenger worse"
NO_DIFFERENCE = "no significant difference"


@dataclass(frozen=True, slots=True)
class Rate:
    """``successes`` of ``trials``, with a Wilson interval (all None without trials)."""

    successes: int
    trials: int
    rate: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"successes": self.successes, "trials": self.trials, "rate": self.rate,
                "low": self.low, "high": self.high}  # fmt: skip


def wilson(successes: int, trials: int, confidence: float = CONFIDENCE) -> Rate:
    """The rate and its Wilson score interval (better than p +- z.se for small n or extreme p)."""
    if trials <= 0:
        return Rate(successes, trials, None, None, None)
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / trials
    z2n = z * z / trials
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / trials + z2n / (4 * trials))
    # clamped around p: at p = 0 or 1 rounding can put an end a hair on the wrong side
    return Rate(
        successes, trials, p, min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))
    )


@dataclass(frozen=True, slots=True)
class Arm:
    arm: str
    leads: int
    contacted: int
    converted: int
    won: int
    lost: int
    contact: Rate
    conversion: Rate
    win: Rate

    def rate(self, metric: str) -> Rate:
        rate: Rate = getattr(self, metric)
        return rate

    def as_dict(self) -> dict[str, Any]:
        return {
            "arm": self.arm, "leads": self.leads, "contacted": self.contacted,
            "converted": self.converted, "won": self.won, "lost": self.lost,
            **{f"{m}_rate": self.rate(m).as_dict() for m in METRICS},
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Comparison:
    """Challenger against control on one rate."""

    metric: str
    difference: float | None  # challenger rate - control rate
    z: float | None
    p_value: float | None
    verdict: str
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "difference": self.difference, "z": self.z,
                "p_value": self.p_value, "verdict": self.verdict, "note": self.note}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    name: str
    control: Arm
    challenger: Arm
    comparisons: tuple[Comparison, ...]
    alpha: float = ALPHA

    def as_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.name,
            "alpha": self.alpha,
            "min_expected": MIN_EXPECTED,
            "arms": [self.control.as_dict(), self.challenger.as_dict()],
            "comparisons": [c.as_dict() for c in self.comparisons],
        }


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float] | None:
    """z and two-sided p of H0 "equal rates" for x1/n1 against x2/n2, pooled; None if every
    trial had the same result (no variance to test against)."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None
    z = (x2 / n2 - x1 / n1) / se
    return z, float(2 * norm.sf(abs(z)))


def compare(metric: str, control: Rate, challenger: Rate, alpha: float = ALPHA) -> Comparison:
    n1, n2 = control.trials, challenger.trials
    x1, x2 = control.successes, challenger.successes
    difference = (
        challenger.rate - control.rate
        if challenger.rate is not None and control.rate is not None
        else None
    )
    tested = two_proportion_test(x1, n1, x2, n2)
    z, p_value = tested if tested is not None else (None, None)
    pooled = (x1 + x2) / (n1 + n2) if n1 + n2 else 0.0
    rarer = min(pooled, 1 - pooled)
    expected = min(n1, n2) * rarer
    if tested is None or expected < MIN_EXPECTED:
        need = math.ceil(MIN_EXPECTED / rarer) if rarer > 0 else None
        have = f"{n1} control and {n2} challenger"
        note = (
            f"{have}; at the pooled rate {pooled:.1%} about {need} per arm are needed"
            if need is not None
            else f"{have}; every one had the same result, so there is nothing to compare yet"
        )
        return Comparison(metric, difference, z, p_value, TOO_SMALL, note)
    assert p_value is not None and z is not None
    if p_value < alpha:
        verdict = BETTER if z > 0 else WORSE
        note = f"p = {p_value:.3g} < {alpha:g}"
    else:
        verdict, note = NO_DIFFERENCE, f"p = {p_value:.3g} >= {alpha:g}"
    return Comparison(metric, difference, z, p_value, verdict, note)


def arm_stats(arm: str, facts: Iterable[ArmFacts]) -> Arm:
    leads = contacted = converted = won = lost = 0
    for f in facts:
        leads += 1
        contacted += f.contacted or f.qualified or f.won
        converted += f.qualified or f.won
        won += f.won
        lost += f.lost and not f.won
    return Arm(
        arm, leads, contacted, converted, won, lost,
        contact=wilson(contacted, leads),
        conversion=wilson(converted, leads),
        win=wilson(won, won + lost),
    )  # fmt: skip


def experiment_report(
    name: str, facts: Iterable[ArmFacts], alpha: float = ALPHA
) -> ExperimentReport:
    """The report of one experiment from its leads' facts (pure)."""
    by_arm: dict[str, list[ArmFacts]] = {arm: [] for arm in ARMS}
    for fact in facts:
        by_arm.setdefault(fact.arm, []).append(fact)
    control = arm_stats("control", by_arm["control"])
    challenger = arm_stats("challenger", by_arm["challenger"])
    comparisons = tuple(compare(m, control.rate(m), challenger.rate(m), alpha) for m in METRICS)
    return ExperimentReport(name, control, challenger, comparisons, alpha)


def stored_experiment_report(
    conn: Connection, name: str, *, since: datetime | None = None
) -> ExperimentReport:
    """The report of ``name`` from the store; UnknownNameError (listing the known experiments)
    when neither a stored lead nor the active policy knows it."""
    from leadrelay.policy import load_policy_text
    from leadrelay.store import active_policy_text
    from leadrelay.store.experiments import arm_facts, experiment_names

    known = set(experiment_names(conn))
    active = active_policy_text(conn)
    if active is not None:
        known.update(e.name for e in load_policy_text(active[1]).experiments)
    if name not in known:
        listed = ", ".join(sorted(known)) if known else "none yet"
        raise UnknownNameError(
            Problem(
                f"no experiment {name!r}; known experiments: {listed}",
                field="experiment",
                suggestion=did_you_mean(name, known),
            )
        )
    return experiment_report(name, arm_facts(conn, name, since=since))
