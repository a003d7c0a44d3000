"""Who may open a page, as FastAPI dependencies; a refusal is an HTML page, not JSON.

Routes of the pages router use ``PageRoute``: a dependency (or a view) ends the request early by
raising ``PageExit`` with the response to send (a redirect to sign in, a 403 page), so the
JSON error handlers of the API never see page requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from leadrelay.api.auth import STAFF, service
from leadrelay.api.errors import validation_problems
from leadrelay.web.render import page
from leadrelay.web.session import CSRF_FIELD, CSRF_HEADER, Viewer, clear_cookie, csrf_ok, identify


class PageExit(Exception):  # noqa: N818 - not an error: a response sent early
    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class PageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except PageExit as done:
                return done.response
            except RequestValidationError as exc:
                problems = validation_problems(exc.errors())
                text = "; ".join(
                    f"{p.field}: {p.message}" if p.field else p.message for p in problems
                )
                return refusal(request, None, 422, f"That request is not valid: {text}")

        return run


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def refusal(request: Request, viewer: Viewer | None, status: int, message: str) -> Response:
    return page(request, "refused.html", viewer, status=status, problem=message)


def to_sign_in(request: Request) -> Response:
    """Off to the sign-in page, coming back here after (htmx follows ``HX-Redirect``)."""
    back = request.url.path if request.method == "GET" else "/"
    if request.method == "GET" and request.url.query:
        back += "?" + request.url.query
    target = "/signin?next=" + quote(back, safe="/")
    if is_htmx(request):
        response: Response = Response(status_code=401, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if request.cookies:
        clear_cookie(response)  # a cookie that no longer signs in (revoked key, expired)
    return response


ROLE_WORDS = {"admin": "an admin", "manager": "a manager or an admin", "rep": "a rep"}


def need(*roles: str) -> Callable[[Request], Awaitable[Viewer]]:
    """A dependency: the signed-in viewer with one of ``roles`` (any role if none given); for a
    POST from a session, also the CSRF token."""

    async def check(request: Request) -> Viewer:
        who = await run_in_threadpool(identify, request, service(request))
        if who is None:
            raise PageExit(to_sign_in(request))
        if roles and who.key.role not in roles:
            wanted = " or ".join(ROLE_WORDS.get(r, r) for r in roles)
            raise PageExit(
                refusal(
                    request,
                    who,
                    403,
                    f"This page is for {wanted}; you are signed in with a {who.key.role} key.",
                )
            )
        if request.method == "POST" and who.session is not None:
            form = await request.form()
            sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
            if not isinstance(sent, str) or not csrf_ok(who.session, sent):
                raise PageExit(
                    refusal(
                        request,
                        who,
                        403,
                        "This form is out of date or did not come from"
                        " this site (CSRF check failed): reload the page and try again.",
                    )
                )
        return who

    return check


Anyone = Annotated[Viewer, Depends(need())]
Rep = Annotated[Viewer, Depends(need("rep"))]
Staff = Annotated[Viewer, Depends(need(*STAFF))]
Admin = Annotated[Viewer, Depends(need("admin"))]
