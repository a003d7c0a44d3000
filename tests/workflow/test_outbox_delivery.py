"""The outbox worker against a real local SMTP server and webhook receiver that are down for a
while, then up: every message arrives, none is lost, repeats carry the same idempotency key."""

from __future__ import annotations

import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from tests.builders import NOON, lead, policy, rep, route

from leadrelay.domain.decision import Decision, Status
from leadrelay.domain.org import Team
from leadrelay.notify.deliver import SmtpSettings, sign
from leadrelay.notify.messages import messages_for
from leadrelay.policy.schema import NotificationsModel, WebhookModel
from leadrelay.store import open_store, save_reps, save_teams
from leadrelay.store.outbox import claim_due, enqueue, pending_count
from leadrelay.workflow import route_lead
from leadrelay.workflow.worker import WorkerConfig, deliver_due

SECRET_ENV = "LEADRELAY_TEST_HOOK_SECRET"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Receiver:
    """A webhook endpoint that answers 503 to its first ``fail_first`` requests (after reading
    them: like a receiver that stored the message but crashed before answering)."""

    fail_first: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def keys(self) -> list[str]:
        return [headers["Idempotency-Key"] for headers, _ in self.received]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers.items()), body))
            code = 503 if len(state.received) <= state.fail_first else 200
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def _stored_decisions(engine: Engine, count: int) -> list[tuple[int, Decision]]:
    with engine.begin() as conn:
        save_reps(conn, [rep(r, email=f"{r}@sales.example", teams=("t",)) for r in ("ana", "bo")])
        save_teams(conn, [Team("t", owner="ana")])
    pol = policy(route("all", team="t"))
    out = []
    for i in range(count):
        result = route_lead(
            engine, lead(external_id=f"n-{i}", email=f"p{i}@x.example", received_at=NOON), pol
        )
        assert result.lead_id is not None
        out.append((result.lead_id, result.decision))
    return out


def test_messages_name_the_rep_and_why_with_a_stable_key() -> None:
    decision = Decision("k", Status.ASSIGNED, "round robin: bo was next", NOON, 3, owner="bo",
                        route="all", strategy="round_robin")  # fmt: skip
    settings = NotificationsModel(
        email=True, webhooks=[WebhookModel(name="slack", url="http://h/x", events=["assigned"])]
    )
    the_lead = lead(first_name="Ana", company="Acme", email="ana@acme.example")
    messages = messages_for(the_lead, 7, decision, settings, {"bo": "bo@s.example"})
    assert [(m.channel, m.target) for m in messages] == [
        ("email", "bo@s.example"),
        ("webhook", "http://h/x"),
    ]
    email = messages[0]
    assert "bo" in email.subject and "Ana" in email.subject and "Acme" in email.subject
    assert "round robin: bo was next" in email.text and "company: Acme" in email.text
    assert messages_for(the_lead, 7, decision, settings, {"bo": "bo@s.example"}) == messages
    assert len({m.idempotency_key for m in messages}) == 2
    screened = Decision("k", Status.SCREENED_OUT, "screened out", NOON, 3)
    assert messages_for(the_lead, 7, screened, settings, {}) == []
    duplicate = Decision("k", Status.DUPLICATE, "dup", NOON, 3, duplicate_of=2)
    told = messages_for(the_lead, 8, duplicate, settings, {"cy": "cy@s.example"},
                        original_owner="cy")  # fmt: skip
    assert [m.target for m in told] == ["cy@s.example"]  # the hook does not take duplicates


def test_everything_arrives_once_the_receivers_come_up(
    db_url: str, receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hook_state, hook_url = receiver
    hook_state.fail_first = 3
    monkeypatch.setenv(SECRET_ENV, "s3cret")
    engine = open_store(db_url)
    settings = NotificationsModel(
        email=True, webhooks=[WebhookModel(name="crm", url=hook_url, secret_env=SECRET_ENV)]
    )
    decided = _stored_decisions(engine, 4)
    with engine.begin() as conn:
        for lead_id, decision in decided:
            emails = {"ana": "ana@sales.example", "bo": "bo@sales.example"}
            messages = messages_for(lead(), lead_id, decision, settings, emails)
            enqueue(conn, lead_id, messages, NOON)
        assert pending_count(conn) == 8

    smtp_port = free_port()
    config = WorkerConfig(smtp=SmtpSettings(port=smtp_port, timeout_s=2), batch=100)
    clock = Clock(NOON)
    first = deliver_due(engine, config, clock)  # SMTP down, the hook failing
    assert (first.delivered, first.failed) == (1, 7)  # the 4th webhook call got through
    assert any("SMTP" in error for error in first.errors)

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        assert deliver_due(engine, config, clock).delivered == 0  # not due yet: backoff
        for _ in range(5):
            clock.now += timedelta(minutes=5)
            deliver_due(engine, config, clock)
    finally:
        controller.stop()
    with engine.connect() as conn:
        assert pending_count(conn) == 0
    engine.dispose()

    assert sorted(m.rcpt_tos[0] for m in mailbox.messages) == sorted(
        f"{d.owner}@sales.example" for _, d in decided
    )
    # the hook saw 4 distinct messages; the 3 it failed came again with the same key
    keys = hook_state.keys()
    assert len(keys) == 7 and len(set(keys)) == 4
    for headers, body in hook_state.received:
        expected = sign("s3cret", headers["X-Leadrelay-Timestamp"], body)
        assert hmac.compare_digest(headers["X-Leadrelay-Signature"], expected)
        payload = json.loads(body)
        assert payload["text"] and payload["lead_id"] and "_delivery" not in payload
        assert payload["idempotency_key"] == headers["Idempotency-Key"]


def test_two_workers_never_claim_the_same_message(db_url: str) -> None:
    engine = open_store(db_url)
    decided = _stored_decisions(engine, 1)
    lead_id, decision = decided[0]
    settings = NotificationsModel(
        webhooks=[WebhookModel(name=f"h{i}", url=f"http://127.0.0.1:9/{i}") for i in range(40)]
    )
    with engine.begin() as conn:
        enqueue(conn, lead_id, messages_for(lead(), lead_id, decision, settings, {}), NOON)
    claimed: list[list[int]] = []
    start = threading.Barrier(4)

    def claim() -> None:
        start.wait()
        mine: list[int] = []
        for _ in range(20):
            with engine.begin() as conn:
                mine.extend(item.id for item in claim_due(conn, NOON, limit=3))
        claimed.append(mine)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    every = [item for mine in claimed for item in mine]
    assert len(every) == len(set(every)) == 40
