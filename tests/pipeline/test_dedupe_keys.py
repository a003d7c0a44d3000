"""Duplicate keys: the same person by email, phone or name + company, whatever the spelling."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.builders import lead

from leadrelay.domain.dedupe import duplicate_keys, email_key, phone_key


@pytest.mark.parametrize(
    ("given_email", "plus", "key"),
    [
        ("Jo@ACME.com", True, "email:jo@acme.com"),
        ("  jo+news@acme.com ", True, "email:jo@acme.com"),
        ("jo+news@acme.com", False, "email:jo+news@acme.com"),
        ("+only@acme.com", True, "email:+only@acme.com"),
        ("not-an-email", True, None),
        ("", True, None),
    ],
)
def test_email_keys_fold_case_and_plus_tags(given_email: str, plus: bool, key: str | None) -> None:
    assert email_key(given_email, plus_addressing=plus) == key


@pytest.mark.parametrize(
    ("phone", "country", "key"),
    [
        ("+1 (415) 555-0123", None, "phone:+14155550123"),
        ("415.555.0123", "US", "phone:+14155550123"),
        ("020 7946 0958", "GB", "phone:+442079460958"),
        ("+44 20 7946 0958", "United Kingdom", "phone:+442079460958"),
        ("020 7946 0958", None, None),  # a national number without a country is ambiguous
        ("call me", "US", None),
        ("12", "US", None),
    ],
)
def test_phone_keys_are_e164(phone: str, country: str | None, key: str | None) -> None:
    assert phone_key(phone, country) == key


def test_name_and_company_need_all_three_parts() -> None:
    a = lead(first_name="José", last_name="Núñez", company="Acme, Inc.")
    b = lead(first_name="jose", last_name="NUNEZ", company="ACME")
    assert duplicate_keys(a, ["name_company"]) == duplicate_keys(b, ["name_company"]) != ()
    assert duplicate_keys(lead(first_name="Jo", company="Acme"), ["name_company"]) == ()


def test_keys_come_in_policy_order_each_once() -> None:
    both = lead(email="jo@acme.com", phone="+14155550123")
    assert duplicate_keys(both, ["phone", "email", "email"]) == (
        "phone:+14155550123",
        "email:jo@acme.com",
    )
    with pytest.raises(ValueError, match="unknown duplicate key"):
        duplicate_keys(both, ["fax"])


@given(st.emails(), st.sampled_from(["", "+x", "+news.2026"]))
def test_a_plus_tag_or_case_never_changes_the_key(address: str, tag: str) -> None:
    local, _, domain = address.rpartition("@")
    if "+" in local:
        return
    tagged = f"{local.upper()}{tag}@{domain.upper()}"
    assert email_key(tagged) == email_key(address)
