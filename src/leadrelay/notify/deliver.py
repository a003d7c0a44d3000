"""Delivering one message: email over SMTP, or a JSON webhook signed with HMAC-SHA256.

A webhook request carries ``Idempotency-Key`` (the same on every attempt),
``X-Leadrelay-Timestamp`` and ``X-Leadrelay-Signature: sha256=<hex>``, the HMAC of
``"<timestamp>.<body>"`` under the key named by the webhook's ``secret_env``; a receiver checks
both and drops keys it has seen. The body's ``text`` field makes it a valid Slack message.
An email's Message-ID is derived from the same key, so repeats are recognisable there too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any


class DeliveryError(Exception):
    """The message did not arrive this time; the worker will try again later."""


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    sender: str = "leadrelay@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0


def send_email(smtp: SmtpSettings, to: str, subject: str, text: str, idempotency_key: str) -> None:
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{idempotency_key}@leadrelay>"
    message["X-Leadrelay-Idempotency-Key"] = idempotency_key
    message.set_content(text)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as server:
            if smtp.starttls:
                server.starttls()
            if smtp.username:
                server.login(smtp.username, smtp.password or "")
            server.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP {smtp.host}:{smtp.port}: {exc}") from exc


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def post_webhook(
    url: str,
    payload: dict[str, Any],
    idempotency_key: str,
    *,
    secret_env: str | None,
    timestamp: str,
    timeout_s: float = 10.0,
) -> None:
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": idempotency_key,
        "X-Leadrelay-Timestamp": timestamp,
        "User-Agent": "leadrelay-worker",
    }
    if secret_env:
        secret = os.environ.get(secret_env)
        if not secret:
            raise DeliveryError(f"webhook signing key ${secret_env} is not set for the worker")
        headers["X-Leadrelay-Signature"] = sign(secret, timestamp, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook {url}: HTTP {exc.code}") from exc
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"webhook {url}: {exc}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook {url}: HTTP {status}")
