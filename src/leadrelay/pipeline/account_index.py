"""Recognise a lead's account by its company name: fuzzy, blocked, fast at a million accounts.

Built once from the accounts (:class:`AccountIndex`), then asked once per lead
(:meth:`AccountIndex.match`). Both names go through :func:`~leadrelay.domain.company.
normalise_company`; the score is rapidfuzz's ``token_sort_ratio`` of the two normalised names
(0-100), computed as ``fuzz.ratio`` of the names with their words sorted, which is the same
number without re-sorting a million names per lead.

Why ``token_sort_ratio``: it forgives typos and word order ("Barney Smith" / "Smith Barney") but
counts every character of both names, so a longer name is not a match for a shorter one that it
contains: "Acme" / "Acme Logistics" scores 44 and "Global Solutions" / "Global Solutions
Partners" 78. ``WRatio`` and ``token_set_ratio`` score those two pairs 90 and 100, false
positives at any useful threshold.

Blocking. Only accounts that share a *block* with the lead are scored:

- a word of the account's normalised name equal to a word of the lead's; or
- one a typo away from it: one character inserted, deleted or replaced, or two neighbours
  swapped; precisely, Indel distance at most 2, lengths at most 1 apart, the longer word at
  least 4 characters. They are found through the one-deletion neighbourhoods of the vocabulary
  (SymSpell's idea), kept as hashes in one sorted array, and confirmed by that definition, so
  the result never depends on hashing.

Two filters then shrink the work. The first is exact: a name much shorter or longer than the
lead's cannot reach the threshold (``ratio <= 200 * min(len) / (len_a + len_b)``), so accounts
are numbered by name length and each block is cut to the length window with two bisections.
The second is a budget: blocks are scored smallest first, and the first block that would take
the candidates past ``max_candidates`` is skipped with every larger one (very common words:
"global", "solutions", "and"). If that skips all the blocks of the lead's own words, the
smallest of those is scored anyway (or, when no word of the lead's is in the index, the
smallest block of all), so a lead always meets the accounts sharing its rarest word. A close
match shares most of the lead's words, so it sits in a small block too.

Measured at 1,000,000 synthetic accounts (the names of ``bench/accounts.py``), on 300 typo'd
leads at threshold 85, the share given brute force's best score: words alone 79%, words plus a
4-letter prefix of the name 87%, words plus their typo neighbours 99.7%, for 2,600 candidates
per lead instead of 1,500 and 120 MiB instead of 99.

What this guarantees (tested against brute force): when the budget skips nothing, ``match``
returns exactly brute force's answer (best score, then lowest account id) among the accounts
that share a block with the lead, so whenever the overall best account shares a word with the
lead, ``match`` finds it. Whatever the budget, a match's score is its true score, at least the
threshold, and never more than brute force's best.
"""

from __future__ import annotations

import math
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel

from leadrelay.domain.company import company_tokens
from leadrelay.domain.org import Account

# The candidate budget per lead (see the module docstring): at 0.2-0.4 us per candidate
# (gathering and scoring, cache misses included) 5,000 candidates cost 1-2 ms.
DEFAULT_MAX_CANDIDATES = 5_000
# Typo neighbours need a word this long on one side: in shorter words one typo is a third.
MIN_TYPO_WORD = 4
# Results fetched per scoring pass; if all tie with the best, the pass is repeated unlimited.
_TIE_PROBE = 8


@dataclass(frozen=True, slots=True)
class NameMatch:
    """The account a lead's company name was matched to, and how well."""

    account: Account
    score: float  # token_sort_ratio of the two normalised names, 0-100
    key: str  # the lead's normalised company name
    matched_name: str  # the account's name as stored


def _deletions(word: str) -> Iterator[str]:
    seen = set()
    for i in range(len(word)):
        variant = word[:i] + word[i + 1 :]
        if variant not in seen:
            seen.add(variant)
            yield variant


class AccountIndex:
    """Accounts by normalised name, blocked by word; immutable once built.

    Accounts whose names normalise to "" are left out. Of accounts whose names have the same
    words (in any order), only the one with the lowest id is kept: it wins every tie anyway.
    ``max_candidates`` is the per-lead budget of the module docstring; ``typo_tolerant=False``
    leaves out the typo neighbours (a fifth less memory, and names are found only through a
    shared word).
    """

    __slots__ = (
        "_accounts",
        "_first_of_length",
        "_keys",
        "_max_candidates",
        "_offsets",
        "_postings",
        "_tid_bits",
        "_typo_tolerant",
        "_variants",
        "_vocab",
        "_words",
    )

    def __init__(
        self,
        accounts: Iterable[Account],
        *,
        max_candidates: int = DEFAULT_MAX_CANDIDATES,
        typo_tolerant: bool = True,
    ) -> None:
        if max_candidates < 1:
            raise ValueError(f"max_candidates must be at least 1, not {max_candidates}")
        self._max_candidates = max_candidates
        best: dict[str, Account] = {}
        for account in accounts:
            tokens = company_tokens(account.name)
            if not tokens:
                continue
            key = " ".join(sorted(tokens))
            held = best.get(key)
            if held is None or account.id < held.id:
                best[key] = account
        # Numbered by name length (then name), so each block is sorted by length too.
        keys = sorted(best)
        keys.sort(key=len)
        self._keys = keys
        self._accounts = [best[k] for k in keys]
        del best
        max_len = len(keys[-1]) if keys else 0
        first = array("l", [0] * (max_len + 2))
        length = 0
        for i, key in enumerate(keys):
            while length < len(key):
                length += 1
                first[length] = i
        for n in range(length + 1, max_len + 2):
            first[n] = len(keys)
        self._first_of_length = first
        self._build_blocks(keys)
        self._build_variants(typo_tolerant)

    def _build_blocks(self, keys: list[str]) -> None:
        # Compressed rows: the accounts holding word t are _postings[_offsets[t]:_offsets[t+1]].
        vocab: dict[str, int] = {}
        counts: list[int] = []
        for key in keys:
            for word in set(key.split()):
                tid = vocab.get(word)
                if tid is None:
                    vocab[word] = len(counts)
                    counts.append(1)
                else:
                    counts[tid] += 1
        offsets = array("l", [0])
        total = 0
        for count in counts:
            total += count
            offsets.append(total)
        cursor = array("l", offsets[:-1])
        postings = array("i", bytes(4 * total))
        for i, key in enumerate(keys):
            for word in set(key.split()):
                tid = vocab[word]
                postings[cursor[tid]] = i
                cursor[tid] += 1
        self._vocab = vocab
        self._words = list(vocab)
        self._offsets = offsets
        self._postings = postings

    def _build_variants(self, typo_tolerant: bool) -> None:
        # Sorted (hash of a one-deletion variant, word id) pairs packed into one int64 each.
        self._tid_bits = max(len(self._words).bit_length(), 1)
        hash_mask = (1 << (63 - self._tid_bits)) - 1
        packed: list[int] = []
        self._typo_tolerant = typo_tolerant
        if typo_tolerant:
            for tid, word in enumerate(self._words):
                if len(word) >= MIN_TYPO_WORD:
                    packed.extend(
                        ((hash(v) & hash_mask) << self._tid_bits) | tid for v in _deletions(word)
                    )
        packed.sort()
        self._variants = array("q", packed)

    def __len__(self) -> int:
        """The number of distinct names indexed."""
        return len(self._keys)

    def memory_bytes(self) -> int:
        """Roughly the bytes held by the index itself (not the Account objects it refers to)."""
        size = sys.getsizeof
        total = size(self._keys) + sum(size(k) for k in self._keys) + size(self._accounts)
        total += size(self._vocab) + size(self._words) + sum(size(w) for w in self._words)
        return total + sum(
            size(a) for a in (self._offsets, self._postings, self._variants, self._first_of_length)
        )

    def _variant_tids(self, text: str) -> Iterator[int]:
        mask = (1 << self._tid_bits) - 1
        h = hash(text) & ((1 << (63 - self._tid_bits)) - 1)
        variants = self._variants
        i = bisect_left(variants, h << self._tid_bits)
        end = (h + 1) << self._tid_bits
        while i < len(variants) and variants[i] < end:
            yield variants[i] & mask
            i += 1

    def _neighbours(self, word: str) -> set[int]:
        """Ids of vocabulary words one typo away from ``word`` (not ``word`` itself)."""
        found: set[int] = set()
        # no variants only means no indexed word is long enough to lose a character: a lead
        # word may still be an indexed word with one character more
        if not self._typo_tolerant or len(word) < MIN_TYPO_WORD - 1:
            return found
        found.update(self._variant_tids(word))  # the lead lost a character
        if len(word) >= MIN_TYPO_WORD:
            for variant in _deletions(word):
                tid = self._vocab.get(variant)  # the lead gained a character
                if tid is not None:
                    found.add(tid)
                found.update(self._variant_tids(variant))  # replaced or swapped
        words = self._words
        return {
            t
            for t in found
            if words[t] != word
            and abs(len(words[t]) - len(word)) <= 1
            and Indel.distance(word, words[t], score_cutoff=2) <= 2
        }

    def _window(self, length: int, threshold: float) -> tuple[int, int]:
        """The account numbers whose name length can reach ``threshold`` against ``length``."""
        first = self._first_of_length
        last = len(first) - 1  # first[last] is the number of names
        t = threshold / 100
        shortest = length * t / (2 - t)
        longest = length * (2 - t) / t if t > 0 else math.inf
        # Widened by a hair so that rounding never drops a name exactly at the threshold.
        lo = first[min(max(math.ceil(shortest - 1e-9), 0), last)]
        hi = first[last] if longest >= last else first[min(math.floor(longest + 1e-9) + 1, last)]
        return lo, hi

    def _candidates(self, tokens: list[str], lo: int, hi: int) -> list[int]:
        vocab, offsets, postings = self._vocab, self._offsets, self._postings
        words = set(tokens)
        own = {tid for tid in map(vocab.get, words) if tid is not None}
        typo: set[int] = set()
        for word in words:
            typo |= self._neighbours(word)
        blocks = []  # (size, not one of the lead's own words, start, stop)
        for tid in own | typo:
            start = bisect_left(postings, lo, offsets[tid], offsets[tid + 1])
            stop = bisect_left(postings, hi, start, offsets[tid + 1])
            if stop > start:
                blocks.append((stop - start, tid not in own, start, stop))
        if not blocks:
            return []
        blocks.sort()
        chosen = []
        total = 0
        for block in blocks:
            if total + block[0] > self._max_candidates:
                break
            chosen.append(block)
            total += block[0]
        if all(typo_word for _, typo_word, _, _ in chosen):
            fallback = next((block for block in blocks if not block[1]), None)
            if fallback is None and not chosen:
                fallback = blocks[0]
            if fallback is not None:
                chosen.append(fallback)
        if len(chosen) == 1:
            _, _, start, stop = chosen[0]
            return postings[start:stop].tolist()
        merged: set[int] = set()
        for _, _, start, stop in chosen:
            merged.update(postings[start:stop])
        return list(merged)

    def match(self, company: str | None, threshold: float) -> NameMatch | None:
        """The best account for a lead's company name scoring at least ``threshold``, or None.

        Ties go to the lowest account id (string order). None for an empty or missing name.
        """
        if not 0 <= threshold <= 100:
            raise ValueError(f"threshold must be between 0 and 100, not {threshold}")
        if not company or not self._keys:
            return None
        tokens = company_tokens(company)
        if not tokens:
            return None
        query = " ".join(sorted(tokens))
        lo, hi = self._window(len(query), threshold)
        numbers = self._candidates(tokens, lo, hi)
        if not numbers:
            return None
        keys = self._keys
        choices = list(map(keys.__getitem__, numbers))
        limit: int | None = _TIE_PROBE
        while True:
            found = process.extract(
                query,
                choices,
                scorer=fuzz.ratio,
                processor=None,
                score_cutoff=threshold,
                limit=limit,
            )
            if not found:
                return None
            top = found[0][1]
            tied = [numbers[i] for _, score, i in found if score == top]
            if limit is None or len(found) < limit or len(tied) < len(found):
                break
            limit = None
        account = min((self._accounts[n] for n in tied), key=lambda a: a.id)
        return NameMatch(account, top, " ".join(tokens), account.name)
