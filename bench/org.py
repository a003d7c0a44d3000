"""The benchmark organisation: 50 reps in 5 teams over 3 time zones, a 10-route policy, leads.

Everything is built in code from a fixed seed, so every run routes the same leads through the
same policy. The policy is written once, as the YAML-shaped dict ``POLICY``, and every benchmark
loads it through the product's own policy loader.
"""

from __future__ import annotations

import csv
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from leadrelay.domain import Account, Caps, DateRange, Lead, Rep, Seniority, Snapshot, Team
from leadrelay.domain import WorkingHours as Hours
from leadrelay.policy.compiled import CompiledPolicy

SEED = 20260105
LEADS_PER_BUSINESS_DAY = 1500  # ~30 per rep per day: daily caps bind for some reps, not all
FIRST_DAY = date(2026, 1, 5)  # a Monday

LEAD_COLUMNS = (
    "external_id", "email", "phone", "first_name", "last_name", "company", "domain", "industry",
    "company_type", "employees", "country", "region", "state", "postal_code", "lat", "lon",
    "product", "value", "source", "received_at",
)  # fmt: skip

# office: (time zone, lat, lon, working hours there)
OFFICES = {
    "london": ("Europe/London", 51.507, -0.128, "mon-fri 08:00-18:00"),
    "manchester": ("Europe/London", 53.481, -2.243, "mon-fri 08:30-17:30"),
    "new-york": ("America/New_York", 40.713, -74.006, "mon-fri 09:00-18:00"),
    "boston": ("America/New_York", 42.360, -71.059, "mon-fri 08:00-17:00"),
    "atlanta": ("America/New_York", 33.749, -84.388, "mon-fri 09:00-17:00"),
    "san-francisco": ("America/Los_Angeles", 37.775, -122.419, "mon-fri 08:00-17:00"),
    "seattle": ("America/Los_Angeles", 47.606, -122.332, "mon-fri 09:00-18:00"),
    "los-angeles": ("America/Los_Angeles", 34.052, -118.244, "mon-fri 09:00-17:00"),
}

# team -> (owner index within the team, [(office, regions, skills)] for its 10 reps)
TEAMS: dict[str, list[tuple[str, tuple[str, ...], tuple[str, ...]]]] = {
    "enterprise": [
        ("new-york", ("US-NY", "US-NJ"), ("industry:finance",)),
        ("new-york", ("US-MA", "US-PA"), ("industry:airline",)),
        ("boston", ("US-MA",), ("industry:healthcare",)),
        ("atlanta", ("US-GA", "US-FL"), ("industry:retail",)),
        ("san-francisco", ("US-CA",), ("industry:software",)),
        ("seattle", ("US-WA", "CA-BC"), ("industry:software",)),
        ("london", ("GB", "IE"), ("industry:finance",)),
        ("london", ("DE", "NL"), ("industry:manufacturing",)),
        ("manchester", ("GB",), ("industry:airline",)),
        ("los-angeles", ("US-CA", "US-TX"), ("industry:logistics",)),
    ],
    "emea": [
        ("london", ("GB",), ("language:en",)),
        ("london", ("GB", "IE"), ("language:en",)),
        ("london", ("FR", "BE"), ("language:fr",)),
        ("london", ("DE", "AT", "CH"), ("language:de",)),
        ("london", ("NL", "BE"), ("language:nl",)),
        ("manchester", ("ES", "PT"), ("language:es",)),
        ("manchester", ("SE", "DK", "NO"), ("language:en",)),
        ("manchester", ("IT",), ("language:it",)),
        ("manchester", ("postal:m", "postal:l"), ("language:en",)),
        ("london", ("postal:ec", "postal:wc"), ("language:en",)),
    ],
    "americas-east": [
        ("new-york", ("US-NY",), ()),
        ("new-york", ("US-NJ", "US-PA"), ()),
        ("new-york", ("postal:100", "postal:101"), ()),
        ("boston", ("US-MA", "US-NH"), ()),
        ("boston", ("CA-ON", "CA-QC"), ("language:fr",)),
        ("atlanta", ("US-GA",), ()),
        ("atlanta", ("US-FL",), ()),
        ("atlanta", ("US-NC", "US-SC"), ()),
        ("new-york", ("US-IL", "US-OH"), ()),
        ("boston", ("US-VA", "US-MD"), ()),
    ],
    "americas-west": [
        ("san-francisco", ("US-CA",), ()),
        ("san-francisco", ("postal:941",), ()),
        ("san-francisco", ("US-OR",), ()),
        ("seattle", ("US-WA",), ()),
        ("seattle", ("CA-BC", "CA-AB"), ()),
        ("los-angeles", ("US-CA",), ()),
        ("los-angeles", ("US-AZ", "US-NV"), ()),
        ("los-angeles", ("US-TX",), ()),
        ("seattle", ("US-CO", "US-UT"), ()),
        ("san-francisco", ("US-IL",), ()),
    ],
    "inside-sales": [
        ("london", (), ("product:payments",)),
        ("london", (), ("product:crm",)),
        ("manchester", (), ("product:analytics",)),
        ("new-york", (), ("product:payments",)),
        ("new-york", (), ("product:crm",)),
        ("atlanta", (), ("product:analytics",)),
        ("san-francisco", (), ("product:payments",)),
        ("seattle", (), ("product:crm",)),
        ("los-angeles", (), ("product:analytics",)),
        ("boston", (), ("product:crm",)),
    ],
}
TEAM_SHORT = {
    "enterprise": "ent",
    "emea": "emea",
    "americas-east": "ame",
    "americas-west": "amw",
    "inside-sales": "is",
}

POLICY: dict[str, Any] = {
    "version": 1,
    "screening": {"value_slabs": {"high": 50000, "medium": 10000}},
    "matching": {"existing_account": "account_owner"},
    "capacity": {"default": {"per_day": 40, "per_month": 700}},
    "routes": [
        {
            "name": "enterprise",
            "when": 'value_slab == "high"',
            "to": {"team": "enterprise"},
            "strategy": "least_loaded",
        },
        {
            "name": "airline-specialists",
            "when": 'industry == "airline"',
            "to": {"reps": ["ent-02", "ent-09", "emea-01"]},
            "strategy": "criteria",
        },
        {
            "name": "healthcare",
            "when": 'industry == "healthcare" and employees != null and employees >= 200',
            "to": {"teams": ["americas-east", "americas-west"]},
            "strategy": "weighted_round_robin",
        },
        {
            "name": "emea-territory",
            "when": 'region == "EMEA"',
            "to": {"team": "emea"},
            "strategy": {"name": "territory", "nearest_office": True},
        },
        {
            "name": "americas-crm",
            "when": 'region == "NA" and product == "crm"',
            "to": {"teams": ["americas-east", "americas-west"]},
            "strategy": "territory",
        },
        {
            "name": "payments",
            "when": 'product == "payments" and value_slab == "low"',
            "to": {"team": "inside-sales"},
            "strategy": "team",
        },
        {
            "name": "americas-mid",
            "when": 'country in ["US", "CA"] and value_slab == "medium"',
            "to": {"teams": ["americas-east", "americas-west"]},
            "strategy": "weighted_round_robin",
        },
        {
            "name": "small-business",
            "when": "employees != null and employees < 50",
            "to": {"team": "inside-sales"},
            "strategy": {"name": "round_robin", "order": "random"},
        },
        {
            "name": "mid-market",
            "when": 'value_slab == "medium"',
            "to": {"teams": ["emea", "americas-east", "americas-west"]},
            "strategy": "least_loaded",
        },
        {
            "name": "everyone-else",
            "to": {"teams": list(TEAMS)},
            "strategy": "round_robin",
            "off_hours": True,
        },
    ],
}

# Screening rules for the "+ screening" variant of the decide benchmark: four more conditions.
SCREENING_RULES: dict[str, Any] = {
    "reject": [{"name": "not-served", "when": 'country in ["BR", "AR", "MX"]'}],
    "score": [
        {"when": "employees != null and employees >= 1000", "points": 30},
        {"when": 'source == "referral"', "points": 20},
    ],
    "value_slabs": {"high": 50000, "medium": 10000},
    "priority": {"high": 'score >= 30 or value_slab == "high"'},
}


def policy_dict(*, screening: bool = False) -> dict[str, Any]:
    data = dict(POLICY)
    if screening:
        data["screening"] = SCREENING_RULES
    return data


def load_policy(data: dict[str, Any], org: Org) -> CompiledPolicy:
    """The policy through the product's own loader, names checked against the org."""
    from leadrelay.policy import load_policy_text

    return load_policy_text(
        policy_yaml(data),
        source="bench policy",
        reps=[r.id for r in org.reps],
        teams=[t.id for t in org.teams],
    )


def policy_yaml(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


@dataclass(frozen=True)
class Org:
    reps: tuple[Rep, ...]
    teams: tuple[Team, ...]
    accounts: tuple[Account, ...]

    def snapshot(self, now: datetime) -> Snapshot:
        return Snapshot(
            now=now,
            reps={r.id: r for r in self.reps},
            teams={t.id: t for t in self.teams},
            accounts_by_domain={a.domain: a for a in self.accounts if a.domain},
        )


def build_org(seed: int = SEED, n_accounts: int = 300) -> Org:
    """50 reps, 5 teams, 3 time zones; caps, weights, absences and one inactive rep."""
    rng = random.Random(seed)
    reps: list[Rep] = []
    teams: list[Team] = []
    for team, members in TEAMS.items():
        ids = [f"{TEAM_SHORT[team]}-{i:02d}" for i in range(1, len(members) + 1)]
        teams.append(Team(id=team, name=team.replace("-", " ").title(), owner=ids[0]))
        for i, (rep_id, (office, regions, skills)) in enumerate(zip(ids, members, strict=True)):
            tz, lat, lon, hours = OFFICES[office]
            caps: Caps | None = None
            if i % 4 == 1:
                caps = Caps(per_day=25, per_week=110)
            elif i % 4 == 2:
                caps = Caps(per_day=60)
            away: tuple[DateRange, ...] = ()
            if i == 3:
                start = FIRST_DAY + timedelta(days=rng.randrange(5, 40))
                away = (DateRange(start, start + timedelta(days=4)),)
            reps.append(
                Rep(
                    id=rep_id,
                    name=rep_id.replace("-", " ").title(),
                    email=f"{rep_id}@example.com",
                    teams=(team,),
                    timezone=tz,
                    working_hours=Hours.parse(hours),
                    out_of_office=away,
                    weight=float(1 + i % 3),
                    caps=caps,
                    skills=frozenset(skills),
                    regions=regions,
                    seniority=(Seniority.SENIOR, Seniority.MID, Seniority.JUNIOR)[i % 3],
                    office_lat=lat,
                    office_lon=lon,
                    active=not (team == "americas-west" and i == 9),
                )
            )
    owners = [r.id for r in reps if r.teams[0] in ("enterprise", "americas-east", "emea")]
    accounts = tuple(
        Account(
            id=f"acc-{i:04d}",
            name=f"Account {i:04d}",
            domain=f"account{i:04d}.com",
            owner=rng.choice(owners),
        )
        for i in range(n_accounts)
    )
    return Org(tuple(reps), tuple(teams), accounts)


# (city, country, region, state, postal code prefix, lat, lon, weight)
PLACES = (
    ("New York", "US", "NA", "NY", "100", 40.713, -74.006, 10),
    ("Boston", "US", "NA", "MA", "021", 42.360, -71.059, 5),
    ("Atlanta", "US", "NA", "GA", "303", 33.749, -84.388, 4),
    ("Miami", "US", "NA", "FL", "331", 25.762, -80.192, 4),
    ("Chicago", "US", "NA", "IL", "606", 41.878, -87.630, 6),
    ("Austin", "US", "NA", "TX", "787", 30.267, -97.743, 5),
    ("Denver", "US", "NA", "CO", "802", 39.739, -104.990, 3),
    ("San Francisco", "US", "NA", "CA", "941", 37.775, -122.419, 8),
    ("Los Angeles", "US", "NA", "CA", "900", 34.052, -118.244, 6),
    ("Seattle", "US", "NA", "WA", "981", 47.606, -122.332, 4),
    ("Toronto", "CA", "NA", "ON", "M5H", 43.653, -79.383, 4),
    ("Vancouver", "CA", "NA", "BC", "V6B", 49.283, -123.121, 2),
    ("London", "GB", "EMEA", None, "EC1", 51.507, -0.128, 9),
    ("Manchester", "GB", "EMEA", None, "M1", 53.481, -2.243, 3),
    ("Dublin", "IE", "EMEA", None, "D02", 53.350, -6.260, 2),
    ("Paris", "FR", "EMEA", None, "750", 48.857, 2.352, 4),
    ("Berlin", "DE", "EMEA", None, "101", 52.520, 13.405, 4),
    ("Munich", "DE", "EMEA", None, "803", 48.135, 11.582, 2),
    ("Amsterdam", "NL", "EMEA", None, "101", 52.368, 4.904, 3),
    ("Madrid", "ES", "EMEA", None, "280", 40.417, -3.704, 2),
    ("Stockholm", "SE", "EMEA", None, "111", 59.329, 18.069, 2),
    ("Singapore", "SG", "APAC", None, "018", 1.352, 103.820, 2),
    ("Sydney", "AU", "APAC", None, "200", -33.869, 151.209, 2),
    ("Sao Paulo", "BR", "LATAM", None, "010", -23.551, -46.633, 1),
)


def _awake(hour: int, region: str) -> float:
    """Leads come mostly from regions in business hours: EMEA mornings, NA afternoons (UTC)."""
    if region == "EMEA":
        return 3.0 if hour < 16 else 0.3
    if region == "NA":
        return 0.3 if hour < 13 else 3.0
    return 1.0


_PLACES_BY_HOUR = {
    hour: tuple((*p[:-1], p[-1] * _awake(hour, p[2])) for p in PLACES) for hour in range(24)
}
INDUSTRIES = (
    ("software", 30),
    ("retail", 14),
    ("manufacturing", 14),
    ("finance", 12),
    ("healthcare", 12),
    ("education", 7),
    ("logistics", 6),
    ("airline", 5),
)
PRODUCTS = (("crm", 45), ("analytics", 30), ("payments", 25))
SOURCES = (("web", 50), ("referral", 15), ("event", 15), ("partner", 10), ("outbound", 10))
FIRST_NAMES = ("Ana", "Bo", "Chen", "Dana", "Emeka", "Fatima", "Gus", "Hana", "Ivan", "Jo")
LAST_NAMES = ("Smith", "Garcia", "Kim", "Okafor", "Muller", "Rossi", "Tanaka", "Silva", "Ng")
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com")


def _pick(rng: random.Random, table: tuple[tuple[Any, ...], ...]) -> Any:
    return rng.choices(table, cum_weights=_cum_weights(table))[0]


@cache
def _cum_weights(table: tuple[tuple[Any, ...], ...]) -> list[float]:
    return list(itertools.accumulate(row[-1] for row in table))


def arrival(index: int) -> datetime:
    """When lead ``index`` arrives: weekdays 07:00-22:00 UTC, in order, at a fixed daily rate."""
    day, slot = divmod(index, LEADS_PER_BUSINESS_DAY)
    weeks, weekday = divmod(day, 5)
    when = datetime.combine(FIRST_DAY + timedelta(weeks=weeks, days=weekday), datetime.min.time())
    seconds = 7 * 3600 + slot * (15 * 3600 / LEADS_PER_BUSINESS_DAY)
    return when.replace(tzinfo=UTC) + timedelta(seconds=int(seconds))


def lead_rows(n: int, seed: int = SEED, n_accounts: int = 300) -> Iterator[dict[str, Any]]:
    """``n`` leads as leads.csv rows (typed values; None = blank), in arrival order."""
    rng = random.Random(seed + 1)
    for i in range(n):
        received_at = arrival(i)
        places = _PLACES_BY_HOUR[received_at.hour]
        _city, country, region, state, postal, lat, lon, _ = _pick(rng, places)
        industry = _pick(rng, INDUSTRIES)[0]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        roll = rng.random()
        if roll < 0.08:
            domain = f"account{rng.randrange(n_accounts):04d}.com"
            company = f"Account {domain[7:11]}"
        else:
            company = f"{last} {industry.title()} {rng.randrange(100000):05d}"
            domain = f"{company.lower().replace(' ', '-')}.com"
        mail_domain = rng.choice(FREE_MAIL) if rng.random() < 0.2 else domain
        employees = None if rng.random() < 0.05 else int(rng.lognormvariate(4.5, 1.6)) + 1
        value = round(rng.lognormvariate(9.0, 1.1), 2)
        yield {
            "external_id": f"L{i:07d}",
            "email": f"{first}.{last}{i}@{mail_domain}".lower(),
            "phone": f"+1555{i:07d}",
            "first_name": first,
            "last_name": last,
            "company": company,
            "domain": None if rng.random() < 0.1 else domain,
            "industry": industry,
            "company_type": rng.choice(("private", "public", "nonprofit")),
            "employees": employees,
            "country": country,
            "region": region,
            "state": state,
            "postal_code": f"{postal}{rng.randrange(10, 99)}" if postal else None,
            "lat": round(lat + rng.uniform(-0.2, 0.2), 4),
            "lon": round(lon + rng.uniform(-0.2, 0.2), 4),
            "product": _pick(rng, PRODUCTS)[0],
            "value": value,
            "source": _pick(rng, SOURCES)[0],
            "received_at": received_at,
        }


def make_leads(n: int, seed: int = SEED) -> list[Lead]:
    return [Lead(**row) for row in lead_rows(n, seed)]


def write_leads_csv(path: Path, n: int, seed: int = SEED) -> None:
    """``n`` leads in leads.csv format (blank cells for missing values, ISO times with offset)."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(LEAD_COLUMNS)
        for row in lead_rows(n, seed):
            writer.writerow(
                [
                    row[c].isoformat() if c == "received_at" else ("" if row[c] is None else row[c])
                    for c in LEAD_COLUMNS
                ]
            )
