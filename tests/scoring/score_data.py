"""Outcome files for the scoring tests: seeded synthetic leads whose outcome depends on known
fields, and a Salesforce-style lead export with missing values."""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Sequence
from pathlib import Path

INDUSTRIES = ("saas", "retail", "airline", "bank", "mining")
SOURCES = ("referral", "web", "event", "cold")


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    return path


def true_logit(industry: str, source: str, employees: int | None) -> float:
    """The outcome's real dependence: referral and SaaS help, size helps, mining hurts."""
    logit = -1.0 + (3.0 if source == "referral" else 0.0) + (2.0 if industry == "saas" else 0.0)
    logit -= 2.0 if industry == "mining" else 0.0
    if employees is not None:
        logit += 1.0 * (math.log10(employees + 1) - 2.5)
    return logit


def synthetic_rows(count: int, seed: int = 3) -> list[list[object]]:
    rng = random.Random(seed)
    rows: list[list[object]] = []
    for i in range(count):
        industry, source = rng.choice(INDUSTRIES), rng.choice(SOURCES)
        employees = None if rng.random() < 0.15 else int(10 ** rng.uniform(0.5, 4.5))
        won = rng.random() < 1 / (1 + math.exp(-true_logit(industry, source, employees)))
        rows.append(
            [
                f"L{i:05d}",
                f"person{i}@example{i % 97}.com",
                industry,
                employees,
                source,
                f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00+00:00",
                # a column filled in after the outcome: it must be recognised and left out
                rng.randint(1_000, 90_000) if won else 0,
                "yes" if won else "no",
            ]
        )
    return rows


SYNTHETIC_HEADER = (
    "external_id", "email", "industry", "employees", "source", "received_at", "won_value", "won",
)  # fmt: skip


def synthetic_csv(path: Path, count: int = 800, seed: int = 3) -> Path:
    return write_csv(path, SYNTHETIC_HEADER, synthetic_rows(count, seed))


SALESFORCE_HEADER = (
    "Id", "FirstName", "LastName", "Company", "Email", "LeadSource", "Industry",
    "NumberOfEmployees", "AnnualRevenue", "Country", "CreatedDate", "IsConverted",
)  # fmt: skip


def salesforce_rows(count: int, seed: int = 5) -> list[list[object]]:
    rng = random.Random(seed)
    rows: list[list[object]] = []
    for i in range(count):
        industry = rng.choice(("Technology", "Retail", "Banking", "Energy", ""))
        source = rng.choice(("Web", "Partner Referral", "Trade Show", "Phone Inquiry"))
        employees: object = rng.choice((None, "n/a", rng.randint(5, 20_000)))
        revenue = rng.choice(("", f"{rng.randint(1, 900) * 100_000:,}"))
        referral = 1.8 if source == "Partner Referral" else 0.0
        logit = -0.5 + referral + (0.9 if industry == "Technology" else 0.0)
        converted = rng.random() < 1 / (1 + math.exp(-logit))
        rows.append(
            [
                f"00Q{i:012d}",
                rng.choice(("Ana", "Bo", "Chen", "Dee")),
                f"Last{i}",
                f"Company {i}",
                f"lead{i}@company{i}.com",
                source,
                industry,
                employees,
                revenue,
                rng.choice(("United States", "Germany", "")),
                f"2026-03-{1 + i % 28:02d}T09:00:00.000+0000",
                "true" if converted else "false",
            ]
        )
    return rows


def salesforce_csv(path: Path, count: int = 400, seed: int = 5) -> Path:
    return write_csv(path, SALESFORCE_HEADER, salesforce_rows(count, seed))
