"""The API's answer when its database cannot be reached: 503 with Retry-After and the error
shape, fast (no PostgreSQL needed: the engine points at a port where nothing listens)."""

from __future__ import annotations

import socket
import time

from fastapi.testclient import TestClient

from leadrelay.api import create_app
from leadrelay.store import make_engine


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens


def test_a_database_that_refuses_connections_is_a_clean_503() -> None:
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/leadrelay")
    try:
        with TestClient(create_app(engine=engine)) as client:
            started = time.monotonic()
            answer = client.post(
                "/v1/leads",
                json={"external_id": "x-1", "email": "jo@acme.example"},
                headers={"Authorization": "Bearer lr_anything"},
            )
            took = time.monotonic() - started
    finally:
        engine.dispose()
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "1"
    body = answer.json()
    assert body["detail"].startswith("the database is unavailable (")
    assert "nothing was stored" in body["detail"] and body["problems"] == []
    assert took < 5


def test_a_bug_in_a_statement_is_still_a_500_not_a_503() -> None:
    from sqlalchemy.exc import IntegrityError, OperationalError

    from leadrelay.api.errors import unavailable

    assert unavailable(OperationalError("SELECT 1", {}, Exception("server closed")))
    assert not unavailable(IntegrityError("INSERT", {}, Exception("duplicate key")))
