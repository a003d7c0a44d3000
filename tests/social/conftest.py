"""A small company's relationships, as the files users export (written here, not copied).

Reps Ana, Bo and Cy; Dana is an employee who is not a rep. Dana's and Ana's Connections.csv
(with LinkedIn's "Notes:" preamble), and Bo's, which lists Jo Park by profile URL only.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from leadrelay.domain.rep import Rep
from leadrelay.files.relationships import read_relationships
from leadrelay.social import Edge

TODAY = date(2026, 1, 1)
REPS = [
    Rep("ana", "Ana Lopez", "ana@our.co"),
    Rep("bo", "Bo Chen", "bo@our.co"),
    Rep("cy", "Cy Diaz"),
]

PREAMBLE = (
    "Notes:\n"
    '"When exporting your connection data, you may notice that some of the email addresses are'
    " missing. You will only see email addresses for connections who have allowed their"
    ' connections to see or download their email address."\n'
    "\n"
)
HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"

DANA = (
    PREAMBLE
    + HEADER
    + (
        "Jo,Park,https://www.linkedin.com/in/jo-park,jo@acme.com,Acme Inc,VP Sales,01 Dec 2025\n"
        "Ana,Lopez,https://www.linkedin.com/in/ana-lopez,ana@our.co,Our Co,AE,15 Jun 2020\n"
        "Kim,Lee,https://www.linkedin.com/in/kim-lee,,Globex,CTO,\n"
    )
)
ANA = (
    PREAMBLE
    + HEADER
    + (
        "Sam,Ray,https://www.linkedin.com/in/sam-ray,sam@gmail.com,Initech,Buyer,01 Jan 2026\n"
        "Dana,Whitfield,https://www.linkedin.com/in/dana-w,dana@our.co,Our Co,Ops,01 Jan 2024\n"
    )
)
BO = HEADER + "Jo,Park,https://uk.linkedin.com/in/Jo-Park/,,Acme Inc,VP Sales,01 Jan 2016\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def connections(
    tmp_path: Path, text: str, employee: str, name: str = "Connections.csv"
) -> list[Edge]:
    path = write(tmp_path, name, text)
    return list(
        read_relationships(
            path, employee=employee, known_reps={r.id for r in REPS}, today=TODAY
        ).edges
    )


@pytest.fixture
def company_edges(tmp_path: Path) -> list[Edge]:
    """Every edge of the three exports."""
    return [
        *connections(tmp_path, DANA, "Dana Whitfield <dana@our.co>", "dana.csv"),
        *connections(tmp_path, ANA, "ana", "ana.csv"),
        *connections(tmp_path, BO, "bo", "bo.csv"),
    ]
