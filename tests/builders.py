"""Small builders for tests: reps, leads, routes, policies and snapshots without files."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from leadrelay.domain import Account, Caps, Lead, Rep, Snapshot, Team, WorkingHours
from leadrelay.domain.decision import Decision, Status
from leadrelay.pipeline.decide import decide
from leadrelay.pipeline.strategies.registry import STRATEGIES
from leadrelay.policy.compiled import CompiledPolicy, CompiledRoute, Target
from leadrelay.policy.conditions import Condition, symbol_types
from leadrelay.policy.schema import PolicyModel, RouteModel, TargetModel

# A Wednesday, 14:00 UTC: inside 09:00-17:00 in UTC and in Europe/London.
NOON = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def rep(rep_id: str, **fields: Any) -> Rep:
    if "working_hours" in fields and isinstance(fields["working_hours"], str):
        fields["working_hours"] = WorkingHours.parse(fields["working_hours"])
    if "caps" in fields and isinstance(fields["caps"], dict):
        fields["caps"] = Caps(**fields["caps"])
    if "skills" in fields:
        fields["skills"] = frozenset(s.lower() for s in fields["skills"])
    for key in ("teams", "regions", "out_of_office"):
        if key in fields:
            fields[key] = tuple(fields[key])
    return Rep(id=rep_id, name=rep_id.title(), **fields)


def lead(**fields: Any) -> Lead:
    fields.setdefault("received_at", NOON)
    return Lead(**fields)


def condition(text: str, **custom: str) -> Condition:
    return Condition(text, symbol_types(custom))


def route(
    name: str,
    strategy: str = "round_robin",
    *,
    when: str | None = None,
    off_hours: bool = False,
    **to: Any,
) -> CompiledRoute:
    params: dict[str, Any] = to.pop("params", {})
    target = Target(
        rep=to.get("rep"),
        reps=tuple(to.get("reps", ())),
        team=to.get("team"),
        teams=tuple(to.get("teams", ())),
        pool=to.get("pool"),
        owner=to.get("owner"),
        manual=bool(to.get("manual", False)),
    )
    strategy_params: BaseModel = STRATEGIES[strategy].Params(**params)
    return CompiledRoute(
        name=name,
        when=condition(when) if when else None,
        target=target,
        strategy=strategy,
        params=strategy_params,
        off_hours=off_hours,
    )


def policy(
    *routes: CompiledRoute, default_caps: Caps | None = None, **extra: Any
) -> CompiledPolicy:
    model = PolicyModel(
        routes=[RouteModel(name=r.name, to=TargetModel(manual=True)) for r in routes]
    )
    return CompiledPolicy(
        model=model, routes=tuple(routes), default_caps=default_caps or Caps(), **extra
    )


def snapshot(
    reps: Iterable[Rep],
    *,
    now: datetime = NOON,
    teams: Iterable[Team] = (),
    accounts: Iterable[Account] = (),
) -> Snapshot:
    return Snapshot(
        now=now,
        reps={r.id: r for r in reps},
        teams={t.id: t for t in teams},
        accounts_by_domain={a.domain: a for a in accounts if a.domain},
    )


def route_in_order(leads: Iterable[Lead], snap: Snapshot, pol: CompiledPolicy) -> list[Decision]:
    """Decide each lead at its ``received_at`` and record assignments, as bulk routing does."""
    decided: list[Decision] = []
    for one in leads:
        snap.now = one.received_at
        decision = decide(one, snap, pol)
        if decision.status is Status.ASSIGNED:
            snap.record(decision.ledger_route, decision.owner, one.received_at)
        decided.append(decision)
    return decided
