"""Territory: reps whose regions cover the lead, then the nearest office, then round robin.

A rep's ``regions`` entries match the lead's region, country, state, ``COUNTRY-STATE`` (e.g.
``US-CA``) or a postal prefix written ``postal:941``. Among the covering reps (or all eligible
reps when none covers the lead) the nearest office by great-circle distance wins when the lead
has coordinates; reps sharing the nearest office, or any tie, rotate by round robin.
"""

from __future__ import annotations

import math
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from leadrelay.domain.decision import Status, quick_candidate
from leadrelay.domain.lead import Lead
from leadrelay.domain.rep import Rep
from leadrelay.pipeline.strategies.base import Pass, Pick, RouteContext, Strategy

EARTH_RADIUS_KM = 6371.0088
SAME_OFFICE_KM = 1.0  # offices closer than this count as the same place


class TerritoryParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    nearest_office: bool = True
    # with no covering rep, pass instead of falling back to all eligible reps
    require_coverage: bool = False
    max_km: float | None = Field(default=None, gt=0)


class Territory(Strategy):
    name = "territory"
    Params = TerritoryParams
    summary = "reps covering the lead's region/country/state/postal prefix, nearest office first"

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        if not ctx.eligible:
            return Pass("no eligible rep")
        params = ctx.route.params
        assert isinstance(params, TerritoryParams)
        keys = territory_keys(ctx.lead)
        postal_code = ctx.lead.postal_code
        covered = [covers(rep, keys, postal_code) for rep in ctx.eligible]
        covering = [rep for rep, flag in zip(ctx.eligible, covered, strict=True) if flag]
        if not covering and params.require_coverage:
            return Pass(f"no eligible rep covers {describe(ctx.lead)}")
        pool = covering or list(ctx.eligible)
        basis = (
            f"covers {describe(ctx.lead)}"
            if covering
            else f"(nobody eligible covers {describe(ctx.lead)}; all eligible reps considered)"
        )

        distance: dict[str, float] = {}
        if params.nearest_office and ctx.lead.lat is not None and ctx.lead.lon is not None:
            for rep in pool:
                if rep.office_lat is not None and rep.office_lon is not None:
                    distance[rep.id] = great_circle_km(
                        ctx.lead.lat, ctx.lead.lon, rep.office_lat, rep.office_lon
                    )
        if params.max_km is not None and distance:
            pool = [rep for rep in pool if distance.get(rep.id, math.inf) <= params.max_km]
            if not pool:
                return Pass(f"no eligible office within {params.max_km:g} km")
        if distance:
            nearest = min(distance.get(rep.id, math.inf) for rep in pool)
            if nearest < math.inf:
                pool = [
                    rep for rep in pool if distance.get(rep.id, math.inf) - nearest < SAME_OFFICE_KM
                ]
                basis += f", nearest office {nearest:,.0f} km"

        chosen = min(pool, key=ctx.entry_order)
        scored = tuple(
            quick_candidate(  # positional (rep, excluded, score, factors, note): it is hot
                rep.id,
                None,
                round(distance[rep.id], 1) if rep.id in distance else None,
                {},
                _note(flag, distance.get(rep.id)),
            )
            for rep, flag in zip(ctx.eligible, covered, strict=True)
        )
        reason = f"territory: {chosen.id} {basis}"
        if len(pool) > 1:
            reason += f"; round robin among {len(pool)}"
        return Pick(Status.ASSIGNED, reason, owner=chosen.id, scored=scored)


def territory_keys(lead: Lead) -> frozenset[str]:
    keys = {v.strip().lower() for v in (lead.region, lead.country, lead.state) if v and v.strip()}
    if lead.country and lead.state:
        keys.add(f"{lead.country.strip()}-{lead.state.strip()}".lower())
    return frozenset(keys)


def covers(rep: Rep, keys: frozenset[str], postal_code: str | None) -> bool:
    names, prefixes = _coverage(rep.regions)
    if not names.isdisjoint(keys):
        return True
    if prefixes and postal_code:
        postal = postal_code.strip().lower()
        return any(postal.startswith(prefix) for prefix in prefixes)
    return False


@lru_cache(maxsize=4096)
def _coverage(regions: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """A rep's ``regions`` normalised once: plain keys, and non-empty postal prefixes."""
    names: set[str] = set()
    prefixes: list[str] = []
    for region in regions:
        token = region.strip().lower()
        if token.startswith("postal:"):
            prefix = token[len("postal:") :].strip()
            if prefix:
                prefixes.append(prefix)
        else:
            names.add(token)
    return frozenset(names), tuple(prefixes)


def describe(lead: Lead) -> str:
    parts = [p for p in (lead.region, lead.country, lead.state, lead.postal_code) if p]
    return "/".join(parts) if parts else "a lead with no location"


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _note(covering: bool, km: float | None) -> str:
    note = "covers the lead" if covering else "does not cover the lead"
    if km is not None:
        note += f", office {km:,.0f} km away"
    return note
