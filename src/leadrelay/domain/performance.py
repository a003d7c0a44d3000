"""Measured results of the leads each rep was *given*: the evidence behind performance routing.

Counts are per rep and per segment (``*`` for all leads, else ``industry:airline``,
``product:gtx-pro``, ``value_slab:high``, ...): leads given, closed (won or lost) and won. A win
rate is only as good as its sample, so ``win_rate`` shrinks a rep's rate toward its team's (or
everyone's) rate in the same segment, Bayesian-style, and says so in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from leadrelay.domain.rep import skill_slug

ALL = "*"
# the lead fields performance is measured by, besides all leads together
SEGMENT_FIELDS = ("industry", "product", "company_type", "value_slab", "source")


def segment_key(field_name: str, value: object) -> str:
    """``industry:airline`` for a lead's field value; ``*`` for no segment."""
    if value is None or value == "":
        return ALL
    return f"{field_name}:{skill_slug(str(value))}"


def lead_segment(field_name: str, values: Mapping[str, object]) -> str:
    """The segment of a lead (its condition values) by ``field_name``; ``*`` measures all."""
    return ALL if field_name == ALL else segment_key(field_name, values.get(field_name))


@dataclass(frozen=True, slots=True)
class Tally:
    given: int = 0
    closed: int = 0  # won or lost
    won: int = 0
    won_value: float = 0.0

    def plus(self, other: Tally) -> Tally:
        return Tally(
            self.given + other.given,
            self.closed + other.closed,
            self.won + other.won,
            self.won_value + other.won_value,
        )

    @property
    def rate(self) -> float | None:
        """Won of closed; None before any lead closed."""
        return self.won / self.closed if self.closed else None


NO_TALLY = Tally()


@dataclass(frozen=True, slots=True)
class GivenLead:
    """One lead a rep was given and what became of it: the input ``Performance`` is built from."""

    owner: str
    teams: tuple[str, ...] = ()  # the owner's teams: their pooled rate is its prior
    segments: tuple[str, ...] = ()  # e.g. ("industry:airline", "value_slab:high")
    outcome: str | None = None  # "won", "lost" or None while open
    value: float = 0.0  # won value
    self_sourced: bool = False  # the rep found this lead itself (for earn_it gates)


@dataclass(frozen=True, slots=True)
class RateEstimate:
    rate: float  # the shrunk win rate, in [0, 1]
    raw: float | None  # won / closed of the rep alone
    closed: int
    won: int
    prior: float  # what the rate was shrunk toward
    counts: bool  # the rep's own sample reached the minimum
    _said: tuple[str, str] | None = field(default=None, compare=False, repr=False)

    def text(self, segment: str) -> str:
        """``describe``, remembered: the same estimate is told for lead after lead."""
        if self._said is None or self._said[0] != segment:
            object.__setattr__(self, "_said", (segment, self.describe(segment)))
        assert self._said is not None
        return self._said[1]

    def describe(self, segment: str) -> str:
        where = "all leads" if segment == ALL else f"{segment} leads"
        if not self.counts:
            return (
                f"{self.won} won of {self.closed} closed {where}: too few to judge, "
                f"team rate {self.prior:.0%} used"
            )
        return (
            f"won {self.won} of {self.closed} closed {where} ({(self.raw or 0):.0%}), "
            f"shrunk toward team {self.prior:.0%} -> {self.rate:.0%}"
        )


@dataclass(frozen=True, slots=True)
class Performance:
    """Tallies by (rep, segment) and (team, segment), and each rep's self-sourced wins."""

    reps: Mapping[tuple[str, str], Tally] = field(default_factory=dict)
    teams: Mapping[tuple[str, str], Tally] = field(default_factory=dict)
    self_sourced_wins: Mapping[str, int] = field(default_factory=dict)
    # (teams, segment) -> prior: the tallies never change, so neither do their rates
    _priors: dict[tuple[tuple[str, ...], str], float] = field(
        default_factory=dict, compare=False, repr=False
    )
    _estimates: dict[tuple[str, tuple[str, ...], str, float, int], RateEstimate] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def from_given(cls, given: Iterable[GivenLead]) -> Performance:
        reps: dict[tuple[str, str], Tally] = {}
        teams: dict[tuple[str, str], Tally] = {}
        self_sourced: dict[str, int] = {}
        for lead in given:
            won = lead.outcome == "won"
            one = Tally(1, int(lead.outcome in ("won", "lost")), int(won), lead.value if won else 0)
            for segment in (ALL, *lead.segments):
                reps[(lead.owner, segment)] = reps.get((lead.owner, segment), NO_TALLY).plus(one)
                # everyone's tally is the prior of reps in no team (and of teams with no data)
                teams[(ALL, segment)] = teams.get((ALL, segment), NO_TALLY).plus(one)
                for team in lead.teams:
                    teams[(team, segment)] = teams.get((team, segment), NO_TALLY).plus(one)
            if won and lead.self_sourced:
                self_sourced[lead.owner] = self_sourced.get(lead.owner, 0) + 1
        return cls(reps, teams, self_sourced)

    def tally(self, rep_id: str, segment: str = ALL) -> Tally:
        return self.reps.get((rep_id, segment), NO_TALLY)

    def prior(self, teams: tuple[str, ...], segment: str) -> float:
        """The pooled win rate of the rep's teams in the segment, else everyone's, else 0."""
        known = self._priors.get((teams, segment))
        if known is None:
            known = self._priors[(teams, segment)] = self._pooled_rate(teams, segment)
        return known

    def _pooled_rate(self, teams: tuple[str, ...], segment: str) -> float:
        pooled = NO_TALLY
        for team in teams:
            pooled = pooled.plus(self.teams.get((team, segment), NO_TALLY))
        if not pooled.closed:
            pooled = self.teams.get((ALL, segment), NO_TALLY)
        if not pooled.closed and segment != ALL:
            return self.prior(teams, ALL)
        return pooled.rate or 0.0

    def win_rate(
        self,
        rep_id: str,
        teams: tuple[str, ...],
        segment: str = ALL,
        *,
        strength: float = 10.0,
        min_closed: int = 5,
    ) -> RateEstimate:
        """The rep's win rate on given leads of ``segment``, shrunk toward its team's.

        ``strength`` is how many closed leads the prior is worth (a Beta prior's weight); under
        ``min_closed`` of its own, the rep gets the prior alone.
        """
        key = (rep_id, teams, segment, strength, min_closed)
        known = self._estimates.get(key)
        if known is None:
            known = self._estimates[key] = self._estimate(*key)
        return known

    def _estimate(
        self, rep_id: str, teams: tuple[str, ...], segment: str, strength: float, min_closed: int
    ) -> RateEstimate:
        tally = self.tally(rep_id, segment)
        prior = self.prior(teams, segment)
        if tally.closed < max(min_closed, 1):
            return RateEstimate(prior, tally.rate, tally.closed, tally.won, prior, False)
        rate = (tally.won + strength * prior) / (tally.closed + strength)
        return RateEstimate(rate, tally.rate, tally.closed, tally.won, prior, True)
