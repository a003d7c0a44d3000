"""The only reader of environment variables."""

from __future__ import annotations

import os

DEFAULT_DB_URL = "sqlite:///leadrelay.db"


def database_url(explicit: str | None = None) -> str:
    """The database URL: an explicit ``--db`` wins, then ``LEADRELAY_DB``, then SQLite."""
    return explicit or os.environ.get("LEADRELAY_DB") or DEFAULT_DB_URL


def session_secret() -> str | None:
    """The key that signs web page sessions (``LEADRELAY_SESSION_SECRET``); None if unset."""
    return os.environ.get("LEADRELAY_SESSION_SECRET") or None
