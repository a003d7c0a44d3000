"""Every error the API answers has one shape: ``{"detail": one line, "problems": [...]}``.

Each problem names the field (``email``, ``leads[3].employees``, ``attributes.plan``) and what
is wrong with it, so a client can point at the exact input. Bad input never reaches the store
half-done: validation happens before any write, and writes are single transactions.

A database that cannot be reached (down, restarting, refusing connections, the pool exhausted)
is 503 with ``Retry-After``, not 500: the request changed nothing (its transaction never
committed) and the same request may simply be sent again. The engine checks a pooled connection
that sat idle before use (``store.engine``), so the first request after the database is back is
served by the same process without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadrelay.errors import LeadRelayError, Problem, StoreError

log = logging.getLogger("leadrelay.api")
RETRY_AFTER_S = 1

# Where FastAPI says a value came from; the field name alone is what a client sent.
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


def validation_problems(errors: Iterable[Mapping[str, Any]]) -> list[Problem]:
    """pydantic/FastAPI errors as Problems with a dotted field path and a plain message."""
    problems: list[Problem] = []
    for error in errors:
        loc: Sequence[Any] = error.get("loc", ())
        where = loc[0] if loc and loc[0] in _LOCATIONS else None
        parts = list(loc[1:] if where else loc)
        field = _path(parts) or where
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if where in ("query", "header", "path") and field != where:
            message = f"{message} (in the {where})"
        problems.append(Problem(message, field=field))
    return problems


def _path(parts: Sequence[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = str(part)
    return text


def error_body(detail: str, problems: Sequence[Problem] = ()) -> dict[str, Any]:
    return {
        "detail": detail,
        "problems": [
            {
                "field": p.field,
                "message": p.message,
                "line": p.line,
                "row": p.row,
                "suggestion": p.suggestion,
            }
            for p in problems
        ],
    }


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the shape above."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = validation_problems(exc.errors())
        return JSONResponse(
            error_body(_summary(problems), problems),
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    # Starlette's own (FastAPI's is a subclass): it also raises 400 for a body it cannot parse
    # and 404/405 for unknown paths and methods, and those must have our shape too
    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == status.HTTP_400_BAD_REQUEST:  # a body that is not UTF-8 JSON
            problem = Problem("the body cannot be read: send UTF-8 JSON", field="body")
            return JSONResponse(
                error_body(_summary([problem]), [problem]),
                status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            )
        return JSONResponse(
            error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        if not unavailable(exc):
            raise exc  # a bug (a constraint, a statement): 500, with its traceback in the log
        return _unavailable(exc)

    @app.exception_handler(PoolTimeoutError)
    async def _pool(_: Request, exc: PoolTimeoutError) -> JSONResponse:
        return _unavailable(exc)

    @app.exception_handler(LeadRelayError)
    async def _leadrelay(_: Request, exc: LeadRelayError) -> JSONResponse:
        from leadrelay.api.service import NoPolicyError

        if isinstance(exc, NoPolicyError):
            code = status.HTTP_409_CONFLICT
        elif isinstance(exc, StoreError):
            code = status.HTTP_503_SERVICE_UNAVAILABLE
        else:
            code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return JSONResponse(error_body(_summary(exc.problems), exc.problems), status_code=code)


def unavailable(exc: DBAPIError) -> bool:
    """Whether ``exc`` says the database cannot be reached or used now, not that the request
    or the code is wrong: a lost or refused connection, a server shutting down or starting."""
    return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)


def _unavailable(exc: Exception) -> JSONResponse:
    orig = getattr(exc, "orig", None) or exc
    reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    log.warning("database unavailable: %s", reason)
    return JSONResponse(
        error_body(f"the database is unavailable ({reason}); nothing was stored, try again"),
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _summary(problems: Sequence[Problem]) -> str:
    if not problems:
        return "invalid request"
    first = problems[0]
    text = f"{first.field}: {first.message}" if first.field else first.message
    more = len(problems) - 1
    return text if not more else f"{text} (and {more} more problem{'s' if more > 1 else ''})"
