"""The keys that make two leads the same person: normalised email, E.164 phone, name + company.

Two leads sharing any key (within the policy's window) are duplicates: the later one is linked
to the earlier and never gets an owner of its own. Keys are plain strings with a kind prefix
(``email:``, ``phone:``, ``name:``) so one index holds them all.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import phonenumbers

from leadrelay.domain.lead import Lead

KEY_KINDS = ("email", "phone", "name_company")


def duplicate_keys(
    lead: Lead, kinds: Sequence[str] = ("email",), *, plus_addressing: bool = True
) -> tuple[str, ...]:
    """The lead's keys of the given kinds, each once, in ``kinds`` order; blanks give none."""
    keys: list[str] = []
    for kind in kinds:
        if kind == "email":
            key = email_key(lead.email, plus_addressing=plus_addressing)
        elif kind == "phone":
            key = phone_key(lead.phone, lead.country)
        elif kind == "name_company":
            key = name_company_key(lead.first_name, lead.last_name, lead.company)
        else:
            raise ValueError(f"unknown duplicate key {kind!r}; use one of {', '.join(KEY_KINDS)}")
        if key is not None and key not in keys:
            keys.append(key)
    return tuple(keys)


def email_key(email: str | None, *, plus_addressing: bool = True) -> str | None:
    """``email:jo@acme.com`` for ``Jo+News@ACME.com`` (the ``+tag`` dropped when the policy
    says mail providers' plus-addressing reaches the same person)."""
    if not email:
        return None
    local, at, domain = email.strip().casefold().rpartition("@")
    if not at or not local or not domain:
        return None
    if plus_addressing:
        local = local.split("+", 1)[0] or local
    return f"email:{local}@{domain}"


def phone_key(phone: str | None, country: str | None = None) -> str | None:
    """``phone:+14155550123``: E.164 via ``phonenumbers``, reading a national number in the
    lead's country (a two-letter code); None when it cannot be a phone number."""
    if not phone or not phone.strip():
        return None
    region = country.strip().upper() if country and len(country.strip()) == 2 else None
    return _e164(phone.strip(), region)


@lru_cache(maxsize=65_536)
def _e164(text: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return "phone:" + phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def name_company_key(first: str | None, last: str | None, company: str | None) -> str | None:
    """``name:ana ng|acme`` — all three parts needed, folded (case, accents, spacing); the
    company with its legal form dropped, so "Acme Inc." and "ACME" are one company."""
    parts = [_fold(first), _fold(last)]
    if not all(parts) or not company:
        return None
    from leadrelay.domain.company import normalise_company

    firm = normalise_company(company)
    if not firm:
        return None
    return f"name:{parts[0]} {parts[1]}|{firm}"


def _fold(text: str | None) -> str:
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())
