"""Reading relationship files: the three formats, format detection, and located errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.social.conftest import ANA, BO, DANA, HEADER, TODAY, write

from leadrelay.errors import InputFileError
from leadrelay.files import read_relationships
from leadrelay.social import (
    ALIAS,
    DEFAULT_STRENGTH,
    KNOWS,
    OWNS,
    OWNS_STRENGTH,
    WORKS_AT,
    Edge,
    linkedin_strength,
)

REPS = {"ana", "bo"}
WHO = "give an email, a URL, or a name and company"


def problems(exc: pytest.ExceptionInfo[InputFileError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_connections_skips_linkedins_notes_and_dates_each_connection(tmp_path: Path) -> None:
    path = write(tmp_path, "Connections.csv", DANA)
    read = read_relationships(path, employee="Dana Whitfield <dana@our.co>", today=TODAY)
    assert read.format == "connections"
    assert read.source == "linkedin:person:dana@our.co"
    knows = [e for e in read.edges if e.kind == KNOWS]
    assert [(e.b, e.strength) for e in knows] == [
        ("person:jo@acme.com", linkedin_strength(TODAY.replace(year=2025, month=12), TODAY)),
        ("person:ana@our.co", linkedin_strength(TODAY.replace(year=2020, month=6, day=15), TODAY)),
        ("person:linkedin.com/in/kim-lee", linkedin_strength(None, TODAY)),
    ]
    assert {e.a_label for e in knows} == {"Dana Whitfield (employee)"}
    assert knows[0].b_label == "Jo Park (Acme Inc)"
    # Jo's URL and name are other names of Jo; Jo works at Acme and at acme.com
    assert Edge("person:jo@acme.com", "person:linkedin.com/in/jo-park", ALIAS, 1.0) in read.edges
    assert Edge("person:jo@acme.com", "person:jo park|acme", ALIAS, 1.0) in read.edges
    works = {(e.a, e.b) for e in read.edges if e.kind == WORKS_AT}
    assert ("person:jo@acme.com", "company:acme") in works
    assert ("person:jo@acme.com", "domain:acme.com") in works


def test_recent_connections_are_stronger_within_documented_bounds() -> None:
    today = TODAY
    strengths = [
        linkedin_strength(today.replace(year=today.year - age), today) for age in range(12)
    ]
    assert strengths == sorted(strengths, reverse=True)
    assert strengths[0] == pytest.approx(0.7)
    assert strengths[2] == pytest.approx(0.5, abs=1e-3)
    assert 0.3 < strengths[-1] < 0.32
    assert linkedin_strength(today.replace(year=today.year + 1), today) == pytest.approx(0.7)


def test_a_rep_employee_owns_their_export_and_free_mail_names_no_company(tmp_path: Path) -> None:
    read = read_relationships(
        write(tmp_path, "c.csv", ANA), employee="ana", known_reps=REPS, today=TODAY
    )
    assert read.source == "linkedin:rep:ana"
    assert all(e.a == "rep:ana" for e in read.edges if e.kind == KNOWS)
    assert "person:sam@gmail.com" in {e.b for e in read.edges}
    assert "domain:gmail.com" not in {e.b for e in read.edges}  # Sam writes from gmail.com


def test_connections_needs_an_employee_who_is_a_rep_or_an_email(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", BO)
    with pytest.raises(InputFileError) as missing:
        read_relationships(path, today=TODAY)
    assert "--employee: a Connections.csv is one employee's" in problems(missing)[0]
    with pytest.raises(InputFileError) as unknown:
        read_relationships(path, employee="anna", known_reps=REPS, today=TODAY)
    assert problems(unknown) == [
        f"{path}: --employee: 'anna' is not a loaded rep (load reps first) (did you mean 'ana'?)"
    ]
    with pytest.raises(InputFileError) as bad:
        read_relationships(path, employee="Dana <dana@>", today=TODAY)
    assert "'dana@' is not an email address" in problems(bad)[0]


def test_connections_errors_name_the_row_and_column(tmp_path: Path) -> None:
    text = (
        "Notes:\n\n"
        + HEADER
        + (
            "Jo,Park,https://www.linkedin.com/in/jo,jo@acme.com,Acme,VP,yesterday\n"
            "Al,Bo,not a url,,Acme,VP,01 Jan 2024\n"
            ",,,,,,01 Jan 2024\n"
            "Cy,Do,https://www.linkedin.com/in/cy,cy@,Acme,VP,31 Feb 2024\n"
        )
    )
    path = write(tmp_path, "c.csv", text)
    with pytest.raises(InputFileError) as exc:
        read_relationships(path, employee="bo", known_reps=REPS, today=TODAY)
    assert problems(exc) == [
        f"{path} row 4: Connected On: 'yesterday' is not a date like 01 Jan 2024",
        f"{path} row 5: URL: 'not a url' is not a profile URL",
        f"{path} row 6: URL: cannot tell who this is: {WHO}",
        f"{path} row 7: Connected On: '31 Feb 2024' is not a date like 01 Jan 2024",
        f"{path} row 7: Email Address: 'cy@' is not an email address",
    ]


def test_crm_owners_own_their_contacts_and_the_email_domain_is_the_company(tmp_path: Path) -> None:
    text = (
        "owner,email,first_name,last_name,company\n"
        "ana,Kim@Globex.com,Kim,Lee,Globex Corp\n"
        "bo,pat@gmail.com,Pat,Doe,\n"
    )
    read = read_relationships(write(tmp_path, "crm.csv", text), known_reps=REPS)
    assert (read.format, read.source) == ("crm", "crm")
    assert read.edges == (
        Edge("rep:ana", "person:kim@globex.com", OWNS, OWNS_STRENGTH, "", "Kim Lee (Globex Corp)"),
        Edge("person:kim@globex.com", "person:kim lee|globex", ALIAS, 1.0),
        Edge(
            "person:kim@globex.com",
            "company:globex",
            WORKS_AT,
            0.8,
            "Kim Lee (Globex Corp)",
            "Globex Corp",
        ),
        Edge("company:globex", "domain:globex.com", ALIAS, 1.0, "Globex Corp", ""),
        Edge("rep:bo", "person:pat@gmail.com", OWNS, OWNS_STRENGTH, "", "Pat Doe"),
    )


def test_crm_rows_need_a_loaded_owner_and_a_contact(tmp_path: Path) -> None:
    text = "owner,email,first_name,last_name,company\nzoe,a@b.com,,,\nana,,Jo,,\n,c@d.com,,,\n"
    path = write(tmp_path, "crm.csv", text)
    with pytest.raises(InputFileError) as exc:
        read_relationships(path, known_reps=REPS)
    assert problems(exc) == [
        f"{path} row 2: owner: 'zoe' is not a loaded rep (load reps first)",
        f"{path} row 3: email: cannot tell who this is: {WHO}",
        f"{path} row 4: owner: owner is required (a rep id)",
    ]


def test_generic_edges_name_nodes_by_kind(tmp_path: Path) -> None:
    text = (
        "a,b,kind,strength,a_name,b_name\n"
        "rep:ana,person:jo@acme.com,,0.9,,Jo Park\n"
        "jo@acme.com,company:ACME Inc.,works_at,,,\n"
        "company:Acme Inc,domain:https://www.acme.com/,alias,,,\n"
        "person:https://www.linkedin.com/in/kim,person:Kim Lee|Globex,Alias,,,\n"
        "rep:bo,company:Globex,former_employee,0.35,,\n"
    )
    read = read_relationships(write(tmp_path, "rels.csv", text), known_reps=REPS)
    assert (read.format, read.source) == ("generic", "file:rels.csv")
    assert read.edges == (
        Edge("rep:ana", "person:jo@acme.com", KNOWS, 0.9, "", "Jo Park"),
        Edge("person:jo@acme.com", "company:acme", WORKS_AT, DEFAULT_STRENGTH, "jo@acme.com",
             "ACME Inc."),
        Edge("company:acme", "domain:acme.com", ALIAS, 1.0, "Acme Inc", "https://www.acme.com/"),
        Edge("person:linkedin.com/in/kim", "person:kim lee|globex", ALIAS, 1.0,
             "https://www.linkedin.com/in/kim", "Kim Lee|Globex"),
        Edge("rep:bo", "company:globex", "former_employee", 0.35, "", "Globex"),
    )  # fmt: skip


def test_generic_errors_name_the_row_and_column(tmp_path: Path) -> None:
    text = (
        "a,b,kind,strength\n"
        "rep:anna,jo@acme.com,,\n"
        "ana,jo@acme.com,,\n"
        "rep:ana,company:Acme,,1.5\n"
        "rep:ana,company:Acme,,lots\n"
        "company:Acme,person:jo@acme.com,alias,\n"
        "jo@acme.com,JO@acme.com,,\n"
        "rep:ana,domain:acme,,\n"
        "rep:ana,company:Acme,knows well,\n"
        "company:Acme,domain:acme.com,alias,0.5\n"
        "rep:ana,,,\n"
    )
    path = write(tmp_path, "rels.csv", text)
    with pytest.raises(InputFileError) as exc:
        read_relationships(path, known_reps=REPS)
    hint = "write rep:ID, person:EMAIL, company:NAME, domain:DOMAIN, or an email"
    assert problems(exc) == [
        f"{path} row 2: a: 'anna' is not a loaded rep (load reps first) (did you mean 'ana'?)",
        f"{path} row 3: a: 'ana' is not a node: {hint}",
        f"{path} row 4: strength: strength 1.5 is not in (0, 1]: 1 is the strongest tie",
        f"{path} row 5: strength: 'lots' is not a number",
        f"{path} row 6: b: a person and a company cannot be one node (alias)",
        f"{path} row 7: b: a and b name the same node",
        f"{path} row 8: b: 'domain:acme' is not a domain like domain:acme.com",
        f"{path} row 9: kind: 'knows well' is not a kind: one word of letters, digits or _",
        f"{path} row 10: strength: an alias joins two names of one node: leave strength blank",
        f"{path} row 11: b: b is required",
    ]


def test_format_comes_from_the_header_or_the_option(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "who,whom\nana,bo\n")
    with pytest.raises(InputFileError) as exc:
        read_relationships(path)
    assert "cannot tell the format from the columns" in problems(exc)[0]
    assert f"{path} row 1:" in problems(exc)[0]
    with pytest.raises(InputFileError) as bad:
        read_relationships(path, format="linkedin")
    assert problems(bad) == [
        "--format: unknown format 'linkedin'; use one of connections, generic, crm"
    ]
    with pytest.raises(InputFileError) as forced:
        read_relationships(path, format="generic")
    assert "unknown column 'who'" in problems(forced)[0]
    assert "missing column 'a'" in problems(forced)[2]


def test_unknown_columns_get_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "First Name,Last Name,URL,Email Adress\nJo,Park,,\n")
    with pytest.raises(InputFileError) as exc:
        read_relationships(path, employee="ana")
    assert problems(exc) == [
        f"{path} row 1: Email Adress: unknown column 'Email Adress' (did you mean 'email address'?)"
    ]


def test_json_lists_of_objects_are_read_like_csv(tmp_path: Path) -> None:
    path = tmp_path / "rels.json"
    path.write_text(json.dumps([{"a": "rep:ana", "b": "company:Acme", "strength": 0.6}]))
    read = read_relationships(path, known_reps=REPS)
    assert read.edges == (Edge("rep:ana", "company:acme", KNOWS, 0.6, "", "Acme"),)
    path.write_text(json.dumps([{"a": "rep:ana", "b": "company:Acme", "strength": 2}]))
    with pytest.raises(InputFileError) as exc:
        read_relationships(path, known_reps=REPS)
    assert problems(exc) == [
        f"{path} row 1: strength: strength 2 is not in (0, 1]: 1 is the strongest tie"
    ]


def test_a_file_that_is_no_csv_export_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.csv", "".join(f"note {i}\n" for i in range(20)))
    with pytest.raises(InputFileError) as exc:
        read_relationships(path, employee="ana")
    assert problems(exc) == [f"{path}: no header row in the first 10 rows: is this a CSV export?"]
    with pytest.raises(InputFileError) as missing:
        read_relationships(tmp_path / "absent.csv")
    assert "cannot open the file" in problems(missing)[0]


def test_every_row_is_checked_even_without_an_employee(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", HEADER + "Jo,Park,,,Acme,VP,soon\n")
    with pytest.raises(InputFileError) as exc:
        read_relationships(path)
    assert [p.field for p in exc.value.problems] == ["--employee", "Connected On"]


def test_employee_is_refused_for_other_formats(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "a,b\nrep:ana,company:Acme\n")
    with pytest.raises(InputFileError) as exc:
        read_relationships(path, employee="ana")
    assert problems(exc) == [
        f"{path}: --employee: --employee is for a Connections.csv, not a generic file"
    ]
