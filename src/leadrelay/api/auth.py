"""Who may call what: an API key in ``Authorization: Bearer …`` (or ``X-API-Key``), and its role.

admin: everything, and the only role that changes the policy. manager: sends leads, reads every
lead, manages reps, teams and accounts. rep: reads its own leads only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from leadrelay.api.service import Service
from leadrelay.store.keys import ApiKey

_bearer = HTTPBearer(auto_error=False, description="an API key: `leadrelay keys create`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


async def caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> ApiKey:
    token = bearer.credentials if bearer is not None else header
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


def require(*roles: str) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """A dependency that lets through only keys with one of ``roles``."""

    async def check(key: Caller) -> ApiKey:
        if key.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"a {key.role} key may not do this (needs: {' or '.join(roles)})",
            )
        return key

    return check


Admin = Annotated[ApiKey, Depends(require("admin"))]
Manager = Annotated[ApiKey, Depends(require("admin", "manager"))]
