"""best_match ``decide`` with 200 reps and all 6 factors, beside round robin on the same reps.

A fixed-seed org: 200 reps in 5 teams with industry/product/language skills, regions,
seniorities and offices; performance from 20,000 given leads with outcomes; a relationship graph
of 20,000 edges (each rep knows ~60 contacts at 2,000 companies, colleagues know each other).
Leads carry an industry, product, country, coordinates and a company of the graph (half of
them). Printed: leads/s for best_match (expertise, seniority, performance, load, proximity,
social), for best_match without social (the graph query's share), and for round robin over the
same 200 reps (the baseline: eligibility and the trace alone).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bench.common import Result, median_seconds, say
from leadrelay.domain import Lead, Rep, Snapshot, Status
from leadrelay.domain.performance import GivenLead, Performance, segment_key
from leadrelay.domain.rep import Seniority
from leadrelay.pipeline.decide import decide
from leadrelay.policy import CompiledPolicy, load_policy_text
from leadrelay.social import Edge, SocialGraph, company_key, email_key, rep_key

SEED = 20261123
REPS, TEAMS = 200, 5
INDUSTRIES = ("airline", "bank", "retail", "health", "energy", "media", "telecom", "auto")
PRODUCTS = ("crm", "erp", "analytics", "security")
COUNTRIES = {"US": (39.8, -98.6), "DE": (51.2, 10.4), "GB": (54.0, -2.0), "FR": (46.6, 2.2)}
COMPANIES = 2_000
DEFAULT_LEADS = 5_000
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
WEIGHTS = (
    "{expertise: 0.3, seniority: 0.1, performance: 0.3, load: 0.1, proximity: 0.1, social: 0.1}"
)
POLICY = """\
screening:
  value_slabs: {{high: 50000, medium: 10000}}
routes:
  - name: all
    to: {{teams: [{teams}]}}
    strategy: {strategy}
"""


def _reps(rng: random.Random) -> list[Rep]:
    reps = []
    for i in range(REPS):
        country = rng.choice(list(COUNTRIES))
        lat, lon = COUNTRIES[country]
        skills = {f"industry:{rng.choice(INDUSTRIES)}" for _ in range(2)}
        skills |= {f"product:{rng.choice(PRODUCTS)}", f"language:{rng.choice(['en', 'de', 'fr'])}"}
        reps.append(
            Rep(
                id=f"r{i:03d}",
                name=f"Rep {i}",
                teams=(f"t{i % TEAMS}",),
                skills=frozenset(skills),
                regions=(country,),
                seniority=rng.choice(list(Seniority)),
                office_lat=lat + rng.uniform(-3, 3),
                office_lon=lon + rng.uniform(-3, 3),
                caps=None,
            )
        )
    return reps


def _performance(rng: random.Random, reps: list[Rep]) -> Performance:
    given = []
    for _ in range(20_000):
        rep = rng.choice(reps)
        industry = rng.choice(INDUSTRIES)
        skilled = f"industry:{industry}" in rep.skills
        outcome = rng.choices(["won", "lost", None], [0.3 + 0.2 * skilled, 0.5, 0.2])[0]
        given.append(
            GivenLead(rep.id, rep.teams, (segment_key("industry", industry),), outcome, 1000.0)
        )
    return Performance.from_given(given)


def _graph(rng: random.Random, reps: list[Rep]) -> SocialGraph:
    edges = []
    for c in range(COMPANIES):
        for k in range(3):
            person = email_key(f"p{c}.{k}@c{c}.com") or ""
            edges.append(Edge(person, company_key(f"Company {c}") or "", "works_at", 0.9))
    for rep in reps:
        for _ in range(60):
            c, k = rng.randrange(COMPANIES), rng.randrange(3)
            contact = email_key(f"p{c}.{k}@c{c}.com") or ""
            edges.append(Edge(rep_key(rep.id), contact, "knows", rng.uniform(0.3, 0.9)))
    for _ in range(2_000):
        a, b = rng.sample(reps, 2)
        edges.append(Edge(rep_key(a.id), rep_key(b.id), "knows", 0.8))
    return SocialGraph.build(edges, reps)


def _leads(rng: random.Random, n: int) -> list[Lead]:
    leads = []
    for i in range(n):
        country = rng.choice(list(COUNTRIES))
        lat, lon = COUNTRIES[country]
        c = rng.randrange(COMPANIES * 2)  # half at a company nobody knows
        leads.append(
            Lead(
                received_at=START + timedelta(seconds=i),
                external_id=f"L{i}",
                email=f"buyer{i}@c{c}.com",
                company=f"Company {c}",
                industry=rng.choice(INDUSTRIES),
                product=rng.choice(PRODUCTS),
                country=country,
                lat=lat + rng.uniform(-3, 3),
                lon=lon + rng.uniform(-3, 3),
                value=rng.choice((500.0, 20_000.0, 90_000.0)),
                attributes={"language": rng.choice(("en", "de", "fr"))},
            )
        )
    return leads


def run(n_leads: int | None = None, repeat: int = 3) -> list[Result]:
    n = n_leads or DEFAULT_LEADS
    rng = random.Random(SEED)
    reps = _reps(rng)
    performance, graph, leads = _performance(rng, reps), _graph(rng, reps), _leads(rng, n)
    say(f"smart: {REPS} reps, {graph.edge_count:,} graph edges, {n:,} leads")
    teams = ", ".join(f"t{i}" for i in range(TEAMS))
    strategies = {
        "best_match, 6 factors": f"{{name: best_match, weights: {WEIGHTS}}}",
        "best_match, 5 (no social)": "{name: best_match, weights: {expertise: 0.3, seniority: 0.1,"
        " performance: 0.3, load: 0.1, proximity: 0.1}}",
        "round_robin (baseline)": "round_robin",
    }
    rates: dict[str, float] = {}
    for label, strategy in strategies.items():
        policy = load_policy_text(POLICY.format(teams=teams, strategy=strategy))

        def route(policy: CompiledPolicy = policy) -> None:
            snap = Snapshot(now=START, reps={r.id: r for r in reps})
            snap.performance, snap.social = performance, graph
            for lead in leads:
                snap.now = lead.received_at
                decision = decide(lead, snap, policy)
                if decision.status is Status.ASSIGNED:
                    snap.record(decision.ledger_route, decision.owner, lead.received_at)

        timing = median_seconds(route, repeat)
        rates[label] = n / timing.seconds
        say(f"  {label}: {rates[label]:,.0f} leads/s ({timing.describe()})")
    baseline = rates["round_robin (baseline)"]
    return [
        Result(f"smart: {label}", rate, "leads/s", baseline, "round robin, 200 reps")
        for label, rate in rates.items()
        if label != "round_robin (baseline)"
    ]
