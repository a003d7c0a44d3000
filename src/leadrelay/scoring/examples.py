"""A real outcomes file to try ``leadrelay score train`` on, derived from the bundled CRM data.

``data/crm`` (see its SOURCE.md) holds 8,800 opportunities, 6,711 of them closed won or lost,
and the 85 accounts they were sold to. Each closed opportunity becomes one historical lead: what
was known when it came in (the account's sector, size, revenue, country, age and parent; the
product asked about; the engage date) and whether it was won. What was only known later (close
date, close value) and who worked it (the agent) are left out.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

COLUMNS = (
    "external_id", "company", "industry", "employees", "annual_revenue", "country",
    "year_established", "subsidiary_of", "product", "received_at", "won",
)  # fmt: skip
# the published files' spelling slips (SOURCE.md "Known mess")
_FIXES = {"technolgy": "technology", "Philipines": "Philippines", "GTXPro": "GTX Pro"}


def crm_outcomes(path: str | Path) -> int:
    """Write the closed CRM opportunities as an outcomes CSV at ``path``; returns the rows."""
    accounts = {row["account"]: row for row in _rows("accounts.csv")}
    count = 0
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for deal in _rows("sales_pipeline.csv"):
            if deal["deal_stage"] not in ("Won", "Lost"):
                continue
            account = accounts.get(deal["account"], {})
            writer.writerow(
                [
                    deal["opportunity_id"],
                    deal["account"],
                    _fix(account.get("sector", "")),
                    account.get("employees", ""),
                    account.get("revenue", ""),
                    _fix(account.get("office_location", "")),
                    account.get("year_established", ""),
                    account.get("subsidiary_of", ""),
                    _fix(deal["product"]),
                    deal["engage_date"],
                    "won" if deal["deal_stage"] == "Won" else "lost",
                ]
            )
            count += 1
    return count


def _fix(text: str) -> str:
    return _FIXES.get(text, text)


def _rows(name: str) -> Iterator[dict[str, str]]:
    text = resources.files("leadrelay").joinpath("data", "crm", name).read_text(encoding="utf-8")
    yield from csv.DictReader(text.splitlines())
