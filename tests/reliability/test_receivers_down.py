"""Notification receivers down for most of an hour, then back: everything is delivered, every
repeat carries the same idempotency key and body, nothing is lost, and the worker backs off
instead of hammering them.

Routing writes the messages (an email to the rep and a webhook per lead) in the routing
transaction. The webhook receiver first refuses connections (nothing listens on its port),
then answers 503 for a while, then 200; the SMTP server is down until the same moment. The
worker runs rounds on a fake clock (``deliver_due(..., clock)``) that moves 30 s per round, so
40 minutes of outage take a fraction of a second. One worker also dies between sending and
recording (its lease expires and the message goes again with the same key).
"""

from __future__ import annotations

import socket
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func, select
from tests.builders import NOON, lead, rep

from leadrelay.notify.deliver import SmtpSettings
from leadrelay.policy import load_policy_text
from leadrelay.store import open_store, save_reps
from leadrelay.store.outbox import LEASE, claim_due, pending_count
from leadrelay.store.tables import outbox
from leadrelay.workflow import route_lead
from leadrelay.workflow.worker import WorkerConfig, _deliver, deliver_due

LEADS = 12
DOWN = timedelta(minutes=40)
FAILING = timedelta(minutes=10)  # of which the webhook answers 503 for the last 10
STEP = timedelta(seconds=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Hook:
    """The webhook receiver: 503 while ``failing``, else 200; keeps every request."""

    failing: bool = True
    received: list[tuple[str, bytes, int]] = field(default_factory=list)


def serve_hook(port: int, state: Hook) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            code = 503 if state.failing else 200
            state.received.append((self.headers["Idempotency-Key"], body, code))
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Mailbox:
    def __init__(self) -> None:
        self.keys: list[str] = []
        self.bodies: dict[str, set[bytes]] = defaultdict(set)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content
        key = next(
            line.split(b":", 1)[1].strip().decode()
            for line in content.splitlines()
            if line.lower().startswith(b"x-leadrelay-idempotency-key:")
        )
        self.keys.append(key)
        # the Date header differs per attempt; the rest is the message
        self.bodies[key].add(
            b"\n".join(x for x in content.splitlines() if not x.startswith(b"Date:"))
        )
        return "250 OK"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    store = open_store(db_url)
    yield store
    store.dispose()


def _outbox_keys(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(outbox.c.idempotency_key, outbox.c.channel)).all())


def test_receivers_down_for_minutes_get_everything_later_with_the_same_keys(
    engine: Engine,
) -> None:
    hook_port, smtp_port = free_port(), free_port()
    policy = load_policy_text(
        f"""\
notifications:
  email: true
  webhooks: [{{name: crm, url: "http://127.0.0.1:{hook_port}/hook", events: [assigned]}}]
routes:
  - {{name: all, to: {{reps: [ana, bo]}}, strategy: round_robin}}
""",
        reps={"ana", "bo"},
    )
    with engine.begin() as conn:
        save_reps(conn, [rep(r, email=f"{r}@sales.example") for r in ("ana", "bo")])
    for i in range(LEADS):
        route_lead(engine, lead(external_id=f"n{i}", email=f"p{i}@x.example"), policy)
    keys = _outbox_keys(engine)
    assert sorted(keys.values()) == ["email"] * LEADS + ["webhook"] * LEADS

    config = WorkerConfig(smtp=SmtpSettings(port=smtp_port, timeout_s=2), batch=100, timers=False)
    clock = Clock(NOON)
    # A worker that sends one message and dies before recording it (the receiver is down, so
    # nothing arrives; its claim holds the row for the lease).
    with engine.begin() as conn:
        orphan = claim_due(conn, clock(), limit=1)[0]

    hook = Hook()
    hook_server: ThreadingHTTPServer | None = None
    rounds = 0
    while clock.now < NOON + DOWN:  # down: refused, then the webhook answers 503
        if hook_server is None and clock.now >= NOON + DOWN - FAILING:
            hook_server = serve_hook(hook_port, hook)
        report = deliver_due(engine, config, clock)
        assert report.delivered == 0
        clock.now += STEP
        rounds += 1
    with engine.connect() as conn:
        attempts = list(conn.scalars(select(outbox.c.attempts)))
        assert pending_count(conn) == 2 * LEADS
    # backing off (1 s, 2 s, 4 s ... an hour): about a dozen tries in 40 minutes, not 80
    assert max(attempts) <= 13, attempts

    hook.failing = False
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    assert hook_server is not None
    try:
        # the orphan goes once more when its claim's lease ends (it has, long ago): same key
        _deliver(orphan, config, clock)  # the dead worker's send, arriving late
        up_at = clock.now
        while True:
            deliver_due(engine, config, clock)
            with engine.connect() as conn:
                if pending_count(conn) == 0:
                    break
            assert clock.now - up_at < timedelta(hours=1, minutes=5), "not delivered in time"
            clock.now += STEP
    finally:
        controller.stop()
        hook_server.shutdown()
        hook_server.server_close()

    delivered_hooks = {key for key, _, code in hook.received if code == 200}
    assert delivered_hooks == {k for k, channel in keys.items() if channel == "webhook"}
    assert set(mailbox.keys) == {k for k, channel in keys.items() if channel == "email"}
    # every repeat is the same message under the same key
    bodies: dict[str, set[bytes]] = defaultdict(set)
    for key, body, _ in hook.received:
        bodies[key].add(body)
    assert all(len(b) == 1 for b in bodies.values())
    assert all(len(b) == 1 for b in mailbox.bodies.values())
    assert orphan.idempotency_key in (delivered_hooks | set(mailbox.keys))
    assert LEASE < DOWN  # the orphan's claim ran out while the receivers were down
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).where(outbox.c.delivered_at.is_(None))) == 0
