"""A sales lead as routing sees it: standard fields plus free custom attributes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from leadrelay.domain.quick import pickled_positionally

# The standard fields and the Python type of each: the policy's condition language, the CSV
# reader and the store all derive their schema from this one table.
LEAD_FIELDS: dict[str, type] = {
    "external_id": str,
    "email": str,
    "phone": str,
    "first_name": str,
    "last_name": str,
    "company": str,
    "domain": str,
    "industry": str,
    "company_type": str,
    "employees": int,
    "country": str,
    "region": str,
    "state": str,
    "postal_code": str,
    "lat": float,
    "lon": float,
    "product": str,
    "value": float,
    "source": str,
    "received_at": datetime,
}


_FIELD_NAMES = tuple(LEAD_FIELDS)
_standard_fields = attrgetter(*_FIELD_NAMES)  # one call for all standard fields, in order


@pickled_positionally
@dataclass(frozen=True, slots=True)
class Lead:
    received_at: datetime
    external_id: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    domain: str | None = None
    industry: str | None = None
    company_type: str | None = None
    employees: int | None = None
    country: str | None = None
    region: str | None = None
    state: str | None = None
    postal_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    product: str | None = None
    value: float | None = None
    source: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None  # the store's id, once persisted

    @property
    def seed_key(self) -> str:
        """A stable key for seeded random choices and experiment splits.

        The external id when the lead has one; otherwise a digest of its content, so the same
        lead gets the same choice in a live run, a dry run and a simulation.
        """
        if self.external_id:
            return self.external_id
        if self.id is not None:
            return f"id:{self.id}"
        text = "|".join(str(getattr(self, name)) for name in LEAD_FIELDS)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def email_domain(self) -> str | None:
        if self.email and "@" in self.email:
            return self.email.rsplit("@", 1)[1].strip().lower() or None
        return None

    @property
    def website_domain(self) -> str | None:
        """The lead's company domain, normalised: no scheme, no ``www.``, no path."""
        if not self.domain:
            return None
        text = self.domain.strip().lower()
        for prefix in ("https://", "http://"):
            text = text.removeprefix(prefix)
        text = text.split("/", 1)[0].removeprefix("www.")
        return text or None

    def fields(self) -> dict[str, Any]:
        """Standard fields and custom attributes as one flat mapping (attributes never shadow)."""
        values: dict[str, Any] = dict(self.attributes)
        values.update(zip(_FIELD_NAMES, _standard_fields(self), strict=True))
        return values
