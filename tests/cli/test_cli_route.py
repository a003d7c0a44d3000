"""``leadrelay route``: the --out file contract, determinism, idempotency, dry runs, bad input.

The file contract is DESIGN.md "File formats": outside scripts read these exact columns and
statuses, and rely on exit status 2 leaving the database as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.cli_support import (
    OUT_HEADER,
    STATUSES,
    counts,
    dump,
    load_org,
    ok,
    plain,
    read_csv,
    read_out,
    run,
    words,
    write_csv,
)

from leadrelay.demo_org import DemoFiles

HELD = {"assigned", "team", "pool", "manual"}  # the statuses that get an assignment row


def _route(db: str, leads: Path, policy: Path, out: Path, *extra: str) -> str:
    """Route and return stdout (one line per table row, no colour)."""
    return plain(ok("route", leads, "--policy", policy, "--out", out, *extra, db=db).stdout)


def _org(demo: DemoFiles) -> tuple[set[str], dict[str, str]]:
    """The demo's rep ids, and its teams' owners by team id."""
    reps = {row[0] for row in read_csv(demo.reps)[1:]}
    teams = {row[0]: row[2] for row in read_csv(demo.teams)[1:]}
    return reps, teams


def test_route_writes_one_contract_row_per_lead_in_file_order(
    db_url: str, demo_files: DemoFiles, tmp_path: Path
) -> None:
    load_org(db_url, demo_files.reps, demo_files.teams, demo_files.accounts)
    out = tmp_path / "out.csv"

    stdout = _route(db_url, demo_files.leads, demo_files.policy, out)

    raw = out.read_bytes()
    assert raw.startswith(OUT_HEADER.encode() + b"\n")  # exact header, no BOM
    assert raw.endswith(b"\n")
    assert b"\r" not in raw
    rows = read_out(out)
    leads = read_csv(demo_files.leads)
    assert [row["external_id"] for row in rows] == [lead[0] for lead in leads[1:]]
    assert len(rows) == 200
    assert len(raw.splitlines()) == 201  # one physical line per row: reasons are one line

    reps, team_owner = _org(demo_files)
    for row in rows:
        where = f"{row['external_id']}: {row}"
        assert row["status"] in STATUSES, where
        assert row["lead_id"].isdigit(), where
        assert row["reason"].strip() == row["reason"] != "", where
        if row["status"] == "assigned":
            assert row["owner"] in reps, where
            assert row["route"] and row["strategy"], where
        if row["status"] == "team":
            assert row["owner"] == team_owner[row["team"]], where
        if row["status"] == "screened_out":
            assert row["owner"] == "", where
    assert len({row["lead_id"] for row in rows}) == 200
    statuses = {row["status"] for row in rows}
    assert {"assigned", "team", "pool", "manual", "screened_out"} <= statuses  # demo covers them

    assert f"wrote 200 rows to {out}" in words(stdout)
    assert "Routed: 200 leads" in words(stdout)
    tables = counts(db_url)
    assert tables["leads"] == tables["decisions"] == 200
    assert tables["assignments"] == sum(row["status"] in HELD for row in rows)

    # Same file, same database: nothing is routed twice, and the file says the same.
    before = dump(db_url)
    again = tmp_path / "again.csv"
    _route(db_url, demo_files.leads, demo_files.policy, again)
    assert again.read_bytes() == raw
    assert dump(db_url) == before


def test_same_inputs_on_fresh_databases_give_byte_identical_files(
    db_url: str, demo_files: DemoFiles, tmp_path: Path
) -> None:
    """Two fresh databases (the second always SQLite, so PostgreSQL is checked against it)."""
    files = []
    for n, url in enumerate([db_url, f"sqlite:///{tmp_path / 'second.db'}"]):
        load_org(url, demo_files.reps, demo_files.teams, demo_files.accounts)
        out = tmp_path / f"out{n}.csv"
        _route(url, demo_files.leads, demo_files.policy, out)
        files.append(out.read_bytes())
    assert files[0] == files[1]


def test_a_repeated_external_id_gets_the_first_rows_lead_and_owner(
    org_db: str, demo_files: DemoFiles, tmp_path: Path
) -> None:
    leads = read_csv(demo_files.leads)
    path = write_csv(tmp_path / "leads.csv", [*leads[:11], leads[3]])
    out = tmp_path / "out.csv"
    _route(org_db, path, demo_files.policy, out)
    rows = read_out(out)
    assert len(rows) == 11
    assert rows[-1] == rows[2]
    assert counts(org_db)["leads"] == 10


def test_dry_run_writes_nothing_but_decides_as_the_real_run(
    org_db: str, demo_files: DemoFiles, tmp_path: Path
) -> None:
    before = dump(org_db)
    dry = tmp_path / "dry.csv"
    dry_stdout = _route(org_db, demo_files.leads, demo_files.policy, dry, "--dry-run")
    assert dump(org_db) == before
    assert "dry run: nothing written" in words(dry_stdout)

    real = tmp_path / "real.csv"
    real_stdout = _route(org_db, demo_files.leads, demo_files.policy, real)

    dry_rows, real_rows = read_out(dry), read_out(real)
    assert {row["lead_id"] for row in dry_rows} == {""}  # nothing stored, so no ids
    assert [{**row, "lead_id": ""} for row in real_rows] == dry_rows
    # The same status counts are printed (the tables differ only in their titles).
    table = [line for line in dry_stdout.splitlines() if "│" in line]
    assert table
    assert table == [line for line in real_stdout.splitlines() if "│" in line]


def test_dry_run_without_out_prints_the_summary(org_db: str, demo_files: DemoFiles) -> None:
    before = dump(org_db)
    result = ok("route", demo_files.leads, "-p", demo_files.policy, "--dry-run", db=org_db)
    assert "Routed (dry run: nothing written): 200 leads" in words(result.stdout)
    assert dump(org_db) == before


# --- bad input: exit 2, located on stderr, database unchanged -----------------------------

SMALL_REPS = [
    ["id", "name", "teams", "timezone"],
    ["ana", "Ana", "ent", "UTC"],
    ["bo", "Bo", "ent", "UTC"],
]
SMALL_POLICY = """\
version: 1
fields:
  seats: integer
routes:
  - name: big
    when: 'seats != null and seats >= 10'
    to: {rep: ana}
    strategy: criteria
  - name: rest
    to: {reps: [ana, bo]}
    strategy: round_robin
"""
LEAD_HEADER = ["external_id", "email", "company", "employees", "received_at", "seats"]


@pytest.fixture
def small(sqlite_url: str, tmp_path: Path) -> tuple[str, Path]:
    """A database holding two reps, and a policy routing to them."""
    load_org(sqlite_url, write_csv(tmp_path / "reps.csv", SMALL_REPS))
    policy = tmp_path / "policy.yaml"
    policy.write_text(SMALL_POLICY, encoding="utf-8")
    return sqlite_url, policy


def _lead(ext: str, *, employees: str = "50", at: str = "2026-11-16T10:00:00Z") -> list[str]:
    return [ext, f"{ext.lower()}@example.com", "Acme", employees, at, "3"]


def _refused(db: str, *args: str | Path) -> str:
    """Run ``leadrelay ARGS``; it must exit 2 and leave the database as it was; its stderr."""
    before = dump(db)
    result = run(*args, db=db)
    assert result.exit_code == 2, f"{result.stdout}\n{result.stderr}"
    assert dump(db) == before
    return plain(result.stderr)


def test_a_bad_leads_file_exits_2_naming_rows_and_fields(
    small: tuple[str, Path], tmp_path: Path
) -> None:
    db, policy = small
    leads = write_csv(
        tmp_path / "leads.csv",
        [
            LEAD_HEADER,
            _lead("A1"),
            _lead("A2", at="2026-11-16T10:00:00"),  # row 3: no UTC offset
            _lead("A3"),
            _lead("A4", employees="many"),  # row 5
        ],
    )
    out = tmp_path / "out.csv"
    stderr = _refused(db, "route", leads, "--policy", policy, "--out", out)
    lines = stderr.splitlines()
    assert any(f"{leads} row 3: received_at:" in line for line in lines), stderr
    assert any(f"{leads} row 5: employees:" in line and "many" in line for line in lines), stderr
    assert not out.exists()
    assert counts(db)["leads"] == 0


def test_a_bad_custom_field_cell_names_the_file_and_its_row(
    small: tuple[str, Path], tmp_path: Path
) -> None:
    db, policy = small
    bad = _lead("A2")
    bad[-1] = "lots"  # the policy declares seats: integer
    path = tmp_path / "leads.csv"
    path.write_text(
        ",".join(LEAD_HEADER) + "\n" + ",".join(_lead("A1")) + "\n\n" + ",".join(bad) + "\n",
        encoding="utf-8",
    )  # the blank line makes the bad lead row 4 of the file, though it is the second lead
    stderr = _refused(db, "route", path, "--policy", policy)
    assert any(f"{path} row 4: seats:" in line for line in stderr.splitlines()), stderr


def test_a_policy_naming_an_unknown_rep_exits_2_and_routes_nothing(
    small: tuple[str, Path], tmp_path: Path
) -> None:
    db, policy = small
    policy.write_text(SMALL_POLICY.replace("[ana, bo]", "[ana, boo]"), encoding="utf-8")
    leads = write_csv(tmp_path / "leads.csv", [LEAD_HEADER, _lead("A1")])
    stderr = _refused(db, "route", leads, "--policy", policy)
    assert f"{policy}:10:" in stderr
    assert "unknown rep 'boo'" in stderr
    assert "did you mean 'bo'?" in stderr


def test_route_before_any_reps_are_loaded_exits_2(sqlite_url: str, tmp_path: Path) -> None:
    ok("init", db=sqlite_url)
    policy = tmp_path / "policy.yaml"
    policy.write_text(SMALL_POLICY, encoding="utf-8")
    leads = write_csv(tmp_path / "leads.csv", [LEAD_HEADER, _lead("A1")])
    stderr = _refused(sqlite_url, "route", leads, "--policy", policy)
    assert "load reps" in stderr


def test_map_reads_a_non_standard_header(small: tuple[str, Path], tmp_path: Path) -> None:
    db, policy = small
    leads = write_csv(
        tmp_path / "export.csv",
        [
            ["Lead Ref", "E-mail Address", "Arrived", "seats"],
            ["X-1", "x1@example.com", "2026-11-16T10:00:00Z", "12"],
            ["X-2", "x2@example.com", "2026-11-16T11:00:00Z", "1"],
        ],
    )
    out = tmp_path / "out.csv"
    _route(
        db, leads, policy, out,
        "--map", "external_id=Lead Ref",
        "--map", "email = e-mail address",
        "--map", "received_at=Arrived",
    )  # fmt: skip
    rows = read_out(out)
    assert [(r["external_id"], r["status"], r["route"]) for r in rows] == [
        ("X-1", "assigned", "big"),
        ("X-2", "assigned", "rest"),
    ]
    assert rows[0]["owner"] == "ana"
    assert counts(db)["leads"] == 2


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("external_id", "--map: --map 'external_id': write field=column"),
        ("=Lead Ref", "--map: --map '=Lead Ref': write field=column"),
        ("externalid=Lead Ref", "did you mean 'external_id'?"),
        ("external_id=Lead Reference", "the file has no column 'Lead Reference'"),
    ],
)
def test_a_malformed_map_exits_2(
    small: tuple[str, Path], tmp_path: Path, option: str, expected: str
) -> None:
    db, policy = small
    leads = write_csv(
        tmp_path / "export.csv",
        [["Lead Ref", "email", "received_at"], ["X-1", "x@example.com", "2026-11-16T10:00:00Z"]],
    )
    stderr = _refused(db, "route", leads, "--policy", policy, "--map", option)
    assert expected in stderr


def test_out_into_a_missing_folder_exits_2_before_routing(
    small: tuple[str, Path], tmp_path: Path
) -> None:
    db, policy = small
    leads = write_csv(tmp_path / "leads.csv", [LEAD_HEADER, _lead("A1")])
    missing = tmp_path / "no" / "such" / "out.csv"
    stderr = _refused(db, "route", leads, "--policy", policy, "--out", missing)
    assert "--out" in stderr
    assert str(missing.parent) in stderr
    assert not missing.parent.exists()
    assert counts(db)["leads"] == 0


def test_out_naming_a_folder_exits_2(small: tuple[str, Path], tmp_path: Path) -> None:
    db, policy = small
    leads = write_csv(tmp_path / "leads.csv", [LEAD_HEADER, _lead("A1")])
    stderr = _refused(db, "route", leads, "--policy", policy, "--out", tmp_path)
    assert "--out" in stderr


def test_route_without_policy_is_a_usage_error(small: tuple[str, Path], tmp_path: Path) -> None:
    db, _ = small
    leads = write_csv(tmp_path / "leads.csv", [LEAD_HEADER, _lead("A1")])
    result = run("route", leads, db=db)
    assert result.exit_code == 2
    assert "--policy" in plain(result.stderr)
