"""Node keys: the one spelling of each person, rep, company and domain in the graph.

A key is ``kind:identity``. The same person reached through two files must get the same key, so
every identity is normalised here and nowhere else:

- ``rep:ana`` -- a rep, by rep id (as in reps.csv);
- ``person:jo@acme.com`` -- a person by email (lowercased);
- ``person:linkedin.com/in/jo-park`` -- a person by profile URL (no scheme, ``www.`` or query);
- ``person:jo park|acme`` -- a person by name and company (both normalised), the weakest;
- ``company:acme`` -- a company by :func:`~leadrelay.domain.company.normalise_company`;
- ``domain:acme.com`` -- a company by website or email domain.

The graph merges keys joined by ``alias`` edges (a rep and their email, a contact's email and
profile URL, an account's name and domain), so each of these may name one node.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from leadrelay.domain.company import normalise_company


class NodeKind(StrEnum):
    REP = "rep"
    PERSON = "person"
    COMPANY = "company"
    DOMAIN = "domain"


# Companies and domains end paths but never relay them: otherwise everyone who ever worked at a
# large company would be two hops from everyone else who did.
COMPANY_KINDS = frozenset({NodeKind.COMPANY, NodeKind.DOMAIN})

_SPACES = re.compile(r"[\W_]+")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@.]+")


_KINDS = {kind.value: kind for kind in NodeKind}


def kind_of(key: str) -> NodeKind:
    """The kind named by a key's prefix; ValueError when it has none."""
    kind = _KINDS.get(key.partition(":")[0]) if ":" in key else None
    if kind is None:
        raise ValueError(f"{key!r} is not a node key (rep:, person:, company: or domain:)")
    return kind


def rep_key(rep_id: str) -> str:
    return f"rep:{rep_id.strip()}"


def normalise_email(email: str) -> str | None:
    """``" Jo@Acme.COM "`` -> ``jo@acme.com``; None when it is not an email address."""
    text = email.strip().lower()
    return text if _EMAIL.fullmatch(text) else None


def email_key(email: str) -> str | None:
    text = normalise_email(email)
    return None if text is None else f"person:{text}"


def normalise_url(url: str) -> str | None:
    """``https://uk.linkedin.com/in/Jo-Park/?trk=x`` -> ``linkedin.com/in/jo-park``."""
    text = url.strip().lower()
    for scheme in ("https://", "http://"):
        text = text.removeprefix(scheme)
    text = re.split(r"[?#]", text, maxsplit=1)[0].rstrip("/")
    host, _, path = text.partition("/")
    host = host.removeprefix("www.")
    if host.endswith(".linkedin.com"):  # country sites: uk.linkedin.com, de.linkedin.com
        host = "linkedin.com"
    if "." not in host or " " in text or not path:
        return None
    return f"{host}/{path}"


def url_key(url: str) -> str | None:
    text = normalise_url(url)
    return None if text is None else f"person:{text}"


def normalise_name(name: str) -> str:
    """A person's name as a key: casefolded, accents and punctuation dropped, spaces single."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_SPACES.sub(" ", plain).split())


def name_key(name: str, company: str) -> str | None:
    """A person by name at a company; None unless both are given (a name alone is ambiguous)."""
    who, where = normalise_name(name), normalise_company(company)
    return f"person:{who}|{where}" if who and where else None


def company_key(name: str) -> str | None:
    text = normalise_company(name)
    return f"company:{text}" if text else None


def normalise_domain(domain: str) -> str | None:
    """``https://www.Acme.com/about`` -> ``acme.com``; None when it is not a domain."""
    text = domain.strip().lower()
    for scheme in ("https://", "http://"):
        text = text.removeprefix(scheme)
    text = text.split("/", 1)[0].removeprefix("www.")
    if "@" in text or " " in text or "." not in text.strip("."):
        return None
    return text


def domain_key(domain: str) -> str | None:
    text = normalise_domain(domain)
    return None if text is None else f"domain:{text}"
