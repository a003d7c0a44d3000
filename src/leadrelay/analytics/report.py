"""KPIs from the store: the facts, the org's units, and ``kpis`` — shared by CLI and API."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection

from leadrelay.analytics.fairness import RouteFairness
from leadrelay.analytics.kpi import DIMENSIONS, KpiRow, dimension, kpis
from leadrelay.errors import Problem, UnknownNameError, did_you_mean
from leadrelay.store.facts import LeadFacts

_SPAN = re.compile(r"^(\d+)([hdw])$")


def parse_since(text: str | None, now: datetime) -> datetime | None:
    """``30d``, ``12h``, ``2w`` before ``now``, or an ISO 8601 moment; None for no limit."""
    if not text:
        return None
    match = _SPAN.match(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - {"h": timedelta(hours=amount), "d": timedelta(days=amount),
                      "w": timedelta(weeks=amount)}[unit]  # fmt: skip
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise UnknownNameError(
            Problem(f"{text!r}: write 30d, 12h, 2w or an ISO time with offset", field="since")
        )
    return moment


def parse_where(items: Sequence[str]) -> dict[str, str]:
    """``["product=crm", "source=web"]`` -> ``{"product": "crm", "source": "web"}``."""
    where: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UnknownNameError(
                Problem(f"{item!r}: write dimension=value, e.g. product=crm", field="where")
            )
        where[name] = value.strip()
    return where


def kpi_report(
    conn: Connection,
    *,
    now: datetime,
    by: Sequence[str] = (),
    period: str = "week",
    since: datetime | None = None,
    where: Mapping[str, str] | None = None,
) -> list[KpiRow]:
    """KPIs of the leads since ``since`` whose dimensions have the values in ``where`` (e.g.
    ``{"product": "crm"}``; "(none)" matches leads without one), sliced by ``by``."""
    from leadrelay.store import load_org
    from leadrelay.store.facts import lead_facts

    if len(by) > 2:
        raise UnknownNameError(Problem("slice by at most two dimensions at once", field="by"))
    for name in where or {}:
        if name not in DIMENSIONS:
            raise UnknownNameError(
                Problem(
                    f"unknown dimension {name!r}; use one of {', '.join(DIMENSIONS)}",
                    field="where",
                    suggestion=did_you_mean(name, DIMENSIONS),
                )
            )
    org = load_org(conn)
    units = {rep.id: rep.teams[0] for rep in org.reps.values() if rep.teams}
    try:
        facts: Iterable[LeadFacts] = lead_facts(conn, since=since, now=now)
        if where:
            wanted = dict(where)
            facts = (
                f
                for f in facts
                if all(
                    dimension(f, name, period=period, units=units) == value
                    for name, value in wanted.items()
                )
            )
        return kpis(facts, now=now, by=by, period=period, units=units)
    except ValueError as exc:
        raise UnknownNameError(Problem(str(exc), field="by")) from None


def fairness_report(conn: Connection, route: str | None = None) -> list[RouteFairness]:
    """Every route of the active policy (then routes only history knows), or just ``route``."""
    from leadrelay.analytics.fairness import route_fairness
    from leadrelay.policy import load_policy_text
    from leadrelay.store import active_policy_text, list_versions, load_org
    from leadrelay.store.facts import assigned_by_route

    counts = assigned_by_route(conn)
    org = load_org(conn)
    weights = {rep.id: rep.weight for rep in org.reps.values()}
    # the active policy; else the newest stored (a file routed with `route --policy`)
    found = active_policy_text(conn)
    if found is None:
        versions = list_versions(conn)
        found = (versions[-1].revision, versions[-1].text) if versions else None
    routes = load_policy_text(found[1]).routes if found else ()
    out: list[RouteFairness] = []
    for r in routes:
        t = r.target
        if t.rep or t.reps:
            candidates = [t.rep] if t.rep else list(t.reps)
        else:
            teams = [t.team] if t.team else list(t.teams)
            candidates = list(
                dict.fromkeys(m for team in teams for m in org.team_members.get(team, ()))
            )
        out.append(route_fairness(r.name, r.strategy, candidates, counts.get(r.name, {}), weights))
    known = {f.route for f in out}
    out.extend(
        route_fairness(name, None, [], by_rep) for name, by_rep in sorted(counts.items())
        if name not in known
    )  # fmt: skip
    if route is not None:
        out = [f for f in out if f.route == route]
        if not out:
            raise UnknownNameError(Problem(f"no route {route!r} in the policy or history",
                                           field="route"))  # fmt: skip
    return out
