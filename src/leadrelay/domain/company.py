"""Company names as a key: what is left of a name once spelling and legal form are set aside.

"ACME Corporation", "Acme Corp." and "The Acme Company, Inc." are one company to a sales team;
:func:`normalise_company` makes them one string ("acme"), so that fuzzy matching only has to
forgive real differences (typos, a missing word), not formatting.
"""

from __future__ import annotations

import re
import unicodedata

# Tokens dropped from the end of a name: legal forms only. Words such as "holdings", "group",
# "international" or "partners" stay: "Acme Holdings" and "Acme" can be different customers.
LEGAL_FORMS = frozenset(
    {
        "inc", "incorporated", "llc", "pllc", "ltd", "limited", "corp", "corporation", "co",
        "company", "cie", "plc", "gmbh", "ag", "kg", "kgaa", "sa", "sarl", "sas", "sasu", "sl",
        "srl", "spa", "bv", "nv", "oy", "oyj", "ab", "as", "asa", "aps", "pty", "kk", "lp",
        "llp", "pte", "pvt", "se", "ltda", "sdn", "bhd",
    }
)  # fmt: skip

# "private" is a legal form only in front of "limited" (India, Singapore): "Acme Private Ltd".
_PRIVATE_BEFORE = frozenset({"limited", "ltd"})

# Letters that NFKD does not decompose into a base letter and a combining mark.
_LETTERS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i"}
)
_APOSTROPHES = re.compile("['`\u2018\u2019\u00b4]")  # straight, back, curly, acute
# Single letters joined by dots: "s.a.", "l.l.c", "j. p." -> "sa", "llc", "jp".
_DOTTED = re.compile(r"(?<!\w)[a-z](?:\.\s?[a-z](?!\w))+\.?")
# Single letters joined by a slash: "a/s" -> "as".
_SLASHED = re.compile(r"(?<!\w)([a-z])/([a-z])(?!\w)")
_SEPARATORS = re.compile(r"[\W_]+")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LETTERS)


def company_tokens(name: str) -> list[str]:
    """The words of :func:`normalise_company`, in order (an empty list for a blank name)."""
    text = name.casefold()
    if not text.isascii():
        # apostrophes first: NFKD splits an acute accent into a space and a mark
        text = _strip_accents(_APOSTROPHES.sub("", text)).casefold()
    text = text.replace("'", "").replace("`", "").replace("&", " and ")
    if "." in text:
        text = _DOTTED.sub(lambda m: m.group().replace(".", "").replace(" ", ""), text)
    if "/" in text:
        text = _SLASHED.sub(r"\1\2", text)
    tokens = _SEPARATORS.sub(" ", text).split()
    if len(tokens) > 1 and tokens[0] == "the":
        del tokens[0]
    elif len(tokens) > 1 and tokens[-1] == "the":  # "Acme Company, The"
        del tokens[-1]
    dropped = ""
    while len(tokens) > 1:
        last = tokens[-1]
        if (
            last in LEGAL_FORMS
            or (last == "private" and dropped in _PRIVATE_BEFORE)
            or (last == "and" and dropped != "")  # "Smith & Co": the "and" belonged to "Co"
        ):
            dropped = tokens.pop()
        else:
            break
    return tokens


def normalise_company(name: str) -> str:
    """The comparable form of a company name; "" only when the name has no letters or digits.

    The rules, in order:

    1. casefold ("ACME" -> "acme", "Straße" -> "strasse");
    2. strip accents: NFKD, then drop combining marks ("Café Crème" -> "cafe creme"), and map
       the few letters NFKD keeps whole ("ø" -> "o", "æ" -> "ae", "ł" -> "l", ...);
    3. delete apostrophes ("McDonald's" -> "mcdonalds"), and read "&" as "and";
    4. join single letters written with dots or a slash ("S.A." -> "sa", "L.L.C." -> "llc",
       "J. P. Morgan" -> "jp morgan", "A/S" -> "as");
    5. every other run of punctuation or whitespace becomes one space ("Acme, Inc." -> "acme
       inc");
    6. drop a leading "the" (or a trailing one: "Acme Company, The");
    7. drop trailing legal forms (:data:`LEGAL_FORMS`, and "private" before "limited") again
       and again, with an "and" they leave dangling ("Müller GmbH & Co. KG" -> "muller").
       Only legal forms go: "holdings", "group" or "partners" stay.

    Steps 6 and 7 never remove the last word: "The Company" -> "company", "Inc." -> "inc".
    """
    return " ".join(company_tokens(name))
