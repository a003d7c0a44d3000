"""Every error the API answers has one shape: ``{"detail": one line, "problems": [...]}``.

Each problem names the field (``email``, ``leads[3].employees``, ``attributes.plan``) and what
is wrong with it, so a client can point at the exact input. Bad input never reaches the store
half-done: validation happens before any write, and writes are single transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from leadrelay.errors import LeadRelayError, Problem, StoreError

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

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

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


def _summary(problems: Sequence[Problem]) -> str:
    if not problems:
        return "invalid request"
    first = problems[0]
    text = f"{first.field}: {first.message}" if first.field else first.message
    more = len(problems) - 1
    return text if not more else f"{text} (and {more} more problem{'s' if more > 1 else ''})"
