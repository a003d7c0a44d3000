"""What routing decided about one lead, with every reason needed to explain it later."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from leadrelay.domain.quick import pickled_positionally, quick_constructor


class Status(StrEnum):
    """The one state every accepted lead ends in (DESIGN invariant 1)."""

    ASSIGNED = "assigned"  # owner is a rep
    TEAM = "team"  # held by a team; its owner is accountable
    POOL = "pool"  # open for reps to claim; the pool's owner (if any) is accountable
    MANUAL = "manual"  # queued for a manager
    SCREENED_OUT = "screened_out"
    DUPLICATE = "duplicate"


@pickled_positionally
@dataclass(frozen=True, slots=True)
class Candidate:
    """One rep a route considered: why it was left out, or how it scored."""

    rep: str
    excluded: str | None = None
    score: float | None = None
    factors: dict[str, float] = field(default_factory=dict)
    note: str = ""


# The trace holds a Candidate per rep per matched route: built the quick way (see quick.py).
quick_candidate = quick_constructor(Candidate)


class _NoFactors(dict[str, float]):
    """The factors of every candidate scored without any: one shared, read-only empty mapping.

    A trace holds some twenty candidates per lead; one shared mapping instead of an empty dict
    each saves memory and the garbage collector's time (it visits every object a candidate
    holds). It equals ``{}``, serialises and pickles as one, and refuses to be changed.
    """

    __slots__ = ()

    def _read_only(self, *args: object, **kwargs: object) -> None:
        raise TypeError("a Candidate's factors are read-only")

    __setitem__ = __delitem__ = _read_only
    clear = pop = popitem = setdefault = update = __ior__ = _read_only  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[dict[str, float]], tuple[()]]:
        return dict, ()


NO_FACTORS: dict[str, float] = _NoFactors()


@pickled_positionally
@dataclass(frozen=True, slots=True)
class RouteTrial:
    """One route looked at while deciding, whether or not it took the lead."""

    route: str
    matched: bool
    outcome: str
    strategy: str | None = None
    candidates: tuple[Candidate, ...] = ()


@pickled_positionally
@dataclass(frozen=True, slots=True)
class ScreeningStep:
    rule: str
    kind: str  # model | reject | score | slab | priority
    matched: bool
    points: float = 0.0
    note: str = ""


@pickled_positionally
@dataclass(frozen=True, slots=True)
class Screening:
    score: float = 0.0
    value_slab: str = "low"
    priority: str = "low"
    rejected_by: str | None = None
    steps: tuple[ScreeningStep, ...] = ()


@pickled_positionally
@dataclass(frozen=True, slots=True)
class Decision:
    """The whole outcome of ``decide``: enough to explain the assignment from it alone."""

    lead_key: str
    status: Status
    reason: str
    decided_at: datetime
    policy_version: int
    owner: str | None = None  # the accountable rep (for a team: its owner)
    team: str | None = None
    pool: str | None = None
    route: str | None = None
    strategy: str | None = None
    screening: Screening = field(default_factory=Screening)
    account: str | None = None
    account_match: str | None = None  # how the account was matched, e.g. "domain acme.com"
    duplicate_of: int | None = None
    experiment: str | None = None
    arm: str | None = None  # "challenger" or "control"
    trials: tuple[RouteTrial, ...] = ()
    # the rotation ledger the lead counts in when not its route's own: modified round robin
    # keeps its merit picks in "<route>#merit" so the ratable leads still rotate evenly
    rotation: str | None = None

    @property
    def ledger_route(self) -> str | None:
        """Where the lead counts in the round-robin ledger (None: nowhere)."""
        return self.rotation or self.route

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; written by hand because ``asdict`` deep-copies (it is hot)."""
        return {
            "lead_key": self.lead_key,
            "status": self.status.value,
            "reason": self.reason,
            "decided_at": self.decided_at.isoformat(),
            "policy_version": self.policy_version,
            "owner": self.owner,
            "team": self.team,
            "pool": self.pool,
            "route": self.route,
            "strategy": self.strategy,
            "screening": _screening_data(self.screening),
            "account": self.account,
            "account_match": self.account_match,
            "duplicate_of": self.duplicate_of,
            "experiment": self.experiment,
            "arm": self.arm,
            "rotation": self.rotation,
            "trials": [
                {
                    "route": t.route,
                    "matched": t.matched,
                    "outcome": t.outcome,
                    "strategy": t.strategy,
                    "candidates": [
                        {"rep": c.rep, "excluded": c.excluded, "score": c.score,
                         "factors": dict(c.factors), "note": c.note}
                        for c in t.candidates
                    ],
                }
                for t in self.trials
            ],
        }  # fmt: skip

    def to_stored(self) -> dict[str, Any]:
        """The form kept in the store (``decisions.body``): ``to_dict`` less what ``from_dict``
        fills in itself (null, empty and default values), and each exclusion's text written
        once, in ``reasons``, with the reps it excluded given as ``[rep, index]``. A trace
        lists some twenty reps a lead, most excluded for a reason they share (outside their
        hours in one time zone, at a cap): 40% smaller than ``to_dict``, and faster to build.
        ``from_dict`` reads both forms."""
        body: dict[str, Any] = {
            "lead_key": self.lead_key,
            "status": self.status.value,
            "reason": self.reason,
            "decided_at": self.decided_at.isoformat(),
            "policy_version": self.policy_version,
            "screening": _screening_data(self.screening),
        }  # fmt: skip
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        if self.trials:
            reasons: dict[str, int] = {}
            body["trials"] = [_stored_trial(trial, reasons) for trial in self.trials]
            if reasons:
                body["reasons"] = list(reasons)  # in index order: dicts keep insertion order
        return body

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """A Decision from ``to_dict`` or ``to_stored`` data (decoded JSON)."""
        reasons: list[str] = data.get("reasons") or []
        screening = data.get("screening") or {}
        return cls(
            lead_key=data["lead_key"],
            status=Status(data["status"]),
            reason=data["reason"],
            decided_at=datetime.fromisoformat(data["decided_at"]),
            policy_version=data["policy_version"],
            owner=data.get("owner"),
            team=data.get("team"),
            pool=data.get("pool"),
            route=data.get("route"),
            strategy=data.get("strategy"),
            screening=Screening(
                score=screening.get("score", 0.0),
                value_slab=screening.get("value_slab", "low"),
                priority=screening.get("priority", "low"),
                rejected_by=screening.get("rejected_by"),
                steps=tuple(ScreeningStep(**s) for s in screening.get("steps", ())),
            ),
            account=data.get("account"),
            account_match=data.get("account_match"),
            duplicate_of=data.get("duplicate_of"),
            experiment=data.get("experiment"),
            arm=data.get("arm"),
            trials=tuple(
                RouteTrial(
                    route=t["route"],
                    matched=t["matched"],
                    outcome=t["outcome"],
                    strategy=t.get("strategy"),
                    candidates=tuple(
                        Candidate(c[0], reasons[c[1]]) if isinstance(c, list) else Candidate(**c)
                        for c in t.get("candidates", ())
                    ),
                )
                for t in data.get("trials", ())
            ),
            rotation=data.get("rotation"),
        )

    @property
    def chosen_trial(self) -> RouteTrial | None:
        for trial in self.trials:
            if trial.route == self.route and trial.matched:
                return trial
        return None


def _screening_data(screening: Screening) -> dict[str, Any]:
    return {
        "score": screening.score,
        "value_slab": screening.value_slab,
        "priority": screening.priority,
        "rejected_by": screening.rejected_by,
        "steps": [
            {"rule": s.rule, "kind": s.kind, "matched": s.matched, "points": s.points,
             "note": s.note}
            for s in screening.steps
        ],
    }  # fmt: skip


# Decision fields ``to_stored`` writes only when set (``from_dict`` reads a missing one as None)
_OPTIONAL = (
    "owner", "team", "pool", "route", "strategy", "account", "account_match", "duplicate_of",
    "experiment", "arm", "rotation",
)  # fmt: skip


def _stored_trial(trial: RouteTrial, reasons: dict[str, int]) -> dict[str, Any]:
    """A trial as ``Decision.to_stored`` writes it; new exclusion texts join ``reasons``."""
    entry: dict[str, Any] = {
        "route": trial.route,
        "matched": trial.matched,
        "outcome": trial.outcome,
    }
    if trial.strategy is not None:
        entry["strategy"] = trial.strategy
    if trial.candidates:
        listed: list[Any] = []
        for c in trial.candidates:
            excluded = c.excluded
            if excluded is not None and c.score is None and not c.factors and not c.note:
                listed.append([c.rep, reasons.setdefault(excluded, len(reasons))])
                continue
            one: dict[str, Any] = {"rep": c.rep}
            if excluded is not None:
                one["excluded"] = excluded
            if c.score is not None:
                one["score"] = c.score
            if c.factors:
                one["factors"] = dict(c.factors)
            if c.note:
                one["note"] = c.note
            listed.append(one)
        entry["candidates"] = listed
    return entry


@dataclass(frozen=True, slots=True)
class Assignment:
    """A rep (or team/pool) made accountable for a lead, as stored."""

    lead_id: int
    status: Status
    owner: str | None
    team: str | None
    pool: str | None
    route: str | None
    strategy: str | None
    policy_version: int
    assigned_at: datetime
