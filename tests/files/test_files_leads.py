"""Reading leads: the contract columns, CRM export headers, --map, custom attributes, errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from leadrelay.domain import LEAD_FIELDS, Lead
from leadrelay.errors import InputFileError
from leadrelay.files import LEAD_COLUMNS, coerce_attributes, read_leads

NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
CHICAGO_NOV = timezone(timedelta(hours=-6))


def write_csv(path: Path, header: list[str], *rows: list[str], bom: bool = False) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode())
    return path


def problems_of(exc: pytest.ExceptionInfo[InputFileError]) -> list[tuple[int | None, str | None]]:
    return [(p.row, p.field) for p in exc.value.problems]


FULL_LEAD = {
    "external_id": "L-1",
    "email": "jo@acme.com",
    "phone": "+1 312-555-0100",
    "first_name": "Jo",
    "last_name": "Park",
    "company": "Acme",
    "domain": "acme.com",
    "industry": "software",
    "company_type": "smb",
    "employees": "1,200",
    "country": "US",
    "region": "AMER",
    "state": "IL",
    "postal_code": "06101",
    "lat": "41.88",
    "lon": "-87.63",
    "product": "crm",
    "value": "12000.50",
    "source": "web",
    "received_at": "2026-11-16T09:30:00-06:00",
}


def test_lead_columns_are_the_design_contract() -> None:
    assert ",".join(LEAD_COLUMNS) == (
        "external_id,email,phone,first_name,last_name,company,domain,industry,company_type,"
        "employees,country,region,state,postal_code,lat,lon,product,value,source,received_at"
    )


def test_read_leads_parses_every_contract_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", list(FULL_LEAD), list(FULL_LEAD.values()))
    [lead] = read_leads(path, now=NOW)
    assert lead == Lead(
        received_at=datetime(2026, 11, 16, 9, 30, tzinfo=CHICAGO_NOV),
        external_id="L-1",
        email="jo@acme.com",
        phone="+1 312-555-0100",
        first_name="Jo",
        last_name="Park",
        company="Acme",
        domain="acme.com",
        industry="software",
        company_type="smb",
        employees=1200,
        country="US",
        region="AMER",
        state="IL",
        postal_code="06101",  # stays text: leading zeros matter
        lat=41.88,
        lon=-87.63,
        product="crm",
        value=12000.5,
        source="web",
    )
    assert set(FULL_LEAD) == set(LEAD_FIELDS)


def test_blank_cells_are_none_and_blank_received_at_is_now(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "leads.csv", ["email", "phone", "received_at", "value"], ["  ", "5", "", ""]
    )
    [lead] = read_leads(path, now=NOW)
    assert lead.email is None and lead.value is None and lead.received_at == NOW


def test_rows_with_only_blank_cells_are_skipped(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", ["email", "phone"], ["", " "], ["jo@acme.com", ""])
    assert [lead.email for lead in read_leads(path, now=NOW)] == ["jo@acme.com"]


def test_leads_keep_file_order(tmp_path: Path) -> None:
    rows = [[f"L-{i}", f"2026-11-16T0{9 - i}:00:00Z"] for i in range(5)]
    path = write_csv(tmp_path / "leads.csv", ["external_id", "received_at"], *rows)
    assert [lead.external_id for lead in read_leads(path, now=NOW)] == [f"L-{i}" for i in range(5)]


def test_naive_received_at_is_rejected(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", ["received_at"], ["2026-11-16T09:30:00"])
    with pytest.raises(InputFileError) as exc:
        read_leads(path, now=NOW)
    assert problems_of(exc) == [(2, "received_at")]
    assert "needs a UTC offset" in exc.value.problems[0].message


@pytest.mark.parametrize(
    ("column", "value", "needle"),
    [
        ("received_at", "yesterday", "not an ISO 8601 time"),
        ("employees", "many", "not a whole number"),
        ("employees", "-3", "negative"),
        ("value", "12k", "not a number"),
        ("value", "-5", "negative"),
        ("value", "nan", "not a finite number"),
        ("lat", "95", "outside -90..90"),
        ("lon", "200", "outside -180..180"),
    ],
)
def test_bad_lead_cell_names_row_and_column(
    tmp_path: Path, column: str, value: str, needle: str
) -> None:
    bad = {**FULL_LEAD, column: value}
    path = write_csv(
        tmp_path / "leads.csv", list(FULL_LEAD), list(FULL_LEAD.values()), list(bad.values())
    )
    with pytest.raises(InputFileError) as exc:
        read_leads(path, now=NOW)
    [problem] = exc.value.problems
    assert (problem.source, problem.row, problem.field) == (str(path), 3, column)
    assert needle in problem.message


def test_every_bad_lead_row_is_reported_at_once(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "leads.csv",
        ["external_id", "employees", "received_at"],
        ["a", "x", "2026-11-16T09:00:00"],
        ["b", "3", ""],
        ["c", "1.5", "2026-11-16"],
    )
    with pytest.raises(InputFileError) as exc:
        read_leads(path, now=NOW)
    assert problems_of(exc) == [
        (2, "employees"),
        (2, "received_at"),
        (4, "employees"),
        (4, "received_at"),
    ]


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", ["email"], ["jo@acme.com"], bom=True)
    assert read_leads(path, now=NOW)[0].email == "jo@acme.com"


def test_custom_columns_become_text_attributes(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "leads.csv",
        ["email", "Budget", "campaign"],
        ["jo@acme.com", "5000", "q4"],
        ["al@acme.com", "", "q4"],
    )
    jo, al = read_leads(path, now=NOW)
    assert jo.attributes == {"Budget": "5000", "campaign": "q4"}
    assert al.attributes == {"Budget": None, "campaign": "q4"}
    assert jo.fields()["campaign"] == "q4"


def test_declared_fields_are_converted_with_row_errors(tmp_path: Path) -> None:
    header = ["email", "budget", "seats", "vip", "renewal"]
    good = ["jo@acme.com", "5000.5", "12", "yes", "2027-01-01T00:00:00Z"]
    bad = ["al@acme.com", "lots", "1.5", "perhaps", "2027-01-01"]
    fields = {"budget": "number", "seats": "integer", "vip": "boolean", "renewal": "datetime"}
    path = write_csv(tmp_path / "leads.csv", header, good)
    [jo] = read_leads(path, now=NOW, fields=fields)
    assert jo.attributes == {
        "budget": 5000.5,
        "seats": 12,
        "vip": True,
        "renewal": datetime(2027, 1, 1, tzinfo=UTC),
    }
    path = write_csv(tmp_path / "leads.csv", header, good, bad)
    with pytest.raises(InputFileError) as exc:
        read_leads(path, now=NOW, fields=fields)
    assert problems_of(exc) == [(3, "budget"), (3, "seats"), (3, "vip"), (3, "renewal")]


def test_coerce_attributes_converts_declared_types_only(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "leads.csv", ["email", "budget", "note"], ["jo@acme.com", "10", "7"]
    )
    [lead] = coerce_attributes(read_leads(path, now=NOW), {"budget": "integer", "x": "number"})
    assert lead.attributes == {"budget": 10, "note": "7"}


def test_coerce_attributes_names_row_and_field() -> None:
    leads = [
        Lead(received_at=NOW, attributes={"budget": "10"}),
        Lead(received_at=NOW, attributes={"budget": "ten"}),
    ]
    with pytest.raises(InputFileError) as exc:
        coerce_attributes(leads, {"budget": "number"})
    assert problems_of(exc) == [(3, "budget")]


SALESFORCE = {
    "Id": "00Q5g00000AbCdE",
    "FirstName": "Jo",
    "LastName": "Park",
    "Company": "Acme",
    "Email": "jo@acme.com",
    "Phone": "+1 312-555-0100",
    "LeadSource": "Web",
    "Industry": "Software",
    "AnnualRevenue": "25000000",
    "NumberOfEmployees": "250",
    "City": "Chicago",
    "State": "IL",
    "PostalCode": "60601",
    "Country": "US",
    "Website": "www.acme.com",
    "CreatedDate": "2026-11-16T15:30:00.000+0000",
    "Title": "CTO",
}


def test_salesforce_lead_export_headers_map_to_fields(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "sf.csv", list(SALESFORCE), list(SALESFORCE.values()))
    [lead] = read_leads(path, now=NOW)
    assert (lead.external_id, lead.first_name, lead.last_name) == ("00Q5g00000AbCdE", "Jo", "Park")
    assert (lead.company, lead.email, lead.phone) == ("Acme", "jo@acme.com", "+1 312-555-0100")
    assert (lead.source, lead.industry, lead.employees) == ("Web", "Software", 250)
    assert (lead.state, lead.postal_code, lead.country) == ("IL", "60601", "US")
    assert lead.domain == "www.acme.com" and lead.website_domain == "acme.com"
    assert lead.received_at == datetime(2026, 11, 16, 15, 30, tzinfo=UTC)
    assert lead.value is None  # AnnualRevenue is company revenue, not the deal's value
    assert lead.attributes == {"annual_revenue": "25000000", "city": "Chicago", "Title": "CTO"}


HUBSPOT = {
    "Record ID": "5101",
    "First Name": "Jo",
    "Last Name": "Park",
    "Email": "jo@acme.com",
    "Phone Number": "+1 312-555-0100",
    "Company Name": "Acme",
    "Website URL": "https://acme.com",
    "Industry": "COMPUTER_SOFTWARE",
    "Number of Employees": "250",
    "Country/Region": "US",
    "State/Region": "IL",
    "Postal Code": "60601",
    "City": "Chicago",
    "Original Source": "ORGANIC_SEARCH",
    "Create Date": "2026-11-16T09:30:00-06:00",
    "Lifecycle Stage": "lead",
}


def test_hubspot_contact_export_headers_map_to_fields(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "hs.csv", list(HUBSPOT), list(HUBSPOT.values()))
    [lead] = read_leads(path, now=NOW)
    assert (lead.external_id, lead.first_name, lead.last_name) == ("5101", "Jo", "Park")
    assert (lead.email, lead.phone, lead.company) == ("jo@acme.com", "+1 312-555-0100", "Acme")
    assert (lead.website_domain, lead.industry, lead.employees) == (
        "acme.com",
        "COMPUTER_SOFTWARE",
        250,
    )
    assert (lead.country, lead.state, lead.postal_code) == ("US", "IL", "60601")
    assert lead.source == "ORGANIC_SEARCH"
    assert lead.received_at == datetime(2026, 11, 16, 15, 30, tzinfo=UTC)
    assert lead.attributes == {"city": "Chicago", "Lifecycle Stage": "lead"}


def test_hubspot_create_date_without_offset_names_the_export_column(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "hs.csv", ["Email", "Create Date"], ["jo@acme.com", "2026-11-16 09:30"]
    )
    with pytest.raises(InputFileError) as exc:
        read_leads(path, now=NOW)
    assert problems_of(exc) == [(2, "Create Date")]


def test_map_option_overrides_automatic_matching(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "leads.csv",
        ["Work Email", "Email", "Deal Size", "Lead Id"],
        ["jo@acme.com", "jo@gmail.com", "5000", "X1"],
    )
    [lead] = read_leads(
        path,
        now=NOW,
        mapping={"email": "work email", "value": "Deal Size", "external_id": "Lead Id"},
    )
    assert (lead.email, lead.value, lead.external_id) == ("jo@acme.com", 5000.0, "X1")
    assert lead.attributes == {"Email": "jo@gmail.com"}  # displaced, kept as an attribute


def test_map_option_errors_name_the_field_and_suggest(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", ["Work Email"], ["jo@acme.com"])
    with pytest.raises(InputFileError) as exc:
        read_leads(path, now=NOW, mapping={"emial": "Work Email", "phone": "Mobile"})
    assert [(p.field, p.suggestion) for p in exc.value.problems] == [
        ("emial", "email"),
        ("phone", None),
    ]


def test_two_columns_for_one_field_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", ["email", "Email"], ["a@b.com", "c@d.com"])
    with pytest.raises(InputFileError) as exc:
        read_leads(path, now=NOW)
    assert problems_of(exc) == [(1, "Email")]
    assert "--map email=COLUMN" in exc.value.problems[0].message


def test_file_without_any_lead_column_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", ["id;name"], ["a;b"])
    with pytest.raises(InputFileError):
        read_leads(path, now=NOW)
    path = write_csv(tmp_path / "leads.csv", ["colour", "size"], ["red", "L"])
    with pytest.raises(InputFileError, match="no lead columns found"):
        read_leads(path, now=NOW)


def test_short_rows_are_padded_and_long_rows_rejected(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("email,country,state\njo@acme.com,US\nal@acme.com,US,IL,extra\n")
    with pytest.raises(InputFileError) as exc:
        read_leads(path, now=NOW)
    assert problems_of(exc) == [(3, None)]
    path.write_text("email,country,state\njo@acme.com,US\n")
    assert read_leads(path, now=NOW)[0].state is None


def test_unnamed_column_must_stay_blank(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("email,\njo@acme.com,\nal@acme.com,oops\n")
    with pytest.raises(InputFileError) as exc:
        read_leads(path, now=NOW)
    assert problems_of(exc) == [(3, None)]


def test_read_leads_json_list_of_objects(tmp_path: Path) -> None:
    data = [{"email": "jo@acme.com", "employees": 40, "lat": 41.9, "lon": -87.6, "vip": True}]
    path = tmp_path / "leads.json"
    path.write_text(json.dumps(data))
    [lead] = read_leads(path, now=NOW)
    assert (lead.employees, lead.lat, lead.attributes) == (40, 41.9, {"vip": "true"})


def test_now_must_be_aware(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", ["email"], ["jo@acme.com"])
    with pytest.raises(ValueError, match="aware"):
        read_leads(path, now=datetime(2026, 11, 16))


def test_problems_past_the_limit_are_counted_not_listed(tmp_path: Path) -> None:
    rows = [["x"] for _ in range(1500)]
    path = write_csv(tmp_path / "leads.csv", ["employees"], *rows)
    with pytest.raises(InputFileError) as exc:
        read_leads(path, now=NOW)
    assert len(exc.value.problems) == 1001
    assert exc.value.problems[-1].message.startswith("... and 500 more problems")
