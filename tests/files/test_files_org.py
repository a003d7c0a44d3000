"""Reading reps, teams and accounts: defaults, validation, problems located by row and column."""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path

import pytest

from leadrelay.domain import Caps, DateRange, Role, Seniority
from leadrelay.errors import InputFileError, Problem
from leadrelay.files import (
    ACCOUNT_COLUMNS,
    REP_COLUMNS,
    TEAM_COLUMNS,
    read_accounts,
    read_reps,
    read_teams,
)

FULL_REP = {
    "id": "ana",
    "name": "Ana Lima",
    "email": "ana@example.com",
    "teams": "emea; sdr",
    "role": "manager",
    "timezone": "Europe/Berlin",
    "working_hours": "mon-fri 09:00-17:00",
    "out_of_office": "2026-12-01..2026-12-05;2026-12-24",
    "weight": "2.5",
    "max_per_day": "5",
    "max_per_week": "",
    "max_per_month": "80",
    "skills": "Industry:Airline;product:crm",
    "regions": "DE;postal:10",
    "seniority": "senior",
    "office_lat": "52.52",
    "office_lon": "13.405",
    "active": "no",
}


def write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def csv_text(header: list[str] | tuple[str, ...], *rows: list[str]) -> str:
    return "\n".join(",".join(cells) for cells in (header, *rows)) + "\n"


def problems_of(exc: pytest.ExceptionInfo[InputFileError]) -> list[tuple[int | None, str | None]]:
    return [(p.row, p.field) for p in exc.value.problems]


def test_columns_are_the_design_contract() -> None:
    assert ",".join(REP_COLUMNS) == (
        "id,name,email,teams,role,timezone,working_hours,out_of_office,weight,max_per_day,"
        "max_per_week,max_per_month,skills,regions,seniority,office_lat,office_lon,active"
    )
    assert ",".join(TEAM_COLUMNS) == "id,name,owner"
    assert ",".join(ACCOUNT_COLUMNS) == "id,name,domain,owner"


def test_read_reps_parses_every_column(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", csv_text(list(FULL_REP), list(FULL_REP.values())))
    [rep] = read_reps(path)
    assert rep.id == "ana" and rep.name == "Ana Lima" and rep.email == "ana@example.com"
    assert rep.teams == ("emea", "sdr")
    assert rep.role is Role.MANAGER
    assert rep.timezone == "Europe/Berlin"
    assert rep.working_hours.windows[0] == (0, time(9), time(17))
    assert rep.out_of_office == (
        DateRange(date(2026, 12, 1), date(2026, 12, 5)),
        DateRange(date(2026, 12, 24), date(2026, 12, 24)),
    )
    assert rep.weight == 2.5
    assert rep.caps == Caps(per_day=5, per_week=None, per_month=80)
    assert rep.skills == frozenset({"industry:airline", "product:crm"})
    assert rep.regions == ("DE", "postal:10")
    assert rep.seniority is Seniority.SENIOR
    assert (rep.office_lat, rep.office_lon) == (52.52, 13.405)
    assert rep.active is False


def test_blank_rep_cells_take_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", csv_text(REP_COLUMNS, ["bo"] + [""] * 17))
    [rep] = read_reps(path)
    assert rep.role is Role.REP and rep.seniority is Seniority.MID
    assert rep.timezone == "UTC" and rep.working_hours.windows == ()
    assert rep.weight == 1.0 and rep.caps is None and rep.active is True
    assert rep.teams == () and rep.skills == frozenset() and rep.out_of_office == ()


def test_only_the_id_column_is_required(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", "id,name\nbo,Bo\n")
    assert [r.id for r in read_reps(path)] == ["bo"]


@pytest.mark.parametrize(
    ("column", "value", "needle"),
    [
        ("timezone", "Europe/Berln", "unknown time zone"),
        ("working_hours", "weekdays 9-5", "working hours"),
        ("out_of_office", "2026-12-05..2026-12-01", "ends before"),
        ("out_of_office", "next week", "2026-12-01..2026-12-05"),
        ("weight", "heavy", "not a number"),
        ("weight", "0", "more than 0"),
        ("max_per_day", "2.5", "whole number"),
        ("max_per_week", "-1", "negative"),
        ("active", "maybe", "not true or false"),
        ("role", "admin", "not one of rep, manager"),
        ("seniority", "principal", "not one of junior, mid, senior"),
        ("office_lat", "91", "outside -90..90"),
        ("office_lon", "-181", "outside -180..180"),
        ("email", "ana.example.com", "not an email"),
        ("id", "a;b", "contains ';'"),
    ],
)
def test_bad_rep_cell_names_row_and_column(
    tmp_path: Path, column: str, value: str, needle: str
) -> None:
    good = {**FULL_REP, "id": "ok"}
    bad = {**FULL_REP, "id": "bad", column: value}
    path = write(
        tmp_path / "reps.csv",
        csv_text(list(FULL_REP), list(good.values()), list(bad.values())),
    )
    with pytest.raises(InputFileError) as exc:
        read_reps(path)
    [problem] = exc.value.problems
    assert (problem.source, problem.row, problem.field) == (str(path), 3, column)
    assert needle in problem.message


def test_misspelt_time_zone_and_role_suggest_the_right_name(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", "id,timezone,role\nana,Europe/Berln,manger\n")
    with pytest.raises(InputFileError) as exc:
        read_reps(path)
    assert {p.field: p.suggestion for p in exc.value.problems} == {
        "timezone": "Europe/Berlin",
        "role": "manager",
    }


def test_every_problem_in_the_file_is_reported_at_once(tmp_path: Path) -> None:
    text = csv_text(
        ["id", "weight", "max_per_dya", "active"],
        ["ana", "x", "3", "true"],
        ["", "1", "", "true"],
        ["bo", "1", "", "perhaps"],
        ["ana", "1", "", "true"],
    )
    path = write(tmp_path / "reps.csv", text)
    with pytest.raises(InputFileError) as exc:
        read_reps(path)
    assert problems_of(exc) == [
        (1, "max_per_dya"),
        (2, "weight"),
        (3, "id"),
        (4, "active"),
        (5, "id"),
    ]
    assert exc.value.problems[0].suggestion == "max_per_day"
    assert "already used in row 2" in exc.value.problems[-1].message


def test_error_message_reads_file_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", "id,weight\nana,heavy\n")
    with pytest.raises(InputFileError) as exc:
        read_reps(path)
    assert str(exc.value) == f"{path} row 2: weight: 'heavy' is not a number"


def test_missing_id_column_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", "name,email\nAna,ana@example.com\n")
    with pytest.raises(InputFileError) as exc:
        read_reps(path)
    assert problems_of(exc) == [(1, "id")]
    assert exc.value.problems[0].message == "missing column 'id'"


def test_header_names_ignore_case_and_spaces(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", " ID , Weight \nana,2\n")
    [rep] = read_reps(path)
    assert (rep.id, rep.weight) == ("ana", 2.0)


def test_repeated_column_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", "id,name,name\nana,A,B\n")
    with pytest.raises(InputFileError) as exc:
        read_reps(path)
    assert problems_of(exc) == [(1, "name")]


def test_office_needs_both_coordinates(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", "id,office_lat,office_lon\nana,52.5,\n")
    with pytest.raises(InputFileError) as exc:
        read_reps(path)
    assert problems_of(exc) == [(2, "office_lon")]


def test_row_with_more_cells_than_the_header_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", "id,name\nana,Ana,surprise\nbo,Bo,,\n")
    with pytest.raises(InputFileError) as exc:
        read_reps(path)
    assert problems_of(exc) == [(2, None)]


def test_blank_rows_are_skipped_but_still_counted(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", "id,weight\nana,1\n\n,\nbo,x\n")
    with pytest.raises(InputFileError) as exc:
        read_reps(path)
    assert problems_of(exc) == [(5, "weight")]


def test_byte_order_mark_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", "id,name\r\nana,Ana\r\n", bom=True)
    assert [(r.id, r.name) for r in read_reps(path)] == [("ana", "Ana")]


def test_quoted_cells_may_hold_commas_and_newlines(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", 'id,name,weight\nana,"Lima, Ana\nJr.",1\nbo,Bo,x\n')
    with pytest.raises(InputFileError) as exc:
        read_reps(path)
    assert problems_of(exc) == [(3, "weight")]  # the two-line cell is still one row


def test_semicolon_separated_file_gets_a_clear_message(tmp_path: Path) -> None:
    path = write(tmp_path / "reps.csv", "id;name;weight\nana;Ana;1\n")
    with pytest.raises(InputFileError) as exc:
        read_reps(path)
    assert "separated by ';'" in exc.value.problems[0].message


def test_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "reps.csv"
    path.write_bytes("id,name\nana,Jos\u00e9\n".encode("cp1252"))
    with pytest.raises(InputFileError) as exc:
        read_reps(path)
    assert "not UTF-8" in exc.value.problems[0].message


@pytest.mark.parametrize("name", ["reps.xlsx", "reps"])
def test_unknown_file_type_is_an_input_error(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, "id\nana\n")
    with pytest.raises(InputFileError, match=r"use \.csv or \.json"):
        read_reps(path)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot open"):
        read_reps(tmp_path / "nope.csv")


def test_empty_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="empty"):
        read_reps(write(tmp_path / "reps.csv", ""))


def test_read_reps_json_accepts_lists_and_json_types(tmp_path: Path) -> None:
    data = [
        {
            "id": "ana",
            "teams": ["emea", "sdr"],
            "skills": ["Product:CRM"],
            "weight": 2,
            "max_per_day": 5.0,
            "active": False,
            "office_lat": 52.5,
            "office_lon": 13.4,
            "timezone": None,
        },
        {"id": "bo"},
    ]
    path = write(tmp_path / "reps.json", json.dumps(data))
    ana, bo = read_reps(path)
    assert ana.teams == ("emea", "sdr") and ana.skills == frozenset({"product:crm"})
    assert ana.weight == 2.0 and ana.caps == Caps(per_day=5) and ana.active is False
    assert ana.timezone == "UTC"
    assert bo.teams == () and bo.caps is None


def test_json_problems_name_the_object_position_and_key(tmp_path: Path) -> None:
    data = [
        {"id": "ana", "weight": "x"},
        "not an object",
        {"id": "bo", "name": ["a", "b"], "max_per_dya": 3},
    ]
    path = write(tmp_path / "reps.json", json.dumps(data))
    with pytest.raises(InputFileError) as exc:
        read_reps(path)
    assert sorted(problems_of(exc), key=str) == sorted(
        [(3, "max_per_dya"), (1, "weight"), (2, None), (3, "name")], key=str
    )


def test_json_that_is_not_a_list_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="list of objects"):
        read_reps(write(tmp_path / "reps.json", '{"id": "ana"}'))
    with pytest.raises(InputFileError, match="not valid JSON at line 1"):
        read_reps(write(tmp_path / "reps.json", "[{"))


def test_read_teams(tmp_path: Path) -> None:
    path = write(tmp_path / "teams.csv", "id,name,owner\nemea,EMEA,ana\nsdr,,\n")
    emea, sdr = read_teams(path)
    assert (emea.id, emea.name, emea.owner) == ("emea", "EMEA", "ana")
    assert (sdr.name, sdr.owner) == ("", None)


def test_read_teams_rejects_unknown_column(tmp_path: Path) -> None:
    path = write(tmp_path / "teams.csv", "id,name,ownr\nemea,EMEA,ana\n")
    with pytest.raises(InputFileError) as exc:
        read_teams(path)
    assert exc.value.problems == (
        Problem("unknown column 'ownr'", str(path), None, 1, "ownr", "owner"),
    )


def test_read_accounts_normalises_domains(tmp_path: Path) -> None:
    text = csv_text(
        ACCOUNT_COLUMNS,
        ["acme", "Acme", "https://www.Acme.com/about", "ana"],
        ["globex", "Globex", "", ""],
    )
    acme, globex = read_accounts(write(tmp_path / "accounts.csv", text))
    assert (acme.domain, acme.owner) == ("acme.com", "ana")
    assert (globex.domain, globex.owner) == (None, None)


def test_two_accounts_may_not_share_a_domain(tmp_path: Path) -> None:
    text = csv_text(
        ACCOUNT_COLUMNS,
        ["acme", "Acme", "acme.com", ""],
        ["acme-2", "Acme EU", "www.acme.com", ""],
        ["bad", "Bad", "jo@acme.com", ""],
    )
    path = write(tmp_path / "accounts.csv", text)
    with pytest.raises(InputFileError) as exc:
        read_accounts(path)
    assert problems_of(exc) == [(3, "domain"), (4, "domain")]
    assert "row 2" in exc.value.problems[0].message


def test_skills_are_stored_in_the_form_leads_are_matched_against(tmp_path: Path) -> None:
    path = tmp_path / "reps.csv"
    path.write_text("id,skills\nana,Product: GTX Pro;language:DE\n", encoding="utf-8")

    (ana,) = read_reps(path)

    assert ana.skills == frozenset({"product:gtx-pro", "language:de"})
    assert ana.has_skill("product", "GTX Pro")
    assert ana.has_skill("product", "gtx-pro")
