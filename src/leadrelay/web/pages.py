"""The web pages ``leadrelay serve`` shows (none is in the OpenAPI schema).

Thin views: each reads through ``store``/``analytics`` and acts through the same ``workflow``
functions as the HTTP API (claim, accept, assign, record_outcome), with the same rules (a rep
reads and works only their own leads). Actions post forms with htmx and swap the one row they
changed; without JavaScript the same forms post and get the whole page back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from leadrelay.api.auth import service
from leadrelay.api.service import NoPolicyError
from leadrelay.domain.rep import Caps
from leadrelay.errors import PolicyError, UnknownNameError
from leadrelay.store import reader
from leadrelay.web import console, dashboard, policy_edit, rep_views
from leadrelay.web.gate import Admin, Anyone, PageExit, PageRoute, Rep, Staff, is_htmx, refusal
from leadrelay.web.render import page
from leadrelay.web.session import (
    CSRF_FIELD,
    Session,
    Viewer,
    clear_cookie,
    csrf_ok,
    read_session,
    set_cookie,
)
from leadrelay.web.trace import trace_view

router = APIRouter(route_class=PageRoute, include_in_schema=False)
LeadId = Annotated[int, PathParam(ge=1, le=2**62)]
HOME = {"rep": "/inbox", "manager": "/console", "admin": "/console"}
LOST_RACE = "Someone claimed it first: this lead is no longer open in the pool."


def _now() -> datetime:
    return datetime.now(UTC)


def _reading(request: Request) -> Engine:
    """The engine for read-only views: on SQLite a reader never waits for a writer."""
    return reader(service(request).engine)


def _default_caps(request: Request) -> Caps:
    try:
        return service(request).policy().default_caps
    except NoPolicyError:
        return Caps()


# --- signing in ------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//host`` or ``https://…``): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/")
async def home(viewer: Anyone) -> Response:
    return RedirectResponse(HOME.get(viewer.key.role, "/dashboard"), status_code=303)


@router.get("/signin")
async def sign_in_form(
    request: Request, next_: Annotated[str, Query(alias="next")] = "/"
) -> Response:
    session = read_session(request) or Session.new()
    response = page(request, "signin.html", None, next=_safe_next(next_), csrf=session.csrf)
    set_cookie(request, response, session)
    return response


@router.post("/signin")
async def sign_in(
    request: Request,
    key: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=100)] = "",
    next_: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> Response:
    session = read_session(request)
    target = _safe_next(next_)
    if not csrf_ok(session, csrf):
        fresh = Session.new()
        response = page(
            request,
            "signin.html",
            None,
            status=403,
            next=target,
            csrf=fresh.csrf,
            problem="The sign-in form expired: paste the key again.",
        )
        set_cookie(request, response, fresh)
        return response
    found = await run_in_threadpool(service(request).caller, key.strip()) if key.strip() else None
    if found is None:
        assert session is not None
        return page(
            request,
            "signin.html",
            None,
            status=401,
            next=target,
            csrf=session.csrf,
            problem="That API key is unknown or revoked.",
        )
    done = RedirectResponse(target, status_code=303)
    set_cookie(request, done, Session.new(found.prefix))  # a new CSRF token per sign-in
    return done


@router.post("/signout")
async def sign_out(viewer: Anyone) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    clear_cookie(response)
    return response


# --- rep: inbox and pool ---------------------------------------------------------------------


@router.get("/inbox")
def inbox(request: Request, viewer: Rep) -> Response:
    rep = viewer.key.rep_id or ""
    with _reading(request).connect() as conn:
        leads = rep_views.inbox(conn, rep)
    return page(request, "inbox.html", viewer, leads=leads, now=_now())


def _inbox_answer(
    request: Request, viewer: Viewer, lead_id: int, status: int, message: str
) -> Response:
    """The changed row (htmx) or the whole inbox (a plain form post), with the message."""
    rep = viewer.key.rep_id or ""
    with _reading(request).connect() as conn:
        if is_htmx(request):
            line = rep_views.inbox_line(conn, rep, lead_id)
            if line is None:  # not (or no longer) the rep's: say what happened in its place
                return page(
                    request,
                    "_result_row.html",
                    viewer,
                    status=status,
                    lead_id=lead_id,
                    message=message,
                    ok=status < 400,
                    link=None,
                    columns=8,
                )
            return page(
                request,
                "_inbox_row.html",
                viewer,
                status=status,
                lead=line,
                message=message,
                ok=status < 400,
                now=_now(),
            )
        leads = rep_views.inbox(conn, rep)
    notice, problem = (message, None) if status < 400 else (None, message)
    return page(
        request,
        "inbox.html",
        viewer,
        status=status,
        leads=leads,
        now=_now(),
        notice=notice,
        problem=problem,
    )


def _attempt(run: Callable[[], str]) -> tuple[int, str]:
    """Run one hand-off: its success message with 200, or the refusal with its HTTP status
    (404 no such lead or rep, 409 someone was first or no policy, 422 not allowed)."""
    from leadrelay.workflow.handoff import HandoffError

    try:
        return 200, run()
    except HandoffError as exc:
        return (404 if exc.missing else 409 if exc.conflict else 422), exc.problems[0].message
    except NoPolicyError as exc:
        return 409, exc.problems[0].message


def _result_row(
    request: Request,
    viewer: Viewer,
    lead_id: int,
    status: int,
    message: str,
    *,
    link: str | None,
    columns: int,
) -> Response:
    """One table row, for htmx, saying what became of the lead in place of its old row."""
    return page(
        request,
        "_result_row.html",
        viewer,
        status=status,
        lead_id=lead_id,
        message=message,
        ok=status < 400,
        link=link,
        columns=columns,
    )


def _by(viewer: Viewer) -> str:
    """Who did it, for the audit trail: the rep, else the key's role and prefix."""
    return viewer.key.rep_id or f"{viewer.key.role} key {viewer.key.prefix}"


@router.post("/inbox/{lead_id}/accept")
def accept(request: Request, lead_id: LeadId, viewer: Rep) -> Response:
    from leadrelay.workflow.handoff import accept as accept_lead

    def run() -> str:
        accept_lead(service(request).engine, lead_id, viewer.key.rep_id or "")
        return "Accepted."

    return _inbox_answer(request, viewer, lead_id, *_attempt(run))


@router.post("/inbox/{lead_id}/decline")
def decline(
    request: Request,
    lead_id: LeadId,
    viewer: Rep,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    from leadrelay.workflow.reroute import decline as decline_lead

    svc = service(request)

    def run() -> str:
        decline_lead(svc.engine, lead_id, viewer.key.rep_id or "", reason, policy=svc.policy())
        return "Declined: the lead was handed on and will not come back to you."

    status, message = _attempt(run)
    if status < 400 and is_htmx(request):
        return _result_row(request, viewer, lead_id, status, message, link=None, columns=8)
    return _inbox_answer(request, viewer, lead_id, status, message)


@router.post("/inbox/{lead_id}/outcome")
def log_outcome(
    request: Request,
    lead_id: LeadId,
    viewer: Rep,
    kind: Annotated[str, Form(max_length=16)],
    value: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    from leadrelay.store.browse import lead_record
    from leadrelay.store.outcomes import OutcomeError, record_outcome

    amount: float | None = None
    if kind == "won" and value.strip():
        try:
            amount = float(value.replace(",", "").strip())
        except ValueError:
            return _inbox_answer(
                request,
                viewer,
                lead_id,
                422,
                f"value: {value!r} is not a number (write e.g. 12000)",
            )
    rep = viewer.key.rep_id or ""
    try:
        with service(request).engine.begin() as conn:
            record = lead_record(conn, lead_id)
            if record is None or record.owner != rep:
                return refusal(request, viewer, 404, f"No lead {lead_id} in your inbox.")
            record_outcome(
                conn, lead_id, kind, _now(), value=amount, reason=reason.strip() or None, by=rep
            )
    except OutcomeError as exc:
        return _inbox_answer(request, viewer, lead_id, 409, exc.problems[0].message)
    done = {"won": "Logged as won.", "lost": "Logged as lost.", "contacted": "Logged contact."}
    return _inbox_answer(request, viewer, lead_id, 200, done.get(kind, f"Logged {kind}."))


@router.get("/pool")
def pool(request: Request, viewer: Rep) -> Response:
    caps = _default_caps(request)
    with _reading(request).connect() as conn:
        view = rep_views.claimable(conn, viewer.key.rep_id or "", caps, _now())
    return page(request, "pool.html", viewer, view=view, now=_now())


@router.post("/pool/{lead_id}/claim")
def claim(request: Request, lead_id: LeadId, viewer: Rep) -> Response:
    from leadrelay.workflow.handoff import HandoffError
    from leadrelay.workflow.handoff import claim as claim_lead

    svc = service(request)

    def run() -> str:
        try:
            policy = svc.policy()  # tells the new owner and starts its deadlines
        except NoPolicyError:
            policy = None
        try:
            claim_lead(svc.engine, lead_id, viewer.key.rep_id or "", policy=policy)
        except HandoffError as exc:
            if exc.conflict:
                raise HandoffError(LOST_RACE, conflict=True) from exc
            raise
        return "Claimed: it is yours now, in your inbox."

    status, message = _attempt(run)
    if is_htmx(request):
        link = "/inbox" if status < 400 else None
        return _result_row(request, viewer, lead_id, status, message, link=link, columns=7)
    caps = _default_caps(request)
    with _reading(request).connect() as conn:
        view = rep_views.claimable(conn, viewer.key.rep_id or "", caps, _now())
    notice, problem = (message, None) if status < 400 else (None, message)
    return page(
        request,
        "pool.html",
        viewer,
        status=status,
        view=view,
        now=_now(),
        notice=notice,
        problem=problem,
    )


# --- manager console -------------------------------------------------------------------------


def _console(request: Request, viewer: Viewer, status: int = 200, **extra: object) -> Response:
    caps = _default_caps(request)
    with _reading(request).connect() as conn:
        queue = console.manual_queue(conn)
        teams = console.team_loads(conn, caps, _now())
        reps = console.rep_choices(conn)
        late = console.overdue(conn, _now())
        handled = console.recent_breaches(conn, _now() - timedelta(days=7))
    return page(
        request,
        "console.html",
        viewer,
        status=status,
        queue=queue,
        teams=teams,
        reps=reps,
        overdue=late,
        breaches=handled,
        now=_now(),
        **extra,
    )


@router.get("/console")
def console_page(request: Request, viewer: Staff) -> Response:
    return _console(request, viewer)


@router.post("/console/{lead_id}/assign")
def assign(
    request: Request,
    lead_id: LeadId,
    viewer: Staff,
    rep: Annotated[str, Form(max_length=128)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    from leadrelay.workflow.handoff import assign as assign_lead

    svc = service(request)

    def run() -> str:
        done = assign_lead(
            svc.engine, lead_id, rep, reason=reason, by=_by(viewer), policy=svc.policy()
        )
        return f"Assigned to {done.owner}."

    status, message = _attempt(run)
    if is_htmx(request):
        link = f"/leads/{lead_id}"
        return _result_row(request, viewer, lead_id, status, message, link=link, columns=6)
    notice, problem = (message, None) if status < 400 else (None, message)
    return _console(request, viewer, status, notice=notice, problem=problem)


@router.post("/console/reassign")
def reassign(
    request: Request,
    viewer: Staff,
    lead: Annotated[int, Form(ge=1, le=2**62)],
    to: Annotated[str, Form(max_length=128)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Move one lead: to the rep named, or (none named) to whoever the policy picks now."""
    from leadrelay.workflow.reroute import reassign as reassign_lead

    svc = service(request)

    def run() -> str:
        done = reassign_lead(
            svc.engine, lead, _by(viewer), reason, to=to or None, policy=svc.policy()
        )
        return f"Reassigned: now {done.status}" + (f", {done.owner}." if done.owner else ".")

    status, message = _attempt(run)
    if is_htmx(request):
        return _result_row(request, viewer, lead, status, message, link=f"/leads/{lead}", columns=5)
    notice, problem = (f"Lead {lead}: {message}", None) if status < 400 else (None, message)
    return _console(request, viewer, status, notice=notice, problem=problem)


@router.post("/console/hand-on")
def hand_on(
    request: Request,
    viewer: Staff,
    rep: Annotated[str, Form(max_length=128)],
    reason: Annotated[str, Form(max_length=500)] = "",
    deactivate: Annotated[bool, Form()] = False,
) -> Response:
    """Bulk: every open lead of ``rep`` re-routed by the policy (e.g. the rep is away or left)."""
    from leadrelay.workflow.handoff import HandoffError
    from leadrelay.workflow.reroute import reassign_rep

    svc = service(request)
    by = _by(viewer)
    try:
        done = reassign_rep(svc.engine, rep, by, reason, deactivate=deactivate, policy=svc.policy())
    except HandoffError as exc:
        return _console(
            request, viewer, 404 if exc.missing else 422, problem=exc.problems[0].message
        )
    except NoPolicyError as exc:
        return _console(request, viewer, 409, problem=exc.problems[0].message)
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(done.counts().items())) or "none"
    notice = f"{rep}: {len(done.moved)} open lead(s) handed on ({counts})."
    if done.deactivated:
        notice += f" {rep} is now inactive."
    if done.failed:
        notice += " Not moved: " + "; ".join(f"lead {i}: {why}" for i, why in done.failed)
    return _console(request, viewer, notice=notice)


# --- one lead --------------------------------------------------------------------------------


@router.get("/leads/{lead_id}")
def lead_page(request: Request, lead_id: LeadId, viewer: Anyone) -> Response:
    from leadrelay.store.browse import lead_record
    from leadrelay.store.leads import get_decision
    from leadrelay.store.outcomes import lead_events

    with _reading(request).connect() as conn:
        record = lead_record(conn, lead_id)
        # the API's rule: a lead a rep key may not read does not exist for it
        if record is None or (viewer.key.role == "rep" and record.owner != viewer.key.rep_id):
            return refusal(request, viewer, 404, f"There is no lead {lead_id} you can see.")
        trace = trace_view(get_decision(conn, lead_id))
        history = lead_events(conn, lead_id)
    return page(request, "lead.html", viewer, lead=record, trace=trace, history=history)


# --- dashboard -------------------------------------------------------------------------------


@router.get("/dashboard")
def dashboard_page(
    request: Request,
    viewer: Anyone,
    by: Annotated[list[str] | None, Query(max_length=2)] = None,
    period: Annotated[str, Query(max_length=8)] = "week",
    since: Annotated[str, Query(max_length=40)] = "",
    only: Annotated[str, Query(max_length=32)] = "",
    value: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    chosen = [b for b in by or [] if b]
    where = {only: value} if only else {}
    with _reading(request).connect() as conn:
        try:
            view = dashboard.dashboard(conn, _now(), chosen, period, since, where)
        except UnknownNameError as exc:
            return refusal(request, viewer, 422, str(exc.problems[0]))
    return page(request, "dashboard.html", viewer, view=view)


# --- policy ----------------------------------------------------------------------------------


def _policy_page(
    request: Request,
    viewer: Viewer,
    text: str | None = None,
    *,
    status: int = 200,
    problems: tuple[object, ...] = (),
    **extra: object,
) -> Response:
    from leadrelay.store import active_policy_text, policy_text

    svc = service(request)
    with reader(svc.engine).connect() as conn:
        active = active_policy_text(conn)
        if text is None:
            wanted = request.query_params.get("revision", "")
            if wanted.isdigit():
                try:
                    text = policy_text(conn, int(wanted))
                except UnknownNameError as exc:
                    return refusal(request, viewer, 404, str(exc.problems[0]))
            else:
                text = active[1] if active else ""
        history = policy_edit.versions(conn)
    lines = policy_edit.numbered(text, tuple(problems)) if problems else []  # type: ignore[arg-type]
    extra.setdefault("diff", None)
    return page(
        request,
        "policy.html",
        viewer,
        status=status,
        text=text,
        problems=problems,
        lines=lines,
        history=history,
        active=active[0] if active else None,
        **extra,
    )


@router.get("/policy")
def policy_page(request: Request, viewer: Admin) -> Response:
    return _policy_page(request, viewer)


@router.post("/policy")
async def policy_post(
    request: Request,
    viewer: Admin,
    action: Annotated[str, Form(pattern="^(check|diff|activate)$")] = "check",
    text: Annotated[str, Form(max_length=policy_edit.MAX_POLICY_BYTES)] = "",
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    if upload is not None and upload.filename:
        raw = await upload.read(policy_edit.MAX_POLICY_BYTES + 1)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return await run_in_threadpool(
                _policy_page,
                request,
                viewer,
                "",
                status=422,
                problems=(PolicyError("the uploaded file is not UTF-8 text").problems[0],),
            )
    return await run_in_threadpool(_policy_action, request, viewer, action, text)


def _policy_action(request: Request, viewer: Viewer, action: str, text: str) -> Response:
    svc = service(request)
    try:
        if action == "activate":
            compiled, revision = policy_edit.check_and_activate(svc.engine, text)
            svc.forget_policy()
            notice = f"Policy version {revision} is active ({len(compiled.routes)} routes)."
        elif action == "diff":
            with reader(svc.engine).connect() as conn:
                compiled, diff = policy_edit.dry_run(conn, text, _now())
            notice = (
                f"Dry run: {len(diff.changes)} of the {diff.leads} leads of the last"
                f" {policy_edit.DRY_RUN_DAYS} days would go elsewhere. Not activated."
            )
            return _policy_page(
                request, viewer, text, notice=notice, diff=diff, shown=policy_edit.SHOWN_CHANGES
            )
        else:
            with reader(svc.engine).connect() as conn:
                compiled = policy_edit.check(conn, text)
            notice = f"The policy is valid: {len(compiled.routes)} routes. Not activated yet."
    except PolicyError as exc:
        count = len(exc.problems)
        return _policy_page(
            request,
            viewer,
            text,
            status=422,
            problems=exc.problems,
            problem=f"The policy has {count} problem{'s' if count > 1 else ''};"
            " nothing was stored.",
        )
    return _policy_page(request, viewer, text, notice=notice)


__all__ = ["PageExit", "router"]
