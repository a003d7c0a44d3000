"""Fuzzy lead-to-account matching by company name at 100,000 and 1,000,000 accounts.

Account names are synthetic but shaped like a CRM's (``company_names``, fixed seed): invented
brands ("Norvexa Logistics Ltd"), surnames ("Müller & Haas LLP"), places ("Bristol Dental Group
Limited"), "The ... Company", with legal forms in every spelling ("S.A.", "L.L.C.", "Pty Ltd"),
accents and duplicates. The 2,000 leads (``lead_names``) are 40% exact (an account's name
re-spelt: case, another legal form, a leading "The"), 40% typo'd (one random edit in one word,
and a second edit in another word for one in five) and 20% absent (brands from syllables no
account uses).

Per size it prints the build time, the index's own memory (``AccountIndex.memory_bytes``) and
the growth of the process's peak RSS during the build, then ms per lead (mean, p50, p99) for the
2,000 leads, beside brute force: ``process.extractOne`` with the same scorer and cutoff over
every name, for 100 typo'd leads (the baseline). Recall on the typo'd leads is given two ways:
the share matched to the account they were made from (a typo in a short name can fall below the
threshold: that is the scorer), and the share where the index gets brute force's best score, or
like it no match: what blocking loses.
"""

from __future__ import annotations

import random
import resource
import statistics
import sys
import time
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bench.common import Result, rate, say
from leadrelay.domain.company import LEGAL_FORMS as LEGAL
from leadrelay.domain.company import company_tokens
from leadrelay.domain.org import Account
from leadrelay.pipeline.account_index import AccountIndex

TARGET_MS = 5.0  # per lead at 1,000,000 accounts
THRESHOLD = 85.0
SIZES = (100_000, 1_000_000)
DEFAULT_LEADS = 2_000
BRUTE_LEADS = 100  # typo'd leads also matched by brute force over every name, per size
SEED = 20261124


def _words(text: str) -> list[str]:
    return text.split()


_SYLLABLES = _words(
    "ac ad al am an ar as av ax be bel bri ca cel cor cy da del dex di do dra el en er ex fa "
    "fer fi flo ga gen gra ha hel in ion is ka kor la lex li lo lu ma mar med mi mo na nex no "
    "nor nu o on or pa pel pi pro ra rex ri ro sa sel si so sta su ta tec ter ti tra tro va vel "
    "ven vi vo xa ya za zen zo"
)
_ABSENT_SYLLABLES = _words("qu yx jub wub ggo zzy ph oot kk uhl vrd yb")
_SURNAMES = _words(
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin "
    "Jackson Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill "
    "Green Adams Baker Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans "
    "Edwards Collins Stewart Morris Murphy Cook Rogers Morgan Cooper Peterson Reed Bailey Kelly "
    "Howard Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schäfer Koch "
    "Richter Klein Wolf Schröder Neumann Dubois Lefèvre Moreau Girard Bonnet Rousseau Mercier "
    "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Núñez Rossi Russo "
    "Ferrari Esposito Bianchi Romano Colombo Ricci Nielsen Jensen Hansen Pedersen Søndergaard "
    "Andersson Johansson Karlsson Nilsson Lindström Ångström Kowalski Nowak Wiśniewski Dąbrowski "
    "Novák Dvořák Tanaka Suzuki Takahashi Watanabe Patel Shah Singh Kumar Sharma Gupta Haas"
)
_PLACES = _words(
    "London Bristol Leeds Glasgow Dublin Paris Lyon Marseille Berlin Hamburg München Köln "
    "Zürich Genève Wien Madrid Málaga Sevilla Barcelona Lisboa Porto Milano Torino Roma Napoli "
    "Amsterdam Rotterdam Antwerp Brussels Kraków Praha Oslo Bergen København Aarhus Stockholm "
    "Göteborg Helsinki Tampere Boston Chicago Denver Austin Seattle Portland Atlanta Dallas "
    "Phoenix Toronto Montréal Vancouver Sydney Melbourne Auckland Singapore Mumbai Pune "
    "Bangalore Tokyo Osaka São-Paulo Bogotá Santiago Lima Pacific Atlantic Northern Southern "
    "Eastern Western Central Midland Highland Coastal Metro Capital Summit Harbor Valley"
)
_INDUSTRY = _words(
    "Logistics Software Dental Legal Medical Health Pharma Bio Energy Solar Wind Power Foods "
    "Bakery Brewing Coffee Textiles Fashion Apparel Steel Metals Mining Plastics Chemicals "
    "Paper Print Media Marketing Advertising Design Architecture Engineering Construction "
    "Building Roofing Plumbing Electric Electronics Semiconductors Robotics Automation Machines "
    "Tools Motors Automotive Aviation Aerospace Marine Shipping Freight Transport Travel Hotels "
    "Hospitality Restaurants Catering Insurance Capital Finance Banking Payments Accounting "
    "Consulting Staffing Recruiting Training Education Learning Security Defense Telecom "
    "Networks Cloud Data Analytics Labs Research Diagnostics Care Veterinary Farms Agri Water "
    "Waste Recycling Properties Realty Homes Furniture Interiors Lighting Sports Fitness Games "
    "Studios Music Films Publishing"
)
_GENERIC = _words(
    "Solutions Systems Services Technologies Group Holdings Partners International Global "
    "Associates Enterprises Industries Ventures Works Trading Supply Consultants Agency "
    "Network Digital Direct Worldwide Brothers Sons"
)
_ADJECTIVES = _words(
    "Blue Red Green Golden Silver Bright Clear Swift Noble Royal Grand Little Big Happy Modern "
    "Classic Urban Rural Open Smart True Prime First Next Great"
)
_NOUNS = _words(
    "Oak Pine River Stone Bridge Lantern Anchor Compass Harbour Meadow Falcon Eagle Fox Bear "
    "Lion Wolf Orchard Garden Mill Forge Tower Crown Arrow Beacon Horizon Spoon Kettle Needle"
)
_LEGAL = (
    *([""] * 12),
    *_words("Inc. Inc LLC L.L.C. Ltd Ltd. Limited Corp. Corp Corporation Co. PLC GmbH AG S.A. SA"),
    *_words("SARL SAS B.V. BV N.V. Oy AB A/S S.p.A. S.r.l. K.K. LLP"),
    *("Pty Ltd", "Pte. Ltd.", "Pvt. Ltd.", "Private Limited", "GmbH & Co. KG"),
)


def _brand(rng: random.Random, syllables: list[str]) -> str:
    return "".join(rng.choice(syllables) for _ in range(rng.choice((2, 2, 3, 3, 4)))).title()


def _with_legal(rng: random.Random, base: str) -> str:
    legal = rng.choice(_LEGAL)
    name = f"{base}, {legal}" if legal and rng.random() < 0.3 else f"{base} {legal}".strip()
    return name.upper() if rng.random() < 0.05 else name


def _company(rng: random.Random) -> str:
    brand = _brand(rng, _SYLLABLES)
    shape = rng.random()
    if shape < 0.35:
        base = f"{brand} {rng.choice(_INDUSTRY)}"
    elif shape < 0.50:
        base = brand
    elif shape < 0.60:
        base = f"{rng.choice(_SURNAMES)} & {rng.choice(_SURNAMES)}"
    elif shape < 0.75:
        base = f"{rng.choice(_PLACES)} {rng.choice(_INDUSTRY)} {rng.choice(_GENERIC)}"
    elif shape < 0.80:
        return f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} Company"
    elif shape < 0.95:
        base = f"{brand} {rng.choice(_GENERIC)}"
    else:
        base = f"{rng.choice(_SURNAMES)} {rng.choice(_INDUSTRY)}"
    return _with_legal(rng, base)


def _absent(rng: random.Random) -> str:
    brand = _brand(rng, _ABSENT_SYLLABLES)
    tail = rng.choice(("", "", rng.choice(_INDUSTRY), rng.choice(_GENERIC)))
    return _with_legal(rng, f"{brand} {tail}".strip())


def company_names(n: int, seed: int = SEED) -> list[str]:
    rng = random.Random(seed)
    return [_company(rng) for _ in range(n)]


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(len(word))
    kind = rng.choice(("replace", "delete", "insert", "swap"))
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if kind == "replace":
        return word[:i] + letter + word[i + 1 :]
    if kind == "delete":
        return word[:i] + word[i + 1 :]
    if kind == "insert":
        return word[:i] + letter + word[i:]
    i = min(i, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


@dataclass(frozen=True)
class LeadName:
    kind: str  # exact, typo or absent
    company: str
    source: str | None  # the account name it was made from


def lead_names(names: list[str], n: int, seed: int = SEED + 1) -> list[LeadName]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        roll = rng.random()
        source = rng.choice(names)
        words = source.split()
        if roll < 0.4:
            if rng.random() < 0.5 and words[-1] != "Company":
                words.append(rng.choice(("Inc", "Ltd.", "GmbH", "S.A.")))
            text = " ".join(words)
            the = text if text.startswith("The ") else f"The {text}"
            text = rng.choice((text, text.lower(), text.upper(), the))
            out.append(LeadName("exact", text, source))
        elif roll < 0.8:
            long_words = [
                i for i, w in enumerate(words) if len(w) >= 4 and not LEGAL & set(company_tokens(w))
            ]
            for i in rng.sample(long_words, min(len(long_words), 2 if rng.random() < 0.2 else 1)):
                words[i] = _typo(rng, words[i])
            out.append(LeadName("typo", " ".join(words), source))
        else:
            out.append(LeadName("absent", _absent(rng), None))
    return out


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _key(name: str | None) -> str:
    return " ".join(sorted(company_tokens(name or "")))


def _brute(query: str, keys: list[str]) -> float | None:
    """The best score over every name (scorer and cutoff as the index's), by brute force."""
    best = process.extractOne(
        query, keys, scorer=fuzz.ratio, processor=None, score_cutoff=THRESHOLD
    )
    return None if best is None else best[1]


def _time_matches(
    index: AccountIndex, companies: list[str], repeat: int
) -> tuple[list[float], float]:
    """Per lead, the median ms of ``repeat`` passes; and the share of wall time on the CPU."""
    for company in companies[:200]:  # warm-up, untimed
        index.match(company, THRESHOLD)
    runs: list[list[float]] = [[] for _ in companies]
    wall = cpu = 0.0
    for _ in range(repeat):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for i, company in enumerate(companies):
            start = time.perf_counter()
            index.match(company, THRESHOLD)
            runs[i].append((time.perf_counter() - start) * 1e3)
        wall += time.perf_counter() - wall_start
        cpu += time.process_time() - cpu_start
    return [statistics.median(r) for r in runs], cpu / wall if wall else 1.0


def _size(n_accounts: int, n_leads: int, repeat: int) -> list[Result]:
    label = f"{n_accounts:,}" if n_accounts < 1_000_000 else f"{n_accounts // 1_000_000}M"
    start = time.perf_counter()
    names = company_names(n_accounts)
    accounts = [Account(id=f"acc-{i:07d}", name=name) for i, name in enumerate(names)]
    leads = lead_names(names, n_leads)
    say(f"  {n_accounts:,} accounts: names and leads made in {time.perf_counter() - start:.1f} s")

    rss_before = _peak_rss_mib()
    start = time.perf_counter()
    index = AccountIndex(accounts)
    build = time.perf_counter() - start
    say(
        f"    build {build:.1f} s ({rate(n_accounts, build):,.0f} accounts/s): {len(index):,}"
        f" distinct names, index {index.memory_bytes() / 2**20:,.0f} MiB (peak RSS"
        f" +{_peak_rss_mib() - rss_before:,.0f} MiB during the build; Account objects not"
        " counted)"
    )

    companies = [lead.company for lead in leads]
    per_lead, cpu_share = _time_matches(index, companies, repeat)
    mean, cuts = statistics.fmean(per_lead), statistics.quantiles(per_lead, n=100)
    busy = (
        f"; [yellow]process had the CPU {cpu_share:.0%} of the time[/]" if cpu_share < 0.9 else ""
    )
    say(
        f"    match at threshold {THRESHOLD:.0f}: {mean:.2f} ms/lead mean, p50 {cuts[49]:.2f},"
        f" p99 {cuts[98]:.2f}, max {max(per_lead):.2f} (per lead, median of {repeat}"
        f" passes{busy})"
    )
    matches = [index.match(company, THRESHOLD) for company in companies]
    for kind in ("exact", "typo", "absent"):
        pairs = [(lead, m) for lead, m in zip(leads, matches, strict=True) if lead.kind == kind]
        found = sum(m is not None for _, m in pairs)
        own = sum(m is not None and _key(m.matched_name) == _key(lead.source) for lead, m in pairs)
        say(
            f"    {kind}: {len(pairs):,} leads, {found / len(pairs):.1%} matched,"
            f" {own / len(pairs):.1%} to the account they were made from"
        )

    # Brute force over every name: the timing baseline, and the truth for recall.
    all_keys = [k for k in {_key(name) for name in names} if k]
    checked = agree = 0
    brute_s = 0.0
    for lead, m in zip(leads, matches, strict=True):
        if lead.kind != "typo" or checked == BRUTE_LEADS:
            continue
        start = time.perf_counter()
        truth = _brute(_key(lead.company), all_keys)
        brute_s += time.perf_counter() - start
        checked += 1
        agree += truth == (None if m is None else m.score)
    brute = brute_s * 1e3 / checked
    say(
        f"    brute force over all {len(all_keys):,} names: {brute:.1f} ms/lead; recall against"
        f" it on {checked} typo'd leads: {agree / checked:.0%} get its best score (or, like it,"
        " no match)"
    )
    at_target = n_accounts >= 1_000_000
    return [
        Result(f"accounts build ({label})", build, "s"),
        Result(
            f"accounts match ({label})",
            mean,
            "ms/lead",
            baseline=brute,
            baseline_name="brute force",
            target=f"< {TARGET_MS:.0f} at 1M" if at_target else "",
            met=mean < TARGET_MS if at_target else None,
        ),
        Result(f"accounts match p99 ({label})", cuts[98], "ms/lead"),
    ]


def run(n_leads: int | None = None, repeat: int = 3) -> list[Result]:
    n = n_leads or DEFAULT_LEADS
    say(
        f"[bold]accounts[/]: fuzzy company-name matching, {n:,} leads against"
        f" {' and '.join(f'{s:,}' for s in SIZES)} accounts (threshold {THRESHOLD:.0f})"
    )
    results = []
    for size in SIZES:
        results.extend(_size(size, n, repeat))
    return results
