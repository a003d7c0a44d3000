"""Structured logs: one record per routed lead and per request, worker events, and no secret
ever written: API keys, the SMTP password, webhook HMAC secrets and URLs, session cookies."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from leadrelay.api import create_app
from leadrelay.domain.org import Team
from leadrelay.domain.rep import Rep
from leadrelay.notify.deliver import SmtpSettings
from leadrelay.observe.logs import (
    DropQuery,
    JsonFormatter,
    TextFormatter,
    lean_records,
    log_config,
    redact,
)
from leadrelay.observe.logs import (
    formatter as make_formatter,
)
from leadrelay.policy import load_policy_text
from leadrelay.store import activate, open_store, save_policy, save_reps, save_teams
from leadrelay.store.keys import create_key
from leadrelay.web.session import COOKIE
from leadrelay.workflow.worker import WorkerConfig, deliver_due

SMTP_PASSWORD = "smtp-Pa55word-do-not-log"
HMAC_SECRET = "hmac-5ecret-do-not-log"
SESSION_SECRET = "session-5ecret-do-not-log"
HOOK_PATH = "/services/T0001/B0002/XyZsecretPathToken"
POLICY = """\
version: 1
notifications:
  email: true
  webhooks: [{name: crm, url: '%s', secret_env: LEADRELAY_TEST_LOG_HOOK}]
routes:
  - name: everyone
    to: {team: sales}
    strategy: round_robin
    sla: {accept_within: 1h, business_hours: false}
"""


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything any logger writes, at every level, through both formatters."""
    out = io.StringIO()
    handlers = []
    for formatter in (JsonFormatter(), TextFormatter()):
        handler = logging.StreamHandler(out)
        handler.setFormatter(formatter)
        handlers.append(handler)
    root = logging.getLogger()
    ours = logging.getLogger("leadrelay")
    old_levels = (root.level, ours.level)
    root.setLevel(logging.DEBUG)
    ours.setLevel(logging.DEBUG)
    for handler in handlers:
        root.addHandler(handler)
    yield out
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(old_levels[0])
    ours.setLevel(old_levels[1])


@pytest.fixture
def hook() -> Iterator[tuple[str, list[int]]]:
    """A webhook receiver that fails its first request, then accepts."""
    seen: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(1)
            self.send_response(503 if len(seen) == 1 else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}{HOOK_PATH}", seen
    server.shutdown()
    server.server_close()


class Mailbox:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_nothing_secret_is_ever_logged(
    tmp_path: Path,
    captured: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    hook: tuple[str, list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    # the test client's own request log (it prints the URL it was given) is the caller's, not ours
    caplog.set_level(logging.WARNING, logger="httpx2")
    hook_url, hook_calls = hook
    monkeypatch.setenv("LEADRELAY_TEST_LOG_HOOK", HMAC_SECRET)
    monkeypatch.setenv("LEADRELAY_SESSION_SECRET", SESSION_SECRET)
    engine = open_store(f"sqlite:///{tmp_path / 'leadrelay.db'}")
    with engine.begin() as conn:
        save_reps(
            conn, [Rep(r, email=f"{r}@sales.example", teams=("sales",)) for r in ("ana", "bo")]
        )
        save_teams(conn, [Team("sales", owner="ana")])
        policy = load_policy_text(POLICY % hook_url, reps={"ana", "bo"})
        activate(conn, save_policy(conn, policy))
        tokens = {role: create_key(conn, role)[1] for role in ("admin", "manager")}
        tokens["rep"] = create_key(conn, "rep", rep_id="bo")[1]
    cookies: list[str] = []
    with TestClient(create_app(engine=engine)) as client:
        manager = {"Authorization": f"Bearer {tokens['manager']}"}
        ids = [
            client.post("/v1/leads", json={"email": f"p{i}@x.example", "external_id": f"e{i}"},
                        headers=manager).json()["lead_id"]
            for i in range(2)
        ]  # fmt: skip
        batch = {"leads": [{"email": "b@x.example", "external_id": "b1"}]}
        assert client.post("/v1/leads/batch", json=batch, headers=manager).status_code == 200
        client.get("/v1/leads", headers={"X-API-Key": tokens["rep"]})
        client.get(f"/v1/leads?api_key={tokens['admin']}")  # a key where keys do not go
        client.get("/v1/leads", headers={"Authorization": f"Bearer {tokens['admin']}x"})
        form = client.get("/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        signed = client.post("/signin", data={"key": tokens["admin"], "csrf": csrf.group(1)},
                             follow_redirects=False)  # fmt: skip
        assert signed.status_code == 303
        cookies.append(client.cookies[COOKIE])
        assert client.get("/console").status_code == 200

    port = free_port()
    mailbox = Controller(Mailbox(), hostname="127.0.0.1", port=port)
    mailbox.start()
    try:
        # the server offers no AUTH, so every email fails with the password set: logged failures
        smtp = SmtpSettings(host="127.0.0.1", port=port, username="u", password=SMTP_PASSWORD,
                            timeout_s=5)  # fmt: skip
        config = WorkerConfig(smtp=smtp, batch=100)
        later = datetime.now(UTC) + timedelta(hours=2)  # past every accept deadline
        for step in range(3):
            deliver_due(engine, config, lambda step=step: later + timedelta(minutes=10 * step))
    finally:
        mailbox.stop()
    engine.dispose()
    assert len(hook_calls) >= 2  # failed once, then delivered

    text = captured.getvalue() + "\n" + caplog.text
    secrets = [*tokens.values(), *(t.split("_", 2)[2] for t in tokens.values()), SMTP_PASSWORD,
               HMAC_SECRET, SESSION_SECRET, HOOK_PATH, "XyZsecretPathToken", *cookies]  # fmt: skip
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == [], f"secrets in the logs: {leaked}"

    lines = records(captured.getvalue())
    routed = [r for r in lines if r["logger"] == "leadrelay.routing"]
    assert {r["lead_id"] for r in routed} >= set(ids)
    assert all(r["decision_id"] == r["lead_id"] and r["status"] and "ms" in r for r in routed)
    assert {r["external_id"] for r in routed} == {"e0", "e1", "b1"}
    http = [r for r in lines if r["logger"] == "leadrelay.http"]
    prefixes = {t.split("_")[1] for t in tokens.values()}
    assert {r["key"] for r in http} >= {*prefixes, None}
    assert all("?" not in r["path"] for r in http)
    assert {"/v1/leads", "/v1/leads/batch", "/signin", "/console"} <= {r["path"] for r in http}
    worker = [r for r in lines if r["logger"] == "leadrelay.worker"]
    assert any(r["msg"] == "SLA breached" and r["kind"] == "accept" for r in worker)
    failed = [r for r in worker if r["msg"].startswith("notification failed")]
    assert {r["channel"] for r in failed} == {"email", "webhook"}
    assert any(r["msg"] == "notification delivered" and r["channel"] == "webhook" for r in worker)
    assert all(r.get("host", "http://127.0.0.1") == "http://127.0.0.1" for r in worker)


def test_uvicorn_access_lines_lose_their_query_string() -> None:
    from uvicorn.logging import AccessFormatter

    token = "lr_0123abcd_" + "s" * 32
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/v1/leads?api_key={token}&x=1", "1.1", 401), None,
    )  # fmt: skip
    assert DropQuery().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(record)
    assert token not in line and "/v1/leads" in line
    config = log_config("json", access_log=True)
    assert config["loggers"]["uvicorn.access"]["handlers"] == []  # leadrelay.http instead
    assert config["loggers"]["leadrelay.http"]["level"] == "INFO"
    assert log_config("text")["loggers"]["leadrelay.http"]["level"] == "WARNING"
    with pytest.raises(ValueError, match="json or text"):
        log_config("xml")


def test_a_key_that_slips_into_a_message_is_masked_to_its_prefix() -> None:
    token = "lr_0123abcd_AbC-dEf_123456789012345678901234"
    assert redact(f"called with {token} twice") == "called with lr_0123abcd_*** twice"
    record = logging.LogRecord("leadrelay", logging.INFO, __file__, 1, "key %s", (token,), None)
    for formatter in (JsonFormatter(), TextFormatter()):
        assert token not in formatter.format(record)
        assert "lr_0123abcd_***" in formatter.format(record)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_lean_records_lose_nothing_the_formatters_print(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The routing process turns off caller, thread and process lookups for its records
    (``lean_records``): every line reads exactly as before."""
    for switch in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, switch, getattr(logging, switch))  # restored after

    def lines() -> list[str]:
        out = io.StringIO()
        handler = logging.StreamHandler(out)
        handler.setFormatter(make_formatter(fmt))
        handler.addFilter(_fixed_time)
        logger = logging.getLogger("leadrelay.routing.lean-test")
        logger.addHandler(handler)
        logger.propagate = False
        try:
            logger.warning("lead routed", extra={"lead_id": 7, "owner": "ana", "ms": 1.5})
            try:
                raise ValueError("boom")
            except ValueError:
                logger.exception("routing a lead failed")
        finally:
            logger.removeHandler(handler)
        return out.getvalue().splitlines()

    before = lines()
    lean_records()
    assert logging._srcfile is None
    assert lines() == before
    assert "lead_id" in before[0] and "boom" in "\n".join(before)


def _fixed_time(record: logging.LogRecord) -> bool:
    record.created, record.msecs = 0.0, 0.0
    return True
