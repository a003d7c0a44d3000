"""Who may call what: an API key in ``Authorization: Bearer …`` (or ``X-API-Key``), and its role.

admin: everything, and the only role that changes the policy. manager: sends leads, reads every
lead, manages reps, teams and accounts. rep: reads its own leads only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from leadrelay.api.service import Service
from leadrelay.store.keys import ApiKey

_bearer = HTTPBearer(auto_error=False, description="an API key: `leadrelay keys create`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False)
# The two ways to send a key, as the OpenAPI document names them (``key_security``).
SCHEMES = (_bearer, _header)


def service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


async def caller(request: Request) -> ApiKey:
    """The API key the request was sent with; 401 if none or not a live key.

    One dependency with no dependencies of its own: FastAPI's solving costs ~0.1 ms of CPU
    per request per level (measured on ``POST /v1/leads``), so the two schemes are read here
    by their own objects instead of as sub-dependencies, and ``key_security`` puts them in the
    OpenAPI document of every operation that asks for a key.
    """
    bearer = await _bearer(request)
    token = bearer.credentials if bearer is not None else await _header(request)
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send 'Authorization: Bearer <key>' (create one with"
            " `leadrelay keys create`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # async, and the key from the service's cache when it is there: a synchronous dependency
    # costs a hop to a worker thread on every request
    svc = service(request)
    found, key = svc.cached_caller(token)
    if not found:
        key = await run_in_threadpool(svc.caller, token)
    if key is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return key


Caller = Annotated[ApiKey, Depends(caller)]
# every dependency that asks for a key (``caller`` and each ``require``): see key_security
_KEYED: set[Callable[..., Any]] = {caller}


def require(*roles: str) -> Callable[[Request], Awaitable[ApiKey]]:
    """A dependency that lets through only keys with one of ``roles``."""

    async def check(request: Request) -> ApiKey:
        key = await caller(request)
        if key.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"a {key.role} key may not do this (needs: {' or '.join(roles)})",
            )
        return key

    _KEYED.add(check)
    return check


# the roles that send leads and manage the org (every lead, reps, teams, accounts)
STAFF = ("admin", "manager")
Admin = Annotated[ApiKey, Depends(require("admin"))]
Manager = Annotated[ApiKey, Depends(require(*STAFF))]


def key_security(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Name the key schemes in ``schema`` (an OpenAPI document of ``routes``) for every
    operation whose dependencies ask for a key, as FastAPI does for security dependencies."""
    from fastapi.encoders import jsonable_encoder
    from fastapi.routing import iter_route_contexts

    needs: list[dict[str, list[str]]] = [{scheme.scheme_name: []} for scheme in SCHEMES]
    used = False
    for route in iter_route_contexts(routes):  # included routers' routes as served
        dependant = getattr(route, "dependant", None)
        if not isinstance(dependant, Dependant) or not getattr(route, "include_in_schema", False):
            continue
        if not any(d.call in _KEYED for d in _dependencies(dependant)):
            continue
        operations = schema.get("paths", {}).get(route.path_format, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is not None:
                operation["security"] = needs
                used = True
    if used:
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        for scheme in SCHEMES:
            schemes[scheme.scheme_name] = jsonable_encoder(
                scheme.model, by_alias=True, exclude_none=True
            )


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)
