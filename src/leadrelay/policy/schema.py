"""The policy file's shape (DESIGN.md "The policy file"), as strict pydantic models.

These models only check shape. ``load.py`` turns a validated ``PolicyModel`` into a
``CompiledPolicy`` (conditions parsed, strategy parameters checked, names resolved).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

FIELD_TYPES = ("string", "number", "integer", "boolean", "datetime")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RejectRule(_Strict):
    name: str
    when: str


class ScoreRule(_Strict):
    when: str
    points: float
    name: str | None = None


class ScoreModelRef(_Strict):
    """A model trained by ``leadrelay score train``; a relative path is taken from the policy
    file's folder. The file is a pickle: name only model files you trust."""

    path: str = Field(min_length=1)
    # the lead value conditions read the model's probability (0..1) from
    field: str = Field(default="model_score", min_length=1)


class ScreeningModel(_Strict):
    score_model: ScoreModelRef | None = None
    reject: list[RejectRule] = Field(default_factory=list)
    score: list[ScoreRule] = Field(default_factory=list)
    # slab name -> minimum lead value; checked from the highest threshold down, else "low"
    value_slabs: dict[str, float] = Field(default_factory=dict)
    # priority name -> condition; checked in file order, else "low"
    priority: dict[str, str] = Field(default_factory=dict)


class DuplicatesModel(_Strict):
    keys: list[Literal["email", "phone", "name_company"]] = Field(default=["email"])
    window_days: int = Field(default=90, ge=0)
    plus_addressing: bool = True  # treat jo+x@a.com as jo@a.com


class AccountsModel(_Strict):
    keys: list[Literal["domain", "email_domain"]] = Field(default=["domain", "email_domain"])
    fuzzy_name: float | None = Field(default=None, ge=0, le=100)


class MatchingModel(_Strict):
    duplicates: DuplicatesModel | None = None
    accounts: AccountsModel | None = None
    # route a lead of an existing account to the account's owner first
    existing_account: Literal["account_owner"] | None = None


class CapsModel(_Strict):
    per_day: int | None = Field(default=None, ge=0)
    per_week: int | None = Field(default=None, ge=0)
    per_month: int | None = Field(default=None, ge=0)


class CapacityModel(_Strict):
    default: CapsModel = Field(default_factory=CapsModel)


class TargetModel(_Strict):
    """Who a route may give the lead to: reps, a team's members, a pool, or a fixed rep."""

    rep: str | None = None
    reps: list[str] | None = None
    team: str | None = None
    teams: list[str] | None = None
    pool: str | None = None
    owner: str | None = None  # accountable rep for a pool
    manual: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> TargetModel:
        given = [
            k for k in ("rep", "reps", "team", "teams", "pool") if getattr(self, k) is not None
        ]
        if self.manual:
            given.append("manual")
        if not given:
            raise ValueError("say who gets the lead: one of rep, reps, team, teams, pool, manual")
        if len(given) > 1 and given not in (["team", "pool"], ["teams", "pool"]):
            raise ValueError(f"give only one of {', '.join(given)}")
        return self


class StrategyModel(BaseModel):
    """``strategy: round_robin`` or ``strategy: {name: round_robin, order: random}``."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ExperimentRouteModel(_Strict):
    """Who gets the lead and how: the part of a route an experiment's challenger also has."""

    to: TargetModel
    strategy: StrategyModel = Field(default_factory=lambda: StrategyModel(name="round_robin"))
    # by default a rep outside working hours is not eligible; a route may allow it
    off_hours: bool = False

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$")
SLA_DEADLINES = ("accept_within", "contact_within", "claim_within", "handoff_within")


def parse_duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``1d``, ``1d4h``, ``1h30m``; a day is 24 hours of the clock counted."""
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        raise ValueError(f"cannot read duration {text!r}; write e.g. 30m, 2h, 1d or 1h30m")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    span = timedelta(days=days, hours=hours, minutes=minutes)
    if not span:
        raise ValueError(f"duration {text!r} is zero; a deadline must be later than now")
    return span


class SlaThenModel(_Strict):
    """Where the lead goes when a deadline passes: a target and a strategy, as in a route.
    No target: the members of the lead's team (a team hand-off) or of the pool's team."""

    rep: str | None = None
    reps: list[str] | None = None
    team: str | None = None
    teams: list[str] | None = None
    strategy: StrategyModel = Field(default_factory=lambda: StrategyModel(name="round_robin"))

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_target(self) -> SlaThenModel:
        given = [k for k in ("rep", "reps", "team", "teams") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give only one of {', '.join(given)}")
        return self


class SlaModel(_Strict):
    """Deadlines on a route's leads (workflows.md): each breach is reassigned and escalated."""

    accept_within: str | None = None  # the rep must accept the lead
    contact_within: str | None = None  # the rep must record a first contact
    claim_within: str | None = None  # a pool lead must be claimed (claim routes)
    handoff_within: str | None = None  # a team's owner must hand the lead on (team routes)
    # measured in the holder's working hours and time zone; false: wall-clock time
    business_hours: bool = True
    # reassign: the next eligible rep by the policy (never a previous holder); manual: the
    # manager queue; a mapping: that target and strategy
    then: Annotated[
        Annotated[Literal["reassign", "manual"], Tag("action")]
        | Annotated[SlaThenModel, Tag("target")],
        Discriminator(lambda v: "action" if isinstance(v, str) else "target"),
    ] = "reassign"
    # who hears of a breach: team_owner | manager | a rep id; null: nobody
    escalate_to: str | None = "team_owner"

    @field_validator(*SLA_DEADLINES, mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"write a duration like 30m, 2h or 1d, not {value!r}")
        parse_duration(value)
        return value

    @field_validator("then", mode="before")
    @classmethod
    def _then(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in ("reassign", "manual"):
            raise ValueError(
                f"write reassign, manual, or a target like {{team: sdr, strategy: round_robin}};"
                f" not {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _some_deadline(self) -> SlaModel:
        if all(getattr(self, name) is None for name in SLA_DEADLINES):
            raise ValueError(f"give at least one deadline: {', '.join(SLA_DEADLINES)}")
        return self

    def deadlines(self) -> tuple[tuple[str, timedelta], ...]:
        """(kind, duration) for each deadline given; kind is accept, contact, claim, handoff."""
        return tuple(
            (name.removesuffix("_within"), parse_duration(text))
            for name in SLA_DEADLINES
            if (text := getattr(self, name)) is not None
        )


class RouteModel(ExperimentRouteModel):
    name: str
    when: str | None = None
    sla: SlaModel | None = None  # deadlines: accept, first contact, claim, team hand-off


class ExperimentModel(_Strict):
    name: str
    share: float = Field(gt=0, lt=1)
    route: ExperimentRouteModel
    when: str | None = None  # which leads may enter the experiment (default: all routed leads)


NotifyEvent = Literal["assigned", "team", "pool", "manual", "duplicate"]
NOTIFY_EVENTS: tuple[NotifyEvent, ...] = ("assigned", "team", "pool", "manual", "duplicate")


class WebhookModel(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    url: str = Field(pattern=r"^https?://\S+$")
    # the environment variable holding the HMAC signing key: the secret never sits in the file
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    events: list[NotifyEvent] = Field(default_factory=lambda: list(NOTIFY_EVENTS))


class NotificationsModel(_Strict):
    # email the accountable rep (reps.csv ``email``) when a lead becomes theirs
    email: bool = False
    webhooks: list[WebhookModel] = Field(default_factory=list)


class PolicyModel(_Strict):
    version: Literal[1] = 1
    # custom lead attributes the conditions may use, with their types
    fields: dict[str, Literal["string", "number", "integer", "boolean", "datetime"]] = Field(
        default_factory=dict
    )
    screening: ScreeningModel = Field(default_factory=ScreeningModel)
    matching: MatchingModel = Field(default_factory=MatchingModel)
    capacity: CapacityModel = Field(default_factory=CapacityModel)
    routes: list[RouteModel] = Field(min_length=1)
    experiments: list[ExperimentModel] = Field(default_factory=list)
    notifications: NotificationsModel = Field(default_factory=NotificationsModel)

    @model_validator(mode="after")
    def _unique_names(self) -> PolicyModel:
        seen: set[str] = set()
        for route in self.routes:
            if route.name in seen:
                raise ValueError(f"two routes are named {route.name!r}; route names must differ")
            seen.add(route.name)
        return self
