"""Recognise a lead of an existing account (exact email or website domain)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from leadrelay.domain.lead import Lead
from leadrelay.domain.org import Account
from leadrelay.domain.snapshot import Snapshot
from leadrelay.policy.compiled import CompiledPolicy

# Mailbox providers: a lead writing from one of these says nothing about its company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "hotmail.com", "outlook.com",
        "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me",
        "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.ru",
        "yandex.com", "zoho.com", "qq.com", "163.com", "126.com", "fastmail.com", "hey.com",
        "orange.fr", "free.fr", "libero.it", "t-online.de", "btinternet.com", "comcast.net",
    }
)  # fmt: skip


def match_account(
    lead: Lead,
    accounts_by_domain: Mapping[str, Account],
    keys: Sequence[str] = ("domain", "email_domain"),
) -> tuple[Account, str] | None:
    """The account the lead belongs to and how it was recognised, or None.

    ``keys`` (the policy's ``matching.accounts.keys``) says which domains count, tried in this
    order: ``domain`` (the lead's website) and ``email_domain`` (its email's domain).
    """
    if not accounts_by_domain:
        return None
    for key in keys:
        how, domain = _DOMAINS[key](lead)
        if domain is None or domain in FREE_MAIL_DOMAINS:
            continue
        account = accounts_by_domain.get(domain)
        if account is not None:
            return account, f"{how} domain {domain}"
    return None


def _website(lead: Lead) -> tuple[str, str | None]:
    return "website", lead.website_domain


def _email(lead: Lead) -> tuple[str, str | None]:
    return "email", lead.email_domain


_DOMAINS: dict[str, Callable[[Lead], tuple[str, str | None]]] = {
    "domain": _website,
    "email_domain": _email,
}


def account_keys(policy: CompiledPolicy) -> tuple[str, ...]:
    """The domains the policy matches accounts by (both when it does not say)."""
    rules = policy.model.matching.accounts
    return ("domain", "email_domain") if rules is None else tuple(rules.keys)


def match_company(
    lead: Lead, snapshot: Snapshot, policy: CompiledPolicy
) -> tuple[Account, str] | None:
    """The account whose name the lead's company matches (``matching.accounts.fuzzy_name``),
    after no domain matched; the key and score go into the Decision's ``account_match``."""
    rules = policy.model.matching.accounts
    index = snapshot.account_index
    if rules is None or rules.fuzzy_name is None or index is None or not lead.company:
        return None
    hit = index.match(lead.company, rules.fuzzy_name)
    if hit is None:
        return None
    how = f"company name {hit.key!r} ~ {hit.matched_name!r} (score {hit.score:.0f})"
    return hit.account, how
