"""From a LinkedIn export to a routed lead: load relationships, route by social proximity,
read in the --out file whom to ask for an introduction."""

from __future__ import annotations

from pathlib import Path

from tests.cli.cli_support import load_org, ok, read_out, write_csv

POLICY = """\
routes:
  - {name: warm, to: {reps: [ana, bo, cy]}, strategy: social}
  - {name: rest, to: {reps: [ana, bo, cy]}, strategy: round_robin}
"""
HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
# Dana (an employee, not a rep) knows Jo at Acme; Bo knows Dana
DANA = HEADER + "Jo,Park,https://www.linkedin.com/in/jo-park,jo@acme.com,Acme Inc,VP,01 Dec 2025\n"
BO = (
    HEADER
    + "Dana,Whitfield,https://www.linkedin.com/in/dana-w,dana@our.co,Our Co,Ops,01 Jan 2025\n"
)
REPS = [
    "id,name,email,teams,role,timezone,working_hours,out_of_office,weight,max_per_day,"
    "max_per_week,max_per_month,skills,regions,seniority,office_lat,office_lon,active",
    *(f"{r},{r.title()},{r}@our.co,,rep,UTC,,,,,,,,,mid,,,true" for r in ("ana", "bo", "cy")),
]
LEADS = [
    "external_id,email,company,received_at",
    "warm-1,jo@acme.com,Acme Inc,2026-11-25T14:00:00+00:00",
    "cold-1,someone@initech.example,Initech,2026-11-25T14:01:00+00:00",
]


def test_a_linkedin_export_routes_a_lead_to_the_rep_who_can_get_an_introduction(
    tmp_path: Path, sqlite_url: str
) -> None:
    reps = tmp_path / "reps.csv"
    reps.write_text("\n".join(REPS) + "\n", encoding="utf-8")
    load_org(sqlite_url, reps)
    (tmp_path / "dana.csv").write_text(DANA, encoding="utf-8")
    (tmp_path / "bo.csv").write_text(BO, encoding="utf-8")
    ok("load", "relationships", tmp_path / "dana.csv", "--employee", "Dana Whitfield <dana@our.co>",
       db=sqlite_url)  # fmt: skip
    ok("load", "relationships", tmp_path / "bo.csv", "--employee", "bo", db=sqlite_url)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    leads = tmp_path / "leads.csv"
    write_csv(leads, [line.split(",") for line in LEADS])
    out = tmp_path / "out.csv"

    ok("route", leads, "--policy", policy, "--out", out, db=sqlite_url)

    rows = {row["external_id"]: row for row in read_out(out)}
    warm, cold = rows["warm-1"], rows["cold-1"]
    assert (warm["status"], warm["owner"], warm["route"]) == ("assigned", "bo", "warm")
    assert "Dana Whitfield (employee)" in warm["reason"]
    assert "introduction" in warm["reason"]
    assert (cold["route"], cold["strategy"]) == ("rest", "round_robin")
