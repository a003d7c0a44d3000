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


def log_format() -> str:
    """How leadrelay writes its logs (``LEADRELAY_LOG_FORMAT``): ``text`` (default) or ``json``
    (one JSON object per line, for a log shipper)."""
    return os.environ.get("LEADRELAY_LOG_FORMAT", "").strip().lower() or "text"


def metrics_public() -> bool:
    """Whether ``/metrics`` answers without an API key (``LEADRELAY_METRICS_PUBLIC=1``): only for
    a scraper on a closed network; by default it needs an admin or manager key."""
    return os.environ.get("LEADRELAY_METRICS_PUBLIC", "").strip().lower() in ("1", "true", "yes")


def metrics_dir() -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR``: where several processes (uvicorn workers, ``leadrelay
    worker``) on one host pool their counters for ``/metrics``; None: each process its own."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def group_commit() -> bool:
    """Whether the API routes concurrent ``POST /v1/leads`` in shared transactions (group
    commit; ``LEADRELAY_GROUP_COMMIT``, on unless ``0``/``false``/``no``)."""
    return os.environ.get("LEADRELAY_GROUP_COMMIT", "").strip().lower() not in ("0", "false", "no")


def router_socket() -> str | None:
    """The Unix socket of the routing process ``leadrelay serve`` started
    (``LEADRELAY_ROUTER_SOCKET``, set by serve for its workers); None: each worker routes its
    own leads in a thread."""
    return os.environ.get("LEADRELAY_ROUTER_SOCKET") or None


def group_max() -> int:
    """Most leads in one group commit (``LEADRELAY_GROUP_MAX``, default 200)."""
    return _positive_int("LEADRELAY_GROUP_MAX", 200)


def group_wait_ms() -> float:
    """How long a group commit waits for more leads once routing is busy
    (``LEADRELAY_GROUP_WAIT_MS``, default 0: it takes what queued while the last group ran;
    a lone lead never waits)."""
    raw = os.environ.get("LEADRELAY_GROUP_WAIT_MS", "").strip()
    try:
        value = float(raw) if raw else 0.0
    except ValueError:
        raise ValueError(f"LEADRELAY_GROUP_WAIT_MS={raw!r}: expected milliseconds") from None
    if not 0 <= value <= 1000:
        raise ValueError(f"LEADRELAY_GROUP_WAIT_MS={raw!r}: expected 0 to 1000 ms")
    return value


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name}={raw!r}: expected a whole number of 1 or more")
    return int(raw)
