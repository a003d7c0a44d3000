"""Sticky splits of leads: experiments and modified round robin send a share of leads one way."""

from __future__ import annotations

import hashlib


def split_bucket(key: str, salt: str) -> float:
    """A sticky number in [0, 1) for (lead, experiment): the same lead always lands the same."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
