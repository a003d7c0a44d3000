"""Who is looking at a page: a signed session cookie, or an API key sent as for the API.

Signing in means pasting an API key once. The cookie then holds only the key's public prefix
and a CSRF token, signed with HMAC-SHA256 under ``LEADRELAY_SESSION_SECRET`` (HttpOnly,
SameSite=Strict, 12 hours). Every request looks the prefix up in the store again, so revoking
the key signs its sessions out. Every POST from a cookie session must carry the session's CSRF
token (form field ``csrf`` or header ``X-CSRF-Token``); a request signed in by header needs
none, since a browser never adds that header to another site's request.

Without ``LEADRELAY_SESSION_SECRET`` each process signs with a random secret of its own: the
sessions end when it restarts, and do not carry between several worker processes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.responses import Response

from leadrelay import settings
from leadrelay.api.service import Service
from leadrelay.store import reader
from leadrelay.store.keys import ApiKey, live_key_by_prefix

COOKIE = "leadrelay_session"
MAX_AGE_S = 12 * 3600
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Session:
    """What the cookie holds: the signed-in key's prefix (None before sign-in) and a CSRF token."""

    prefix: str | None
    csrf: str
    issued: int

    @classmethod
    def new(cls, prefix: str | None = None) -> Session:
        return cls(prefix, secrets.token_urlsafe(24), int(time.time()))


class Signer:
    """Turns a Session into cookie text and back; a changed or stale cookie reads as None."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"leadrelay session\0" + secret.encode()).digest()

    def dumps(self, session: Session) -> str:
        body = json.dumps({"p": session.prefix, "c": session.csrf, "t": session.issued})
        payload = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
        return f"{payload}.{self._mac(payload)}"

    def loads(self, text: str, *, now: float | None = None) -> Session | None:
        payload, _, mac = text.partition(".")
        if not mac or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            data: Any = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            session = Session(data["p"], str(data["c"]), int(data["t"]))
        except (ValueError, KeyError, TypeError):
            return None
        age = (time.time() if now is None else now) - session.issued
        if not 0 <= age <= MAX_AGE_S or not (
            session.prefix is None or isinstance(session.prefix, str)
        ):
            return None
        return session

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()


def signer_from_settings() -> Signer:
    secret = settings.session_secret()
    if secret is None:
        log.warning(
            "LEADRELAY_SESSION_SECRET is not set: web sessions use a random secret of this"
            " process (they end when it restarts and do not work across several workers)"
        )
        secret = secrets.token_hex(32)
    return Signer(secret)


@dataclass(frozen=True, slots=True)
class Viewer:
    """A signed-in caller of a page. ``session`` is None when signed in by an API key header."""

    key: ApiKey
    session: Session | None

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session else ""


def signer(request: Request) -> Signer:
    found: Signer | None = getattr(request.app.state, "page_signer", None)
    if found is None:
        found = request.app.state.page_signer = signer_from_settings()
    return found


def read_session(request: Request) -> Session | None:
    text = request.cookies.get(COOKIE)
    return None if not text else signer(request).loads(text)


def header_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


def identify(request: Request, svc: Service) -> Viewer | None:
    """The caller: by API key header first, else by session cookie; None if neither holds."""
    token = header_token(request)
    if token is not None:
        key = svc.caller(token)
        return None if key is None else Viewer(key, None)
    session = read_session(request)
    if session is None or session.prefix is None:
        return None
    key = live_key(svc, session.prefix)
    return None if key is None else Viewer(key, session)


def live_key(svc: Service, prefix: str) -> ApiKey | None:
    """The unrevoked key with this prefix (looked up on every request: revoking signs out)."""
    with reader(svc.engine).connect() as conn:
        return live_key_by_prefix(conn, prefix)


def csrf_ok(session: Session | None, sent: str | None) -> bool:
    return session is not None and bool(sent) and hmac.compare_digest(session.csrf, sent or "")


def set_cookie(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        signer(request).dumps(session),
        max_age=MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
