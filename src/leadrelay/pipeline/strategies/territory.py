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

from leadrelay.domain.decision import NO_FACTORS, Status, quick_candidate
from leadrelay.domain.lead import Lead
from leadrelay.domain.rep import Rep
from leadrelay.pipeline.strategies.base import (
    Pass,
    Pick,
    RouteContext,
    Strategy,
    quick_pass,
    quick_pick,
)

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
            return quick_pass("no eligible rep")
        params = ctx.route.params
        assert isinstance(params, TerritoryParams)
        lead, eligible = ctx.lead, ctx.eligible
        covered = _covered(
            eligible, _lead_keys(lead.region, lead.country, lead.state), lead.postal_code
        )
        covering = [rep for rep, flag in zip(eligible, covered, strict=True) if flag]
        if not covering and params.require_coverage:
            return quick_pass(f"no eligible rep covers {describe(lead)}")
        pool = covering or list(eligible)
        basis = (
            f"covers {describe(lead)}"
            if covering
            else f"(nobody eligible covers {describe(lead)}; all eligible reps considered)"
        )

        distance: dict[str, float] = {}
        lat, lon = lead.lat, lead.lon
        if params.nearest_office and lat is not None and lon is not None:
            by_office: dict[tuple[float, float], float] = {}  # reps share offices
            for rep in pool:
                office = rep.office_lat, rep.office_lon
                if office[0] is not None and office[1] is not None:
                    km = by_office.get(office)  # type: ignore[arg-type]
                    if km is None:
                        km = great_circle_km(lat, lon, office[0], office[1])
                        by_office[office] = km  # type: ignore[index]
                    distance[rep.id] = km
        if params.max_km is not None and distance:
            pool = [rep for rep in pool if distance.get(rep.id, math.inf) <= params.max_km]
            if not pool:
                return quick_pass(f"no eligible office within {params.max_km:g} km")
        if distance:
            nearest = min(distance.get(rep.id, math.inf) for rep in pool)
            if nearest < math.inf:
                pool = [
                    rep for rep in pool if distance.get(rep.id, math.inf) - nearest < SAME_OFFICE_KM
                ]
                basis += f", nearest office {nearest:,.0f} km"

        chosen = pool[0] if len(pool) == 1 else min(pool, key=ctx.entry_order)
        # few offices, so few distinct (score, note) pairs: each is worked out once
        shown: dict[tuple[bool, float | None], tuple[float | None, str]] = {}
        scored = []
        for rep, flag in zip(eligible, covered, strict=True):
            km = distance.get(rep.id)
            score_note = shown.get((flag, km))
            if score_note is None:
                score_note = (None if km is None else round(km, 1), _note(flag, km))
                shown[(flag, km)] = score_note
            # positional (rep, excluded, score, factors, note): a rep per candidate, keep it cheap
            scored.append(quick_candidate(rep.id, None, score_note[0], NO_FACTORS, score_note[1]))
        reason = f"territory: {chosen.id} {basis}"
        if len(pool) > 1:
            reason += f"; round robin among {len(pool)}"
        return quick_pick(Status.ASSIGNED, reason, owner=chosen.id, scored=tuple(scored))


def territory_keys(lead: Lead) -> frozenset[str]:
    return _lead_keys(lead.region, lead.country, lead.state)


@lru_cache(maxsize=4096)
def _lead_keys(region: str | None, country: str | None, state: str | None) -> frozenset[str]:
    keys = {v.strip().lower() for v in (region, country, state) if v and v.strip()}
    if country and state:
        keys.add(f"{country.strip()}-{state.strip()}".lower())
    return frozenset(keys)


def _covered(reps: tuple[Rep, ...], keys: frozenset[str], postal_code: str | None) -> list[bool]:
    """``covers`` for each rep; answers are remembered per (lead place, rep regions)."""
    known = _COVERS.get((keys, postal_code))
    if known is None:
        if len(_COVERS) >= _MAX_PLACES:
            _COVERS.clear()
        known = _COVERS[(keys, postal_code)] = {}
    flags = []
    for rep in reps:
        flag = known.get(rep.regions)
        if flag is None:
            flag = known[rep.regions] = covers(rep, keys, postal_code)
        flags.append(flag)
    return flags


# (lead's territory keys, postal code) -> rep regions -> covers: a pure function's memo
_COVERS: dict[tuple[frozenset[str], str | None], dict[tuple[str, ...], bool]] = {}
_MAX_PLACES = 4096


def covers(rep: Rep, keys: frozenset[str], postal_code: str | None) -> bool:
    names, prefixes = _coverage(rep.regions)
    if not names.isdisjoint(keys):
        return True
    if prefixes and postal_code:
        return postal_code.strip().lower().startswith(prefixes)  # any of them
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
