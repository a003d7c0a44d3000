"""A demo sales org and a batch of leads, built from the shipped CRM dataset.

``build_demo`` writes ``reps.csv``, ``teams.csv``, ``accounts.csv``, ``leads.csv`` and
``policy.yaml`` in the contract formats (DESIGN.md "File formats"):

- the 35 sales agents of "CRM + Sales + Opportunities" (``data/crm/SOURCE.md``) become reps, and
  their 6 managers reps with role manager; each regional office becomes a team (``central``,
  ``east``, ``west``) owned by its first-listed manager, with the office's city, time zone and
  US states (split between the office's two managers' groups) as territory;
- each agent's history gives its skills (the products and sectors it won most), seniority (the
  best win rates are senior, agents with no history junior) and weight (deal volume);
- each account gets a domain and, as owner, the agent who won most of its deals;
- the leads are synthetic, drawn with ``random.Random(seed)``: the same seed and count give
  byte-identical files.

The org does not depend on the seed; the policy is the hand-written ``data/demo/policy.yaml``.
``data/demo/`` also holds the output of ``build_demo`` with the defaults; regenerate it with
``python -m leadrelay.demo_org src/leadrelay/data/demo``.
"""

from __future__ import annotations

import csv
import io
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from leadrelay.files.leads import LEAD_COLUMNS
from leadrelay.files.org import ACCOUNT_COLUMNS, REP_COLUMNS, TEAM_COLUMNS

FIRST_DAY = date(2026, 11, 16)  # a Monday; leads arrive over that week's five business days
BUSINESS_DAYS = 5
WORKING_HOURS = "mon-fri 08:00-18:00"
SENIOR_COUNT = 8  # best win rates among agents with enough closed deals
SENIOR_MIN_CLOSED = 100


class Office(NamedTuple):
    team: str
    lat: float  # the office city: Chicago, New York, San Francisco
    lon: float
    timezone: str
    groups: tuple[str, str]  # territory groups of its managers, in sales_teams.csv order


OFFICES = {
    "Central": Office(
        "central", 41.8781, -87.6298, "America/Chicago", ("central-north", "central-south")
    ),
    "East": Office("east", 40.7128, -74.0060, "America/New_York", ("east-north", "east-south")),
    "West": Office(
        "west", 37.7749, -122.4194, "America/Los_Angeles", ("west-pacific", "west-mountain")
    ),
}

# Hand-picked touches that make the demo show every eligibility filter: absences in and out of
# the lead week, ramping new hires on tight caps, part-time and shifted hours.
REP_TWEAKS: dict[str, dict[str, str]] = {
    "Anna Snelling": {"out_of_office": "2026-11-18..2026-11-20"},
    "Reed Clapper": {"out_of_office": "2026-11-16..2026-11-17;2026-12-24..2026-12-31"},
    "Zane Levy": {"out_of_office": "2026-12-21..2027-01-01"},
    "Carl Lin": {"max_per_day": "3", "max_per_week": "12"},
    "Mei-Mei Johns": {"max_per_day": "3", "max_per_week": "12"},
    "Darcel Schlecht": {"max_per_day": "40"},
    "Rosie Papadopoulos": {"working_hours": "mon-fri 09:00-13:00"},
    "Kary Hendrixson": {"working_hours": "mon-thu 07:00-17:00"},
    "Markita Hansen": {"working_hours": "mon-fri 10:00-19:00"},
    "Maureen Marcano": {"weight": "2"},
}

COUNTRIES = {"US": 85, "CA": 6, "GB": 5, "DE": 4}
REGION = {"US": "AMER", "CA": "AMER", "GB": "EMEA", "DE": "EMEA"}
SOURCES = {"web": 45, "outbound": 20, "event": 13, "referral": 12, "partner": 10}
CAMPAIGNS = {
    "web": {"q4-webinar": 20, "black-friday": 15, "": 65},
    "event": {"fall-summit": 70, "": 30},
    "partner": {"partner-summit": 50, "": 50},
}
LEAD_KINDS = {"account": 30, "company": 50, "free_mail": 20}
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com")
QUANTITIES = {1: 40, 2: 20, 3: 12, 5: 10, 10: 10, 20: 5, 50: 3}
FIRST_NAMES = (
    "Ada", "Ben", "Carla", "Dev", "Elena", "Farah", "Gus", "Hana", "Ivan", "Jada", "Kofi",
    "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Vera",
    "Wes", "Ximena", "Yusuf", "Zoe", "Liam", "Mia", "Noah", "Aiko",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lopez", "Murphy", "Nguyen", "Okafor", "Patel", "Quist", "Rossi", "Silva",
    "Tanaka", "Usman", "Varga", "Weber", "Xu", "Young", "Zhang", "Kim", "Novak", "Brooks", "Moreau",
)  # fmt: skip
COMPANY_WORDS = (
    ("Blue", "North", "Summit", "Bright", "Iron", "Silver", "Cedar", "Harbor", "Pioneer",
     "Quantum", "Granite", "Evergreen", "Falcon", "Nova", "Atlas", "Beacon", "Crescent", "Delta"),
    ("Logistics", "Labs", "Health", "Foods", "Systems", "Analytics", "Media", "Capital", "Works",
     "Robotics", "Energy", "Retail", "Studios", "Networks", "Partners"),
)  # fmt: skip
K = TypeVar("K")
_FIXES = {"GTXPro": "GTX Pro", "technolgy": "technology", "Philipines": "Philippines"}


@dataclass(frozen=True, slots=True)
class DemoFiles:
    reps: Path
    teams: Path
    accounts: Path
    leads: Path
    policy: Path


def build_demo(out_dir: Path, *, seed: int = 7, leads: int = 2000) -> DemoFiles:
    """Write the demo org, ``leads`` synthetic leads and the demo policy into ``out_dir``."""
    if leads < 0:
        raise ValueError("leads must be 0 or more")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    crm = _Crm.load()
    files = DemoFiles(*(out_dir / name for name in _FILE_NAMES))
    _write_csv(files.reps, REP_COLUMNS, _rep_rows(crm))
    _write_csv(files.teams, TEAM_COLUMNS, _team_rows(crm))
    _write_csv(files.accounts, ACCOUNT_COLUMNS, _account_rows(crm))
    _write_csv(
        files.leads, (*LEAD_COLUMNS, "campaign"), _lead_rows(crm, random.Random(seed), leads)
    )
    files.policy.write_bytes(_DATA.joinpath("demo", "policy.yaml").read_bytes())
    return files


_FILE_NAMES = ("reps.csv", "teams.csv", "accounts.csv", "leads.csv", "policy.yaml")


def slug(text: str) -> str:
    """``Mei-Mei Johns`` -> ``mei-mei-johns``; ``Gekko & Co`` -> ``gekko-co``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


_DATA = resources.files("leadrelay").joinpath("data")


def _data(*parts: str) -> str:
    return _DATA.joinpath(*parts).read_text(encoding="utf-8")


def _table(*parts: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(_data(*parts), newline="")))
    return [{k: _FIXES.get(v, v) for k, v in row.items()} for row in rows]


@dataclass(frozen=True, slots=True)
class _Agent:
    name: str
    manager: str
    office: str
    group: str
    won: int
    closed: int
    products: tuple[str, ...]  # most won first
    sectors: tuple[str, ...]

    @property
    def win_rate(self) -> float:
        return self.won / self.closed if self.closed else 0.0


@dataclass(frozen=True, slots=True)
class _Crm:
    agents: tuple[_Agent, ...]
    managers: dict[str, tuple[str, str]]  # manager -> (office, group)
    accounts: tuple[dict[str, str], ...]
    account_owner: dict[str, str]
    products: dict[str, float]  # name -> list price
    product_share: dict[str, int]  # name -> opportunities in the pipeline
    places: tuple[dict[str, str], ...]

    @classmethod
    def load(cls, *, before: date | None = None) -> _Crm:
        """The cleaned dataset; with ``before``, what agents did (skills, wins, account owners)
        is learnt only from opportunities engaged before that day."""
        teams = _table("crm", "sales_teams.csv")
        accounts = _table("crm", "accounts.csv")
        pipeline = _table("crm", "sales_pipeline.csv")
        if before is not None:
            pipeline = [opp for opp in pipeline if _engaged_before(opp, before)]
        sector = {a["account"]: a["sector"] for a in accounts}
        managers: dict[str, tuple[str, str]] = {}
        for row in teams:
            office = row["regional_office"]
            if row["manager"] not in managers:
                taken = sum(1 for o, _ in managers.values() if o == office)
                managers[row["manager"]] = (office, OFFICES[office].groups[taken])

        products: dict[str, Counter[str]] = defaultdict(Counter)
        sectors: dict[str, Counter[str]] = defaultdict(Counter)
        won: Counter[str] = Counter()
        closed: Counter[str] = Counter()
        by_account: dict[str, Counter[str]] = defaultdict(Counter)
        value: Counter[tuple[str, str]] = Counter()
        for opp in pipeline:
            agent, stage = opp["sales_agent"], opp["deal_stage"]
            if stage in ("Won", "Lost"):
                closed[agent] += 1
            if stage != "Won":
                continue
            won[agent] += 1
            products[agent][opp["product"]] += 1
            if opp["account"]:
                sectors[agent][sector[opp["account"]]] += 1
                by_account[opp["account"]][agent] += 1
                value[(opp["account"], agent)] += int(opp["close_value"] or 0)

        agents = tuple(
            _Agent(
                name=row["sales_agent"],
                manager=row["manager"],
                office=row["regional_office"],
                group=managers[row["manager"]][1],
                won=won[row["sales_agent"]],
                closed=closed[row["sales_agent"]],
                products=_most(products[row["sales_agent"]]),
                sectors=_most(sectors[row["sales_agent"]]),
            )
            for row in teams
        )
        owner = {
            account: min(agents_won, key=lambda a: (-agents_won[a], -value[(account, a)], a))
            for account, agents_won in by_account.items()
        }
        return cls(
            agents=agents,
            managers=managers,
            accounts=tuple(accounts),
            account_owner=owner,
            products={p["product"]: float(p["sales_price"]) for p in _table("crm", "products.csv")},
            product_share=dict(Counter(opp["product"] for opp in pipeline)),
            places=tuple(_table("places.csv")),
        )


def _engaged_before(opp: dict[str, str], day: date) -> bool:
    return bool(opp["engage_date"]) and date.fromisoformat(opp["engage_date"]) < day


def _most(counts: Counter[str]) -> tuple[str, ...]:
    return tuple(name for name, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def senior_agents(crm: _Crm) -> list[str]:
    """The agents with the best win rates among those with enough closed deals."""
    ranked = sorted(
        (a for a in crm.agents if a.closed >= SENIOR_MIN_CLOSED),
        key=lambda a: (-a.win_rate, a.name),
    )
    return [a.name for a in ranked[:SENIOR_COUNT]]


def _rep_rows(crm: _Crm) -> Iterable[dict[str, str]]:
    seniors = set(senior_agents(crm))
    regions: dict[str, list[str]] = defaultdict(list)
    for place in crm.places:
        region = f"{place['country']}-{place['state']}"
        if place["territory"] and region not in regions[place["territory"]]:
            regions[place["territory"]].append(region)
    for agent in crm.agents:
        team, lat, lon, tz, _ = OFFICES[agent.office]
        if agent.closed == 0:
            seniority, weight = "junior", 0.5
        else:
            seniority = "senior" if agent.name in seniors else "mid"
            weight = min(2.5, max(0.5, round(agent.closed / 100) / 2))
        skills = [f"product:{slug(p)}" for p in agent.products[:2]]
        skills += [f"industry:{slug(s)}" for s in agent.sectors[:2]]
        row = {
            "id": slug(agent.name),
            "name": agent.name,
            "email": _email(agent.name),
            "teams": team,
            "role": "rep",
            "timezone": tz,
            "working_hours": WORKING_HOURS,
            "weight": "" if weight == 1 else f"{weight:g}",
            "skills": ";".join(skills),
            "regions": ";".join(regions[agent.group]),
            "seniority": seniority,
            "office_lat": f"{lat}",
            "office_lon": f"{lon}",
            "active": "true",
        }
        yield row | REP_TWEAKS.get(agent.name, {})
    for manager, (office, _) in crm.managers.items():
        _, lat, lon, tz, _ = OFFICES[office]
        yield {
            "id": slug(manager),
            "name": manager,
            "email": _email(manager),
            "role": "manager",
            "timezone": tz,
            "working_hours": WORKING_HOURS,
            "seniority": "senior",
            "office_lat": f"{lat}",
            "office_lon": f"{lon}",
            "active": "true",
        }


def _email(name: str) -> str:
    first, _, last = name.partition(" ")
    return f"{slug(first)}.{slug(last)}@example.com"


def _team_rows(crm: _Crm) -> Iterable[dict[str, str]]:
    for office, (team, *_) in OFFICES.items():
        owner = next(m for m, (o, _) in crm.managers.items() if o == office)
        yield {"id": team, "name": f"{office} region", "owner": slug(owner)}


def _account_rows(crm: _Crm) -> Iterable[dict[str, str]]:
    for account in crm.accounts:
        name = account["account"]
        owner = crm.account_owner.get(name)
        yield {
            "id": slug(name),
            "name": name,
            "domain": f"{slug(name)}.com",
            "owner": slug(owner) if owner else "",
        }


def _lead_rows(crm: _Crm, rng: random.Random, count: int) -> list[dict[str, str]]:
    sectors = Counter(a["sector"] for a in crm.accounts)
    places: dict[str, list[dict[str, str]]] = defaultdict(list)
    for place in crm.places:
        places[place["country"]].append(place)
    drawn = [_lead(crm, rng, sectors, places) for _ in range(count)]
    drawn.sort(key=lambda item: item[0])  # by instant; ties keep the order drawn
    rows = [row for _, row in drawn]
    width = max(5, len(str(count)))
    for index, row in enumerate(rows):
        row["external_id"] = f"L-{index + 1:0{width}d}"
        if index >= 20 and rng.random() < 0.02:  # the same person writing in again
            earlier = rows[rng.randrange(index)]
            for key in _PERSON:
                row[key] = earlier[key]
    return rows


_PERSON = (
    "email", "phone", "first_name", "last_name", "company", "domain", "industry", "company_type",
    "employees", "country", "region", "state", "postal_code", "lat", "lon",
)  # fmt: skip


def _pick(rng: random.Random, weights: dict[K, int]) -> K:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _lead(
    crm: _Crm,
    rng: random.Random,
    sectors: Counter[str],
    places_by_country: dict[str, list[dict[str, str]]],
) -> tuple[float, dict[str, str]]:
    country = _pick(rng, COUNTRIES)
    places = places_by_country[country]
    place = rng.choices(places, weights=[int(p["weight"]) for p in places])[0]
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    row = dict.fromkeys((*LEAD_COLUMNS, "campaign"), "")
    row |= {"first_name": first, "last_name": last, "country": country, "region": REGION[country]}

    kind = _pick(rng, LEAD_KINDS)
    employees: int | None
    if kind == "account":
        account = rng.choice(crm.accounts)
        domain = f"{slug(account['account'])}.com"
        row |= {"company": account["account"], "industry": account["sector"]}
        row["domain"] = domain if rng.random() < 0.6 else ""
        row["email"] = f"{first}.{last}@{domain}".lower()
        employees = int(account["employees"])
    else:
        company = f"{rng.choice(COMPANY_WORDS[0])} {rng.choice(COMPANY_WORDS[1])}"
        industry = rng.choices(list(sectors), weights=list(sectors.values()))[0]
        employees = int(10 ** rng.uniform(0.7, 4.2))
        if kind == "company":
            row |= {"company": company, "domain": f"{slug(company)}.com", "industry": industry}
            row["email"] = f"{first}.{last}@{slug(company)}.com".lower()
        else:
            mailbox = f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(FREE_MAIL)}".lower()
            row["email"] = mailbox
            row["company"] = company if rng.random() < 0.5 else ""
            row["industry"] = industry if rng.random() < 0.5 else ""
            employees = employees if rng.random() < 0.4 else None
    if employees is not None:
        row["employees"] = str(employees)
        row["company_type"] = (
            "smb" if employees < 200 else "mid-market" if employees < 1000 else "enterprise"
        )

    if rng.random() < 0.8:
        row["phone"] = _phone(rng, place)
    if rng.random() < 0.01:  # phone only: the demo policy queues these for a manager
        row["email"], row["phone"] = "", row["phone"] or _phone(rng, place)
    no_state = country == "US" and rng.random() < 0.04
    row["state"] = "" if no_state else place["state"]
    if rng.random() < 0.7:
        row["postal_code"] = _postal(rng, place)
    if no_state or rng.random() < 0.4:
        row["lat"] = f"{float(place['lat']) + rng.uniform(-0.15, 0.15):.4f}"
        row["lon"] = f"{float(place['lon']) + rng.uniform(-0.15, 0.15):.4f}"

    product = rng.choices(list(crm.product_share), weights=list(crm.product_share.values()))[0]
    row["product"] = slug(product)
    if rng.random() < 0.92:
        quantity = rng.randint(1, 3) if product == "GTK 500" else _pick(rng, QUANTITIES)
        row["value"] = str(round(crm.products[product] * quantity * rng.uniform(0.85, 1.05)))
    source = _pick(rng, SOURCES)
    row["source"] = source
    row["campaign"] = _pick(rng, CAMPAIGNS[source]) if source in CAMPAIGNS else ""

    day = FIRST_DAY + timedelta(days=rng.randrange(BUSINESS_DAYS))
    off_hours = rng.random() < 0.15
    hour = rng.choice((6, 7, 18, 19, 20, 21, 22)) if off_hours else rng.randrange(8, 18)
    clock = time(hour, rng.randrange(60), rng.randrange(60))
    moment = datetime.combine(day, clock, tzinfo=ZoneInfo(place["timezone"]))
    row["received_at"] = moment.isoformat()
    return moment.timestamp(), row


def _phone(rng: random.Random, place: dict[str, str]) -> str:
    if place["country"] in ("US", "CA"):
        return f"+1 {place['phone']}-555-01{rng.randrange(100):02d}"
    if place["country"] == "GB":
        return f"+44 {place['phone']} 7946 0{rng.randrange(1000):03d}"
    return f"+49 {place['phone']} 5550 {rng.randrange(10000):04d}"


def _postal(rng: random.Random, place: dict[str, str]) -> str:
    prefix, country = place["postal"], place["country"]
    if country == "US":
        return f"{prefix}{rng.randrange(100):02d}"
    if country == "CA":
        return f"{prefix} {rng.randrange(10)}{rng.choice('ABCEGHJKLMNPRSTVXY')}{rng.randrange(10)}"
    if country == "GB":
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        return f"{prefix} {rng.randrange(10)}{rng.choice(letters)}{rng.choice(letters)}"
    return f"{prefix}{rng.randrange(100):02d}"


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


# --- the CRM history case: simulate a policy on the dataset's own opportunities ---------------

CRM_SPLIT = date(2017, 7, 1)  # learn the org from opportunities engaged before; replay from here
CRM_ZONE = "America/Chicago"  # the dataset has days only: leads arrive in a Central working day
CRM_DAY_START = time(9, 0)
CRM_DAY_MINUTES = 8 * 60
CRM_CLOSE_AT = time(17, 0)


@dataclass(frozen=True, slots=True)
class CrmCase:
    reps: Path
    teams: Path
    accounts: Path
    history: Path


def build_crm_case(out_dir: Path, *, split: date = CRM_SPLIT) -> CrmCase:
    """Write the CRM dataset as an org (learnt before ``split``) and a history (from ``split``).

    - sales agent -> rep (in their manager's team; regions: their regional office; weight,
      skills and seniority from their opportunities before ``split`` only); manager -> rep with
      role manager and owner of a team named for their territory group (``central-north``...);
    - account -> account, owned by the agent who won most of its deals before ``split``;
    - opportunity engaged on or after ``split`` -> lead: ``received_at`` is the engage date at a
      moment of a 09:00-17:00 Central day spread by the opportunity id (the data has no times;
      an opportunity with a close date but no engage date would arrive the median sales cycle
      before it closed — there are none), ``region`` the office that worked the account most
      before ``split`` (blank for new accounts and opportunities without one), ``value`` the
      product's list price (the deal's size is only known when it closes); ``owner`` the agent,
      ``outcome`` won/lost (blank while engaging), ``won_value`` the close value, ``closed_at``
      the close date at 17:00 Central. Prospecting opportunities have no date and are left out.
    """
    from leadrelay.files.history import HISTORY_COLUMNS

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    crm = _Crm.load(before=split)
    case = CrmCase(*(out_dir / name for name in ("reps.csv", "teams.csv", "accounts.csv",
                                                 "history.csv")))  # fmt: skip
    _write_csv(case.reps, REP_COLUMNS, _crm_rep_rows(crm))
    _write_csv(case.teams, TEAM_COLUMNS, _crm_team_rows(crm))
    _write_csv(case.accounts, ACCOUNT_COLUMNS, _account_rows(crm))
    _write_csv(case.history, (*LEAD_COLUMNS, *HISTORY_COLUMNS), _crm_history_rows(crm, split))
    return case


def _crm_rep_rows(crm: _Crm) -> Iterable[dict[str, str]]:
    seniors = set(senior_agents(crm))
    for agent in crm.agents:
        team, lat, lon, tz, _ = OFFICES[agent.office]
        if agent.closed == 0:
            seniority, weight = "junior", 0.5
        else:
            seniority = "senior" if agent.name in seniors else "mid"
            weight = min(2.5, max(0.5, round(agent.closed / 50) / 2))
        skills = [f"product:{slug(p)}" for p in agent.products[:2]]
        skills += [f"industry:{slug(s)}" for s in agent.sectors[:2]]
        yield {
            "id": slug(agent.name), "name": agent.name, "email": _email(agent.name),
            "teams": agent.group, "role": "rep", "timezone": tz,
            "weight": "" if weight == 1 else f"{weight:g}", "skills": ";".join(skills),
            "regions": team, "seniority": seniority, "office_lat": f"{lat}",
            "office_lon": f"{lon}", "active": "true",
        }  # fmt: skip
    for manager, (office, _) in crm.managers.items():
        _, lat, lon, tz, _ = OFFICES[office]
        yield {
            "id": slug(manager), "name": manager, "email": _email(manager), "role": "manager",
            "timezone": tz, "seniority": "senior", "office_lat": f"{lat}",
            "office_lon": f"{lon}", "active": "true",
        }  # fmt: skip


def _crm_team_rows(crm: _Crm) -> Iterable[dict[str, str]]:
    for manager, (office, group) in crm.managers.items():
        yield {"id": group, "name": f"{office} ({manager})", "owner": slug(manager)}


def _crm_history_rows(crm: _Crm, split: date) -> Iterable[dict[str, str]]:
    import hashlib
    import statistics

    pipeline = _table("crm", "sales_pipeline.csv")
    office_of = {a.name: OFFICES[a.office].team for a in crm.agents}
    sector = {a["account"]: a["sector"] for a in crm.accounts}
    worked: dict[str, Counter[str]] = defaultdict(Counter)
    cycles: list[int] = []
    for opp in pipeline:
        if _engaged_before(opp, split):
            if opp["account"]:
                worked[opp["account"]][office_of[opp["sales_agent"]]] += 1
            if opp["close_date"]:
                cycle = date.fromisoformat(opp["close_date"]) - date.fromisoformat(
                    opp["engage_date"]
                )
                cycles.append(cycle.days)
    typical = timedelta(days=round(statistics.median(cycles)) if cycles else 0)
    territory = {account: _most(offices)[0] for account, offices in worked.items()}
    zone = ZoneInfo(CRM_ZONE)
    rows = []
    for opp in pipeline:
        closed = date.fromisoformat(opp["close_date"]) if opp["close_date"] else None
        if opp["engage_date"]:
            engaged = date.fromisoformat(opp["engage_date"])
        elif closed is not None:
            engaged = closed - typical
        else:
            continue  # Prospecting: no moment to replay it at
        if engaged < split:
            continue
        digest = hashlib.sha256(opp["opportunity_id"].encode()).digest()
        minute = int.from_bytes(digest[:4], "big") % CRM_DAY_MINUTES
        arrival = datetime.combine(engaged, CRM_DAY_START, tzinfo=zone) + timedelta(minutes=minute)
        account, stage = opp["account"], opp["deal_stage"]
        row = dict.fromkeys((*LEAD_COLUMNS, "owner", "outcome", "won_value", "closed_at"), "")
        row |= {
            "external_id": opp["opportunity_id"], "company": account,
            "domain": f"{slug(account)}.com" if account else "",
            "industry": sector.get(account, ""), "region": territory.get(account, ""),
            "product": slug(opp["product"]), "value": f"{crm.products[opp['product']]:g}",
            "source": "crm", "received_at": arrival.isoformat(),
            "owner": slug(opp["sales_agent"]),
        }  # fmt: skip
        if stage in ("Won", "Lost") and closed is not None:
            row["outcome"] = stage.lower()
            row["closed_at"] = datetime.combine(closed, CRM_CLOSE_AT, tzinfo=zone).isoformat()
            if stage == "Won":
                row["won_value"] = opp["close_value"]
        rows.append((arrival, row))
    rows.sort(key=lambda item: item[0])
    return [row for _, row in rows]


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m leadrelay.demo_org OUT_DIR``: write the demo files with the defaults."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        raise SystemExit("usage: python -m leadrelay.demo_org OUT_DIR")
    files = build_demo(Path(args[0]))
    for path in (files.reps, files.teams, files.accounts, files.leads, files.policy):
        print(path)


if __name__ == "__main__":
    main()
