"""Account owner: a lead from an existing customer goes to whoever owns the account."""

from __future__ import annotations

from tests.builders import lead, policy, rep, route, snapshot

from leadrelay.domain import Account, DateRange, Status
from leadrelay.pipeline.decide import decide
from leadrelay.pipeline.match import match_account

ACME = Account(id="acc-1", name="Acme", domain="acme.com", owner="ana")
GMAIL_ACCOUNT = Account(id="acc-2", name="Someone on Gmail", domain="gmail.com", owner="bo")


def _snap(*reps, accounts=(ACME, GMAIL_ACCOUNT)):
    return snapshot(reps or [rep("ana"), rep("bo"), rep("cy")], accounts=accounts)


def _pol():
    return policy(
        route("owners", "account_owner", reps=["ana", "bo", "cy"]),
        route("rest", reps=["cy"]),
    )


def test_account_owner_matches_email_domain_not_free_mail() -> None:
    snap = _snap()

    work = decide(lead(email="Jo@Acme.com"), snap, _pol())
    free = decide(lead(email="jo@gmail.com"), snap, _pol())

    assert (work.route, work.owner, work.account) == ("owners", "ana", "acc-1")
    assert work.account_match == "email domain acme.com"
    assert work.reason == "account owner: ana owns account Acme (matched by email domain acme.com)"
    assert free.account is None
    assert (free.route, free.owner) == ("rest", "cy")
    assert free.trials[0].outcome == "the lead matches no existing account"


def test_account_owner_matches_website_domain_first_normalised() -> None:
    one = lead(domain="https://www.ACME.com/pricing", email="jo@other.org")

    matched = match_account(one, _snap().accounts_by_domain)

    assert matched == (ACME, "website domain acme.com")


def test_account_owner_passes_when_the_owner_is_away() -> None:
    away = rep("ana", out_of_office=[DateRange.parse("2026-11-25")])
    snap = _snap(away, rep("bo"), rep("cy"))

    decision = decide(lead(email="jo@acme.com"), snap, _pol())

    assert (decision.route, decision.owner) == ("rest", "cy")
    assert decision.account == "acc-1"
    assert decision.trials[0].outcome == (
        "account owner ana may not take it: out of office 2026-11-25..2026-11-25"
    )


def test_account_owner_passes_when_the_owner_is_not_on_the_route() -> None:
    snap = _snap()
    pol = policy(
        route("owners", "account_owner", reps=["bo", "cy"]),
        route("rest", reps=["cy"]),
    )

    decision = decide(lead(email="jo@acme.com"), snap, pol)

    assert decision.route == "rest"
    assert decision.trials[0].outcome == "account owner ana is not among this route's reps"


def test_account_owner_passes_for_an_account_without_owner() -> None:
    snap = _snap(accounts=[Account(id="acc-3", name="Orphan", domain="orphan.io")])

    decision = decide(lead(email="jo@orphan.io"), snap, _pol())

    assert decision.route == "rest"
    assert decision.trials[0].outcome == "account acc-3 has no owner"


def test_account_owner_with_nobody_to_take_it_is_manual() -> None:
    snap = _snap(rep("ana", active=False), rep("bo"), rep("cy"))

    decision = decide(
        lead(email="jo@acme.com"), snap, policy(route("owners", "account_owner", rep="ana"))
    )

    assert decision.status is Status.MANUAL
    assert decision.owner is None
    assert "account owner ana may not take it: inactive" in decision.reason


def test_account_owner_explains_the_other_reps_on_the_route() -> None:
    decision = decide(lead(email="jo@acme.com"), _snap(), _pol())

    assert [(c.rep, c.note) for c in decision.trials[0].candidates] == [
        ("ana", "owns the account"),
        ("bo", "not the account owner (ana)"),
        ("cy", "not the account owner (ana)"),
    ]


def test_the_policy_says_which_domains_name_an_account() -> None:
    snap = _snap()
    both = lead(email="jo@acme.com", domain="https://www.acme.com/x")
    by_site = match_account(both, snap.accounts_by_domain, ["domain"])
    assert by_site is not None and by_site[1] == "website domain acme.com"
    only_email = lead(email="jo@acme.com")
    assert match_account(only_email, snap.accounts_by_domain, ["domain"]) is None
    by_mail = match_account(only_email, snap.accounts_by_domain, ["email_domain"])
    assert by_mail is not None and by_mail[1] == "email domain acme.com"
