"""What the HTTP API accepts and returns: strict pydantic models, one place.

Input models are strict (``false`` is not an integer, ``"12"`` is not a number) and forbid
unknown keys, so a typo is a 422 naming the field instead of a silently ignored value. Limits
keep every accepted value storable on every backend (no NUL characters, years 1970-9000).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from leadrelay.domain.decision import Decision
from leadrelay.domain.lead import Lead
from leadrelay.explain import explain_lines

MAX_BATCH = 10_000
_NO_NUL = r"^[^\x00]*$"

Text = Annotated[str, StringConstraints(max_length=1_000, pattern=_NO_NUL)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00\s]+$")]
AttributeName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_NO_NUL)]
LongText = Annotated[str, StringConstraints(max_length=10_000, pattern=_NO_NUL)]
AttributeValue = LongText | int | float | bool | None
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=_NO_NUL)]


def _iso_text(value: Any) -> Any:
    # JSON has no time type: FastAPI hands strict models text, which strict mode would refuse.
    if not isinstance(value, str):
        raise ValueError("must be ISO 8601 text with a UTC offset, like 2026-11-23T09:30:00Z")
    return value


# Lax only to parse text (strict refuses it); numbers are refused by the validator first.
Moment = Annotated[AwareDatetime, Field(strict=False), BeforeValidator(_iso_text)]
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class LeadIn(_Strict):
    """One lead as a form or CRM sends it: the leads.csv fields, plus custom ``attributes``."""

    external_id: ExternalId | None = None
    email: Annotated[str, StringConstraints(max_length=320, pattern=_NO_NUL)] | None = None
    phone: Annotated[str, StringConstraints(max_length=64, pattern=_NO_NUL)] | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    company: Text | None = None
    domain: Annotated[str, StringConstraints(max_length=255, pattern=_NO_NUL)] | None = None
    industry: Text | None = None
    company_type: Text | None = None
    employees: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    country: Text | None = None
    region: Text | None = None
    state: Text | None = None
    postal_code: Annotated[str, StringConstraints(max_length=32, pattern=_NO_NUL)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None
    product: Text | None = None
    value: Annotated[float, Field(ge=0, le=1e15, allow_inf_nan=False)] | None = None
    source: Text | None = None
    received_at: Moment | None = Field(
        default=None, description="ISO 8601 with a UTC offset; omitted = when it arrives"
    )
    attributes: dict[AttributeName, AttributeValue] = Field(default_factory=dict, max_length=100)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        local, at, domain = value.strip().rpartition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in value.strip()):
            raise ValueError("not an email address like ana@acme.com")
        return value.strip()

    @field_validator("received_at")
    @classmethod
    def _moment(cls, value: datetime | None) -> datetime | None:
        if value is not None and not _EARLIEST <= value <= _LATEST:
            raise ValueError("must be between 1970 and 9000")
        return value

    def to_lead(self, now: datetime) -> Lead:
        values = self.model_dump(exclude={"attributes", "received_at"})
        blank = {
            name: (None if isinstance(v, str) and not v.strip() else v)
            for name, v in values.items()
        }
        return Lead(received_at=self.received_at or now, attributes=dict(self.attributes), **blank)


class LeadBatchIn(_Strict):
    leads: list[LeadIn] = Field(min_length=1, max_length=MAX_BATCH)


class Screening(BaseModel):
    score: float
    value_slab: str
    priority: str
    screened_out_by: str | None = None


class LeadOutcome(BaseModel):
    """What became of a lead: owner (or team, pool, queue), the rule, and why, in one line."""

    lead_id: int | None
    external_id: str | None
    created: bool = Field(description="false: stored earlier under the same external_id / key")
    status: Literal["assigned", "team", "pool", "manual", "screened_out", "duplicate"]
    owner: str | None
    team: str | None
    pool: str | None
    route: str | None
    strategy: str | None
    reason: str
    policy_version: int
    screening: Screening
    duplicate_of: int | None
    account: str | None
    account_match: str | None
    experiment: str | None
    arm: str | None
    explanation: list[str]

    @classmethod
    def of(
        cls, lead_id: int | None, external_id: str | None, decision: Decision, *, created: bool
    ) -> LeadOutcome:
        s = decision.screening
        return cls(
            lead_id=lead_id,
            external_id=external_id,
            created=created,
            status=decision.status.value,
            owner=decision.owner,
            team=decision.team,
            pool=decision.pool,
            route=decision.route,
            strategy=decision.strategy,
            reason=decision.reason,
            policy_version=decision.policy_version,
            screening=Screening(
                score=s.score,
                value_slab=s.value_slab,
                priority=s.priority,
                screened_out_by=s.rejected_by,
            ),
            duplicate_of=decision.duplicate_of,
            account=decision.account,
            account_match=decision.account_match,
            experiment=decision.experiment,
            arm=decision.arm,
            explanation=explain_lines(decision, max_candidates=5),
        )


class BatchOut(BaseModel):
    routed: int = Field(description="leads routed by this request")
    already_stored: int = Field(description="leads stored earlier under the same external_id")
    results: list[LeadOutcome]


class LeadOut(BaseModel):
    """A stored lead: its fields and attributes, and where it stands now."""

    id: int
    fields: dict[str, Any]
    attributes: dict[str, Any]
    status: str
    owner: str | None
    team: str | None
    pool: str | None
    route: str | None
    strategy: str | None
    policy_version: int
    decided_at: datetime
    score: float
    value_slab: str
    priority: str
    duplicate_of: int | None
    account: str | None


class LeadPage(BaseModel):
    leads: list[dict[str, Any]]
    next_before: int | None = Field(description="pass as ?before= for the next page")


class DecisionOut(BaseModel):
    lead_id: int
    decision: dict[str, Any] = Field(description="the stored Decision, every candidate and why")
    explanation: list[str]


class OutcomeIn(_Strict):
    """What happened to the lead: contacted, qualified, won (with its value) or lost."""

    kind: Literal["contacted", "qualified", "won", "lost"]
    at: Moment | None = Field(default=None, description="when; omitted = now")
    value: Annotated[float, Field(ge=0, le=1e15, allow_inf_nan=False)] | None = Field(
        default=None, description="won only: the deal's value"
    )
    reason: Text | None = Field(default=None, description="e.g. why it was lost")

    @field_validator("at")
    @classmethod
    def _moment(cls, value: datetime | None) -> datetime | None:
        if value is not None and not _EARLIEST <= value <= _LATEST:
            raise ValueError("must be between 1970 and 9000")
        return value


class AssignIn(_Strict):
    rep: Id
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1_000, pattern=_NO_NUL)]


Reason = Annotated[str, StringConstraints(min_length=1, max_length=1_000, pattern=_NO_NUL)]


class DeclineIn(_Strict):
    reason: Reason = Field(description="why the rep turns the lead down (kept in its history)")


class ReassignIn(_Strict):
    to: Id | None = Field(default=None, description="a rep; omitted = whoever the policy picks")
    reason: Reason


class HandIn(_Strict):
    to: Id = Field(description="the team member who takes the lead")


class ReassignOpenIn(_Strict):
    reason: Reason
    deactivate: bool = Field(default=False, description="also mark the rep inactive (they left)")


class HandoffOut(BaseModel):
    lead_id: int
    status: str
    owner: str | None
    previous_owner: str | None
    event: str


class NotMoved(BaseModel):
    lead_id: int
    reason: str


class BulkReassignOut(BaseModel):
    rep: str
    deactivated: bool
    moved: list[HandoffOut]
    failed: list[NotMoved] = Field(description="leads that moved meanwhile, and why")
    counts: dict[str, int] = Field(description="moved leads by their new status")


class EventOut(BaseModel):
    id: int
    lead_id: int
    kind: str
    at: datetime
    data: dict[str, Any]


# --- org -------------------------------------------------------------------------------------

Role = Literal["rep", "manager"]
Seniority = Literal["junior", "mid", "senior"]
Cap = Annotated[int, Field(ge=0, le=1_000_000)]


class RepIn(_Strict):
    """A rep as in reps.csv; lists are JSON lists. Omitted fields take the file's defaults."""

    name: Text = ""
    email: Annotated[str, StringConstraints(max_length=320, pattern=_NO_NUL)] | None = None
    teams: list[Id] = Field(default_factory=list, max_length=100)
    role: Role = "rep"
    timezone: Annotated[str, StringConstraints(max_length=64, pattern=_NO_NUL)] = "UTC"
    working_hours: Text = ""
    out_of_office: list[Annotated[str, StringConstraints(max_length=40, pattern=_NO_NUL)]] = Field(
        default_factory=list, max_length=100
    )
    weight: Annotated[float, Field(gt=0, le=1_000, allow_inf_nan=False)] = 1.0
    max_per_day: Cap | None = None
    max_per_week: Cap | None = None
    max_per_month: Cap | None = None
    skills: list[Text] = Field(default_factory=list, max_length=200)
    regions: list[Text] = Field(default_factory=list, max_length=200)
    seniority: Seniority = "mid"
    office_lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    office_lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None
    active: bool = True


class RepOut(RepIn):
    id: str


class TeamIn(_Strict):
    name: Text = ""
    owner: Id | None = None


class TeamOut(TeamIn):
    id: str
    members: list[str]


class AccountIn(_Strict):
    name: Text = ""
    domain: Annotated[str, StringConstraints(max_length=255, pattern=_NO_NUL)] | None = None
    owner: Id | None = None


class AccountOut(AccountIn):
    id: str


# --- policy ----------------------------------------------------------------------------------


class PolicyIn(_Strict):
    text: Annotated[str, StringConstraints(min_length=1, max_length=1_000_000)] = Field(
        description="the policy YAML (DESIGN.md shape)"
    )


class PolicyOut(BaseModel):
    revision: int
    active: bool
    created_at: datetime
    digest: str
    routes: list[str] = Field(default_factory=list)
    text: str | None = None


class Problem(BaseModel):
    field: str | None = None
    message: str
    line: int | None = None
    row: int | None = None
    suggestion: str | None = None


class ErrorOut(BaseModel):
    detail: str
    problems: list[Problem] = Field(default_factory=list)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error codes an endpoint may answer, in the one shape."""
    return {code: {"model": ErrorOut} for code in codes}
