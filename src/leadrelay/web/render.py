"""Templates (Jinja2, autoescaped) and the response headers every page carries.

Pages load nothing from another origin: the Content-Security-Policy allows only this server's
scripts, styles and images, so a page works on a closed network and an injected tag could not
reach out either.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from leadrelay.web.session import CSRF_FIELD, CSRF_HEADER, Viewer

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
HTMX = "htmx-2.0.11.min.js"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float | None) -> str:
    """``95`` -> ``1m 35s``; ``7200`` -> ``2h 0m``: the two largest units a person reads."""
    if seconds is None:
        return "\u2013"  # an en dash: no value
    left = int(abs(seconds))
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    if days:
        text = f"{days}d {hours}h"
    elif hours:
        text = f"{hours}h {minutes}m"
    elif minutes:
        text = f"{minutes}m {secs}s"
    else:
        text = f"{secs}s"
    return f"-{text}" if seconds < 0 else text


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return ""
    return duration(((now or datetime.now(UTC)) - moment).total_seconds()) + " ago"


def percent(value: float | None) -> str:
    return "\u2013" if value is None else f"{value * 100:.0f}%"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, duration=duration, ago=ago, percent=percent)
    env.globals.update(htmx=HTMX, csrf_field=CSRF_FIELD, csrf_header=CSRF_HEADER)
    return env


templates = Jinja2Templates(env=_environment())


def page(
    request: Request,
    name: str,
    viewer: Viewer | None,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a template with who is signed in (for the menu and the CSRF token)."""
    context.setdefault("notice", None)
    context.setdefault("problem", None)
    return templates.TemplateResponse(
        request, name, {"viewer": viewer, **context}, status_code=status, headers=HEADERS
    )
