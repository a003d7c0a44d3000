"""The HTTP service: ``create_app(url)`` builds the FastAPI app that ``leadrelay serve`` runs.

Endpoints live under ``/v1``; OpenAPI is at ``/openapi.json`` and the docs at ``/docs``.
Request bodies are limited (``max_body_bytes``): a larger one is refused with 413 before it is
read whole.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts
from sqlalchemy import Engine
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadrelay import __version__, settings
from leadrelay.api import errors, experiments, kpis, leads, org, policy
from leadrelay.api.auth import key_security
from leadrelay.api.quick_intake import PATH as QUICK_PATH
from leadrelay.api.quick_intake import QuickIntake
from leadrelay.api.schemas import LeadBatchIn, PolicyIn
from leadrelay.api.service import Service
from leadrelay.observe import http as observe_http
from leadrelay.workflow.parent_watch import stop_with_parent

# A 10,000-lead batch as JSON is about 3-5 MB.
MAX_BODY_BYTES = 16 * 1024 * 1024


def create_app(
    database_url: str | None = None,
    *,
    engine: Engine | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The service on ``database_url`` (default: $LEADRELAY_DB), or on ``engine`` if given."""
    from leadrelay.store import open_store

    owned = engine is None
    store = engine if engine is not None else open_store(settings.database_url(database_url))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.service.close()  # route what is still queued, stop the group writer
        if owned:
            store.dispose()

    app = FastAPI(
        title="leadrelay",
        version=__version__,
        summary="Route every lead to the one rep most likely to win it, with a reason.",
        lifespan=lifespan,
    )
    app.state.service = Service(store)
    errors.install(app)
    for router in (leads.router, org.router, policy.router, kpis.router, experiments.router):
        app.include_router(router, prefix="/v1")
    _with_pages(app)
    app.include_router(observe_http.router)  # /metrics, not in the OpenAPI schema

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    _with_openapi_extras(app)
    app.add_middleware(
        QuickIntake,
        state=app.state,
        route=_route(app, "POST", QUICK_PATH),
        handlers=app.exception_handlers,
    )
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(observe_http.RequestObserver, routes=app.routes)  # outermost: sees a 413
    return app


def _route(app: FastAPI, method: str, path: str) -> BaseRoute:
    """The route object FastAPI names in a request's scope for ``method`` on ``path``."""
    for context in iter_route_contexts(app.routes):
        if context.path_format == path and method in (
            getattr(context.original_route, "methods", None) or ()
        ):
            return context.original_route
    raise LookupError(f"no route for {method} {path}")


def _with_pages(app: FastAPI) -> None:
    """The web pages (not in the OpenAPI schema) and their assets, served locally."""
    from starlette.staticfiles import StaticFiles

    from leadrelay import web

    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")


def app_from_env() -> FastAPI:
    """The factory ``leadrelay serve`` hands uvicorn (each worker process builds its own)."""
    limit = int(os.environ.get("LEADRELAY_MAX_BODY_BYTES", MAX_BODY_BYTES))
    app = create_app(max_body_bytes=limit)
    # The ~160,000 objects of the libraries and the app live as long as the process: frozen,
    # the collector's full passes skip them. Each pass over them took 35-65 ms here, a pause of
    # every request in flight (measured: gc.collect() after create_app).
    gc.collect()
    gc.freeze()
    stop_with_parent()  # a worker of --workers N: uvicorn's own would serve on, holding the port
    return app


def _with_openapi_extras(app: FastAPI) -> None:
    """What FastAPI cannot see in the routes goes into their OpenAPI document: the schemas of
    bodies read by content type, and the key schemes of operations that ask for a key."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (LeadBatchIn, PolicyIn):
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(body.pop("$defs", {}))
                components[model.__name__] = body
            key_security(schema, app.routes)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class _TooLargeError(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413: by Content-Length at once, and by
    counting what arrives when the length is not declared."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLargeError
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except _TooLargeError:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        import json

        body = json.dumps(
            errors.error_body(f"request body larger than {self.max_bytes:,} bytes")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
