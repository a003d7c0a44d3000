"""What a strategy is: given a route's candidates, pick who gets the lead (or nobody)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from leadrelay.domain.decision import Candidate, Screening, Status
from leadrelay.domain.lead import Lead
from leadrelay.domain.org import Account
from leadrelay.domain.quick import quick_constructor
from leadrelay.domain.rep import Rep
from leadrelay.domain.snapshot import NEVER, Snapshot
from leadrelay.policy.compiled import CompiledPolicy, CompiledRoute


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class RouteContext:
    """Everything a strategy may look at for one lead on one route."""

    lead: Lead
    values: Mapping[str, Any]  # lead fields + screening results, as conditions see them
    screening: Screening
    snapshot: Snapshot
    policy: CompiledPolicy
    route: CompiledRoute
    candidates: tuple[str, ...]  # rep ids the route names, in the order it lists them
    eligible: tuple[Rep, ...]  # those candidates that may take a lead now, same order
    excluded: Mapping[str, str]  # rep id -> why it may not
    account: Account | None = None  # the existing account the lead belongs to, if recognised
    account_match: str | None = None  # how it was recognised, e.g. "email domain acme.com"
    # rep id -> its first place in ``candidates``; left empty, ``entry_order`` searches instead
    order: Mapping[str, int] = field(default_factory=dict)

    def entry_order(self, rep: Rep) -> tuple[int, int]:
        """Round-robin order: least recently given a lead by this route, then route order."""
        return self.snapshot.ledger.get((self.route.name, rep.id), NEVER).last_seq, self.place(rep)

    def place(self, rep: Rep) -> int:
        """The rep's first place among ``candidates``."""
        index = self.order.get(rep.id)
        return self.candidates.index(rep.id) if index is None else index


@dataclass(frozen=True, slots=True)
class Pick:
    """A strategy's answer. ``scored`` explains every eligible candidate it ranked."""

    status: Status
    reason: str
    owner: str | None = None
    team: str | None = None
    pool: str | None = None
    scored: tuple[Candidate, ...] = field(default_factory=tuple)
    rotation: str | None = None  # see Decision.rotation


@dataclass(frozen=True, slots=True)
class Pass:
    """The strategy could not place the lead on this route; the lead falls to the next one."""

    reason: str
    scored: tuple[Candidate, ...] = field(default_factory=tuple)


# a strategy answers every matched route of every lead: built the quick way (see domain/quick.py)
quick_pick = quick_constructor(Pick)
quick_pass = quick_constructor(Pass)


class Strategy(ABC):
    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = NoParams
    # Strategies that hand the lead to a rep need the route's candidates filtered by eligibility.
    picks_rep: ClassVar[bool] = True
    summary: ClassVar[str] = ""

    def reads(self, params: BaseModel) -> frozenset[str]:
        """What else of the snapshot the strategy reads with these parameters: "performance"
        (measured results), "social" (the relationship graph). Snapshots carry them only when
        some route reads them: they cost a query or a graph to build."""
        return frozenset()

    @abstractmethod
    def choose(self, ctx: RouteContext) -> Pick | Pass:
        """Pick the owner for ``ctx.lead`` from ``ctx.eligible``, or pass."""
