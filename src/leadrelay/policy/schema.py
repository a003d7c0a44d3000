"""The policy file's shape (DESIGN.md "The policy file"), as strict pydantic models.

These models only check shape. ``load.py`` turns a validated ``PolicyModel`` into a
``CompiledPolicy`` (conditions parsed, strategy parameters checked, names resolved).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


class ScreeningModel(_Strict):
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


class RouteModel(ExperimentRouteModel):
    name: str
    when: str | None = None
    sla: dict[str, Any] | None = None  # workflow issue: accept/claim/contact deadlines


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
