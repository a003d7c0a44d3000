"""How a cell or a lead's value becomes model input: one conversion for training and scoring.

Training reads CSV text; scoring reads a lead's fields (typed standard fields, custom attributes
often still text). Both go through these two functions, so a value means the same to the model
whichever way it arrives, and the fast path and ``predict_proba`` see identical inputs.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

MISSING = "(missing)"  # the category of an empty categorical value: missingness can be telling

# cells that mean "no value" in exports, beside the empty cell
_MISSING_TEXT = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "?", "#n/a"})
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_SPACES = re.compile(r"\s+")


def is_missing_text(text: str) -> bool:
    return text.strip().lower() in _MISSING_TEXT


def to_number(value: Any) -> float | None:
    """A finite float, or None when the value is missing or not a number (tolerated as missing)."""
    if value is None or isinstance(value, datetime | date):
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        number_or_none = parse_number(value)
        if number_or_none is None:
            return None
        number = number_or_none
    else:
        return None
    return number if math.isfinite(number) else None


def parse_number(text: str) -> float | None:
    """``"1,200.5"`` -> 1200.5; None for missing or non-numeric text."""
    text = text.strip()
    if text.lower() in _MISSING_TEXT:
        return None
    try:
        return float(text)
    except ValueError:
        if _THOUSANDS.fullmatch(text):
            return float(text.replace(",", ""))
        return None


def to_category(value: Any) -> str:
    """A category label: case and spacing folded, so ``"Referral "`` and ``"referral"`` agree."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _SPACES.sub(" ", str(value)).strip().casefold()
    return MISSING if text in _MISSING_TEXT else text
