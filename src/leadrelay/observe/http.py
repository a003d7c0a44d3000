"""The HTTP side of observability: ``GET /metrics`` and the middleware that times every request.

``/metrics`` is not in the OpenAPI schema. It needs an admin or manager API key, like the KPIs,
unless ``LEADRELAY_METRICS_PUBLIC=1`` opens it for a scraper on a closed network.

The middleware labels each request by its route template (``/v1/leads/{lead_id}``), never the
raw path, so the metrics stay a bounded set whatever clients send; unmatched paths share
``<unmatched>``. Its log record names the caller by the key's public prefix only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadrelay import settings
from leadrelay.api.auth import STAFF, require, service
from leadrelay.observe import metrics
from leadrelay.observe.logs import HTTP, key_prefix

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "<unmatched>"
_INFO = logging.INFO
_staff = require(*STAFF)

router = APIRouter(include_in_schema=False)


async def scraper(request: Request) -> None:
    """Lets a staff key through, or anyone when ``LEADRELAY_METRICS_PUBLIC`` is set."""
    if not settings.metrics_public():
        await _staff(request)


@router.get("/metrics", dependencies=[Depends(scraper)])
def prometheus_metrics(request: Request) -> Response:
    return Response(metrics.exposition(service(request).engine), media_type=CONTENT_TYPE)


def route_templates(routes: Sequence[BaseRoute]) -> dict[int, str]:
    """Each route object's full path template, by the object's id: FastAPI puts the route it
    matched in ``scope["route"]``, whose own ``path`` lacks the prefix it was included with."""
    return {
        id(context.original_route): context.path_format
        for context in iter_route_contexts(routes)
        if context.path_format
    }


class RequestObserver:
    """Times each HTTP request into ``leadrelay_http_request_seconds`` and logs it."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.routes = routes
        self._templates: dict[int, str] | None = None

    def route_template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        if self._templates is None:  # the routes are all in place by the first request
            self._templates = route_templates(self.routes)
        found = self._templates.get(id(route))
        if found is not None:
            return found
        path = getattr(route, "path", None)
        return path if isinstance(path, str) and path else UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = self.route_template(scope)
            metrics.http_request(scope["method"], route, status, seconds)
            if HTTP.isEnabledFor(_INFO):
                HTTP.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": route,
                        "status": status,
                        "ms": round(seconds * 1000, 3),
                        "key": _key(scope),
                    },
                )


def _key(scope: Scope) -> str | None:
    """The public prefix of the caller's API key, if a request sent one in a header."""
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return key_prefix(token.strip()) if scheme.lower() == "bearer" else "invalid"
        if name == b"x-api-key":
            return key_prefix(value.decode("latin-1").strip())
    return None
