"""A loaded policy, ready for ``decide``: conditions parsed, names resolved, parameters checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel

from leadrelay.domain.rep import Caps
from leadrelay.policy.conditions import Condition
from leadrelay.policy.schema import PolicyModel, SlaModel

if TYPE_CHECKING:
    from leadrelay.scoring.model import LeadModel


@dataclass(frozen=True, slots=True)
class Target:
    rep: str | None = None
    reps: tuple[str, ...] = ()
    team: str | None = None
    teams: tuple[str, ...] = ()
    pool: str | None = None
    owner: str | None = None
    manual: bool = False


@dataclass(frozen=True, slots=True)
class CompiledSla:
    """A route's deadlines, checked: durations parsed, the ``then`` target compiled."""

    model: SlaModel
    deadlines: tuple[tuple[str, timedelta], ...]  # (accept|contact|claim|handoff, duration)
    business_hours: bool = True
    action: str = "reassign"  # reassign | manual | route (then ``fallback``)
    fallback: CompiledRoute | None = None  # ``then: {target, strategy}``; its target may be empty
    escalate_to: str | None = "team_owner"

    def within(self, kind: str) -> timedelta | None:
        return dict(self.deadlines).get(kind)


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    name: str
    when: Condition | None
    target: Target
    strategy: str
    params: BaseModel  # the strategy's own validated parameters
    off_hours: bool = False
    sla: CompiledSla | None = None
    line: int | None = None  # where the route starts in the policy file


@dataclass(frozen=True, slots=True)
class CompiledExperiment:
    name: str
    share: float
    when: Condition | None
    route: CompiledRoute


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    model: PolicyModel
    reject: tuple[tuple[str, Condition], ...] = ()
    score: tuple[tuple[str, Condition, float], ...] = ()
    value_slabs: tuple[tuple[str, float], ...] = ()  # highest threshold first
    priority: tuple[tuple[str, Condition], ...] = ()
    routes: tuple[CompiledRoute, ...] = ()
    experiments: tuple[CompiledExperiment, ...] = ()
    default_caps: Caps = field(default_factory=Caps)
    existing_account_owner: bool = False
    # screening.score_model: loaded once here; its probability goes into ``score_field``
    score_model: LeadModel | None = None
    score_field: str = "model_score"
    text: str = ""
    digest: str = ""  # sha256 of the text: identifies the policy before it is stored
    revision: int = 0  # the store's version number once stored; 0 for an unstored file

    def with_revision(self, revision: int) -> CompiledPolicy:
        from dataclasses import replace

        return replace(self, revision=revision)
