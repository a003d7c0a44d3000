"""normalise_company: one spelling per company, legal forms and formatting set aside."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadrelay.domain.company import LEGAL_FORMS, company_tokens, normalise_company


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Café Crème SARL", "cafe creme"),
        ("The Acme Company, Inc.", "acme"),
        ("Acme, Inc.", "acme"),
        ("ACME Corporation", "acme"),
        ("Acme Corp", "acme"),
        ("ACME L.L.C.", "acme"),
        ("Acme LLC", "acme"),
        ("Banco Santander S.A.", "banco santander"),
        ("Acme S. A.", "acme"),
        ("Novo Nordisk A/S", "novo nordisk"),
        ("Müller GmbH & Co. KG", "muller"),
        ("Nestlé S.p.A.", "nestle"),
        ("Tata Consultancy Services Private Limited", "tata consultancy services"),
        ("Acme Pvt. Ltd.", "acme"),
        ("Acme Pty Ltd", "acme"),
        ("Acme Company, The", "acme"),
        ("Procter & Gamble Co.", "procter and gamble"),
        ("Smith & Co", "smith"),
        ("AT&T Inc.", "at and t"),
        ("McDonald's", "mcdonalds"),
        ("McDonald\u2019s Corporation", "mcdonalds"),
        ("J. P. Morgan Chase & Co.", "jp morgan chase"),
        ("U.S. Steel Corp", "us steel"),
        ("Øresund Æble AB", "oresund aeble"),
        ("Straße AG", "strasse"),
        ("  Acme\tLogistics\n", "acme logistics"),
        ("Acme--Logistics_Ltd", "acme logistics"),
        ("3M Company", "3m"),
    ],
)
def test_normalise_company_examples(name: str, expected: str) -> None:
    assert normalise_company(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Acme Holdings Ltd", "acme holdings"),
        ("Acme Group plc", "acme group"),
        ("Global Solutions Partners Ltd", "global solutions partners"),
        ("Acme Private Bank", "acme private bank"),
        ("Acme Private", "acme private"),
        ("Company Limited Partners", "company limited partners"),
        ("Inc Magazine", "inc magazine"),
    ],
)
def test_only_trailing_legal_forms_are_dropped(name: str, expected: str) -> None:
    assert normalise_company(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("The Company", "company"),
        ("The Company, Inc.", "company"),
        ("Inc.", "inc"),
        ("S.A.", "sa"),
        ("The", "the"),
        ("The The", "the"),
    ],
)
def test_normalise_company_never_empties_a_name(name: str, expected: str) -> None:
    assert normalise_company(name) == expected


@pytest.mark.parametrize("name", ["", "   ", "...", "-/,", "\u0301"])
def test_a_name_without_letters_or_digits_normalises_to_empty(name: str) -> None:
    assert normalise_company(name) == ""
    assert company_tokens(name) == []


def test_spellings_of_one_company_normalise_alike() -> None:
    spellings = [
        "ACME Corporation",
        "Acme Corp.",
        "acme corp",
        "The Acme Company, Inc.",
        "Acme, L.L.C.",
        "ACME LTD",
        "Acme GmbH & Co. KG",
    ]
    assert {normalise_company(s) for s in spellings} == {"acme"}


@given(st.text(max_size=40))
def test_normalised_names_are_idempotent_single_spaced_words(name: str) -> None:
    once = normalise_company(name)
    assert normalise_company(once) == once
    assert once == once.strip()
    assert "  " not in once
    words = once.split()
    assert all(w.isalnum() for w in words)
    if len(words) > 1:
        assert words[-1] not in LEGAL_FORMS
        assert words[0] != "the"
