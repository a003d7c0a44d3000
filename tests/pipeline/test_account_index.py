"""AccountIndex: a lead's company name to the account it most likely is, checked by brute force."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from leadrelay.domain import Account
from leadrelay.domain.company import company_tokens, normalise_company
from leadrelay.pipeline.account_index import AccountIndex, NameMatch

ACME = Account(id="acc-1", name="ACME Corporation", domain="acme.com", owner="ana")
LOGISTICS = Account(id="acc-2", name="Acme Logistics")
PARTNERS = Account(id="acc-3", name="Global Solutions Partners Ltd")
INITECH = Account(id="acc-4", name="Initech, L.L.C.")
CAFE = Account(id="acc-5", name="Café Crème SARL")


def _index(
    *accounts: Account, max_candidates: int = 5_000, typo_tolerant: bool = True
) -> AccountIndex:
    return AccountIndex(
        accounts or (ACME, LOGISTICS, PARTNERS, INITECH, CAFE),
        max_candidates=max_candidates,
        typo_tolerant=typo_tolerant,
    )


def test_match_after_normalisation_scores_100() -> None:
    found = _index().match("Acme Corp", 90)

    assert found == NameMatch(
        account=ACME, score=100.0, key="acme", matched_name="ACME Corporation"
    )


def test_match_reports_the_lead_key_and_the_stored_name() -> None:
    found = _index().match("the CAFE creme, s.a.r.l.", 95)

    assert found is not None
    assert (found.account, found.key, found.matched_name) == (CAFE, "cafe creme", "Café Crème SARL")


def test_match_forgives_a_typo_within_the_threshold() -> None:
    found = _index().match("Acme Logistcs", 90)

    assert found is not None
    assert found.account == LOGISTICS
    assert found.score == pytest.approx(fuzz.ratio("acme logistcs", "acme logistics"))
    assert 90 <= found.score < 100


def test_match_finds_a_single_word_name_through_its_typo_neighbours() -> None:
    found = _index().match("Inittech", 90)

    assert found is not None
    assert found.account == INITECH


def test_without_typo_tolerance_only_shared_words_are_blocks() -> None:
    assert _index(ACME, INITECH, typo_tolerant=False).match("Inittech", 90) is None
    assert _index(ACME, INITECH, typo_tolerant=False).match("Initech Inc", 90) is not None


def test_below_the_threshold_is_no_match() -> None:
    index = _index()

    assert index.match("Acme Logisticz Europe", 90) is None
    assert index.match("Globex", 50) is None


def test_a_shorter_name_does_not_match_a_longer_one_containing_it() -> None:
    index = _index(LOGISTICS, PARTNERS)

    assert index.match("Acme", 90) is None  # token_sort_ratio 44
    assert index.match("Global Solutions", 90) is None  # token_sort_ratio 78


def test_word_order_and_punctuation_do_not_matter() -> None:
    index = _index()

    for text in ("ACME -- Logistics, Inc.!!", "Logistics Acme", "  acme\tlogistics  "):
        found = index.match(text, 100)
        assert found is not None, text
        assert (found.account, found.score) == (LOGISTICS, 100.0)


def test_ties_go_to_the_lowest_account_id() -> None:
    index = _index(Account("b", "Acme Inc"), Account("a", "ACME Ltd"), Account("c", "The Acme Co"))

    found = index.match("acme", 90)

    assert found is not None
    assert found.account.id == "a"


def test_ties_between_different_names_go_to_the_lowest_account_id() -> None:
    # Nine names one letter away from "kappa": more ties than one scoring pass fetches.
    accounts = [Account(f"id-{9 - i}", f"kapp{letter}") for i, letter in enumerate("bcdefghij")]
    index = _index(*accounts)

    found = index.match("Kappa", 80)

    assert found is not None
    assert (found.account.id, found.score) == ("id-1", 80.0)


@pytest.mark.parametrize("company", [None, "", "   ", "...", "-/"])
def test_an_empty_company_matches_nothing(company: str | None) -> None:
    assert _index().match(company, 0) is None


def test_accounts_whose_names_normalise_to_empty_are_skipped() -> None:
    index = _index(Account("a", ""), Account("b", "..."), Account("c", "Acme"))

    assert len(index) == 1
    found = index.match("Acme", 0)
    assert found is not None
    assert found.account.id == "c"


def test_an_empty_index_matches_nothing() -> None:
    index = AccountIndex([])

    assert len(index) == 0
    assert index.match("Acme", 0) is None


@pytest.mark.parametrize("threshold", [-1, 100.5])
def test_threshold_outside_0_to_100_is_an_error(threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        _index().match("Acme", threshold)


def test_max_candidates_below_one_is_an_error() -> None:
    with pytest.raises(ValueError, match="max_candidates"):
        AccountIndex([ACME], max_candidates=0)


def test_name_match_is_frozen_and_the_index_takes_no_new_attributes() -> None:
    found = _index().match("Acme", 90)
    index = _index()

    assert found is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.score = 0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        index.extra = 1  # type: ignore[attr-defined]


def _crowd() -> list[Account]:
    """Forty accounts sharing "global" and "solutions", and the one a lead means."""
    crowd = [Account(f"g{i:02d}", f"Global Solutions {w}") for i, w in enumerate(_FILLER)]
    return [*crowd, Account("zz", "Zebra Global Solutions Ltd")]


_FILLER = [f"{a}{b}" for a in ("nor", "sud", "est", "oue") for b in "abcdefghij"]


def test_a_budget_of_one_still_scores_the_rarest_word() -> None:
    index = _index(*_crowd(), max_candidates=1)

    found = index.match("Zebra Global Solutions", 90)

    assert found is not None
    assert found.account.id == "zz"


def test_when_every_own_word_is_over_budget_the_smallest_block_is_scored() -> None:
    index = _index(*_crowd(), Account("gs", "Global Solutions Inc"), max_candidates=1)

    found = index.match("Global Solutions", 90)

    assert found is not None
    assert (found.account.id, found.score) == ("gs", 100.0)


def test_memory_bytes_grows_with_the_accounts() -> None:
    small = _index(ACME)
    large = _index(*_crowd())

    assert 0 < small.memory_bytes() < large.memory_bytes()


# --- brute force ---------------------------------------------------------------------------------

# Near neighbours ("acme", "acne", "acmes", "acm"), common words and legal forms.
_WORDS = [
    "acme", "acne", "acmes", "acm", "global", "globl", "solutions", "partners", "partner",
    "tools", "tool", "toys", "kappa", "kapa", "zeta", "zetta", "beta", "the", "and", "inc",
    "ltd", "co", "company", "sa", "gmbh", "cafe", "café", "crème", "creme", "bros",
]  # fmt: skip
_NAMES = st.one_of(
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map(" ".join),
    st.text(alphabet="abcde &.", max_size=12),
)
_ACCOUNTS = st.lists(_NAMES, max_size=25).map(
    lambda names: [Account(f"a{i:02d}", name) for i, name in enumerate(names)]
)
_THRESHOLDS = st.sampled_from([0.0, 40.0, 70.0, 85.0, 90.0, 100.0]) | st.floats(0, 100)

settings.register_profile(
    "account-index-properties",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
BRUTE = settings.get_profile("account-index-properties")


def _one_typo_apart(a: str, b: str) -> bool:
    """The index's definition of a typo neighbour (see the module docstring)."""
    return (
        a != b
        and abs(len(a) - len(b)) <= 1
        and max(len(a), len(b)) >= 4
        and Indel.distance(a, b) <= 2
    )


def _shares_block(lead: str, account: Account, *, typo_tolerant: bool) -> bool:
    lead_words, words = set(company_tokens(lead)), set(company_tokens(account.name))
    if lead_words & words:
        return True
    return typo_tolerant and any(_one_typo_apart(a, b) for a in lead_words for b in words)


def _brute(lead: str, accounts: list[Account], threshold: float) -> tuple[str, float] | None:
    """(account id, score) of the best account scoring >= threshold, ties to the lowest id."""
    key = normalise_company(lead)
    scored = [
        (fuzz.token_sort_ratio(key, normalise_company(a.name)), a.id)
        for a in accounts
        if normalise_company(a.name)
    ]
    passing = [(score, id_) for score, id_ in scored if score >= threshold]
    if not key or not passing:
        return None
    best = max(score for score, _ in passing)
    return min(id_ for score, id_ in passing if score == best), best


@BRUTE
@given(_ACCOUNTS, _NAMES, _THRESHOLDS, st.booleans())
def test_match_is_brute_force_over_the_accounts_sharing_a_block(
    accounts: list[Account], lead: str, threshold: float, typo_tolerant: bool
) -> None:
    index = AccountIndex(accounts, max_candidates=10**6, typo_tolerant=typo_tolerant)
    sharing = [a for a in accounts if _shares_block(lead, a, typo_tolerant=typo_tolerant)]

    found = index.match(lead, threshold)

    expected = _brute(lead, sharing, threshold)
    assert (None if found is None else (found.account.id, found.score)) == expected
    overall = _brute(lead, accounts, threshold)
    if overall is not None:
        best = next(a for a in accounts if a.id == overall[0])
        if _shares_block(lead, best, typo_tolerant=False):  # shares a word: always found
            assert found is not None
            assert (found.account.id, found.score) == overall


@BRUTE
@given(_ACCOUNTS, _NAMES, _THRESHOLDS, st.integers(1, 6))
def test_any_budget_gives_a_true_score_never_above_brute_force(
    accounts: list[Account], lead: str, threshold: float, budget: int
) -> None:
    found = AccountIndex(accounts, max_candidates=budget).match(lead, threshold)

    if found is not None:
        true_score = fuzz.token_sort_ratio(found.key, normalise_company(found.account.name))
        assert found.score == true_score >= threshold
        assert found.key == normalise_company(lead)
        assert found.matched_name == found.account.name
        overall = _brute(lead, accounts, threshold)
        assert overall is not None
        assert found.score <= overall[1]


def test_a_tiny_positive_threshold_does_not_overflow_the_length_window() -> None:
    found = _index().match("Acme", 5e-324)

    assert found is not None
    assert found.account == ACME
