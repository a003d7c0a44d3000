"""Leads over HTTP: route one or a batch, read a lead, its decision, and pages of leads.

``POST /v1/leads`` routes one lead live and answers with its owner and the reason in the same
response; concurrent requests share transactions (group commit: ``Service.submit``), each
answered with its own lead's result. ``POST /v1/leads/batch`` is all-or-nothing: the
whole batch is checked first (any bad item: 422 naming every bad item and field, nothing
stored), then routed in one transaction (``workflow.route_many``), so a failure stores none of
it. Both are idempotent on each lead's ``external_id`` and on an ``Idempotency-Key`` header.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from leadrelay.api.auth import Caller, Manager, service
from leadrelay.api.errors import validation_problems
from leadrelay.api.schemas import (
    MAX_BATCH,
    AssignIn,
    BatchOut,
    DecisionOut,
    DeclineIn,
    ErrorOut,
    EventOut,
    HandIn,
    HandoffOut,
    LeadBatchIn,
    LeadIn,
    LeadOut,
    LeadOutcome,
    LeadPage,
    OutcomeIn,
    ReassignIn,
    error_responses,
)
from leadrelay.api.service import Service
from leadrelay.domain.lead import Lead
from leadrelay.errors import InputFileError, Problem
from leadrelay.explain import explain_lines
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store import idempotency
from leadrelay.store.keys import ApiKey
from leadrelay.workflow.assign import RouteResult

router = APIRouter(tags=["leads"])
Svc = Annotated[Service, Depends(service)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="a retry with the same key and body returns the first response",
    ),
]
_ERRORS = error_responses(401, 403, 404, 409, 413, 422)
CSV_TYPES = ("text/csv", "application/csv")
LeadId = Annotated[int, PathParam(ge=1, le=2**62, description="the lead's id in leadrelay")]


@router.post(
    "/leads",
    status_code=status.HTTP_201_CREATED,
    response_model=LeadOutcome,
    responses={
        200: {"model": LeadOutcome, "description": "stored before: the first result"},
        **_ERRORS,
    },
    summary="Route one lead now; the answer says who owns it and why",
)
async def post_lead(
    body: LeadIn,
    key: Manager,
    request: Request,
    idem: IdempotencyKey = None,
) -> Any:
    from starlette.concurrency import run_in_threadpool

    # the service read here, not by a dependency: each one costs the intake path CPU (a sync
    # one a thread hop, ~0.1 ms; an async one a level of FastAPI's solving)
    svc = service(request)
    if idem is None and svc.router is not None:
        # The event loop only waits: the lead is routed by the group commit writer, so a
        # request holds no thread while it waits for its group.
        policy = svc.cached_policy()
        if policy is None:
            policy = await run_in_threadpool(svc.policy)
        return await routed_now(svc, arrived(body, policy), policy)
    return await run_in_threadpool(_post_lead, body, key, svc, idem)


def arrived(body: LeadIn, policy: CompiledPolicy) -> Lead:
    """The lead a ``POST /v1/leads`` body sends, received now, its custom attributes typed by
    the policy (raises ``InputFileError`` naming an attribute that is not of its type)."""
    return typed_leads([body.to_lead(datetime.now(UTC))], policy, single=True)[0]


async def routed_now(svc: Service, lead: Lead, policy: CompiledPolicy) -> Response:
    """Route ``lead`` in the routing process and answer with its outcome (``api.quick_intake``
    answers the usual request this way too)."""
    assert svc.router is not None
    result = await asyncio.wrap_future(svc.router.submit(lead, policy))
    # serialised by pydantic straight to bytes: the stdlib encoder of JSONResponse cost
    # more event-loop time than the rest of the endpoint (measured with py-spy)
    return Response(
        _outcome(lead, result).model_dump_json(),
        status_code=_status(result),
        media_type="application/json",
    )


def _post_lead(body: LeadIn, key: ApiKey, svc: Service, idem: str | None) -> JSONResponse:
    def work() -> tuple[int, Any]:
        policy = svc.policy()
        lead = arrived(body, policy)
        return _routed(lead, svc.submit(lead, policy).result())

    return _once(svc, key, idem, body.model_dump_json().encode(), work)


def _routed(lead: Lead, result: RouteResult) -> tuple[int, Any]:
    """The answer for one routed lead: its status code and its outcome as JSON data."""
    return _status(result), _outcome(lead, result).model_dump(mode="json")


def _status(result: RouteResult) -> int:
    """201 for a lead routed now, 200 for one stored before."""
    return 201 if result.created else 200


def _outcome(lead: Lead, result: RouteResult) -> LeadOutcome:
    return LeadOutcome.of(result.lead_id, lead.external_id, result.decision, created=result.created)


@router.post(
    "/leads/batch",
    response_model=BatchOut,
    responses=_ERRORS,
    summary="Route up to 10,000 leads, all or nothing (JSON, or CSV with CRM export headers)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/LeadBatchIn"}},
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "description": "leads.csv columns, or a Salesforce/HubSpot export",
                    }
                },
            },
        }
    },
)
async def post_batch(
    request: Request,
    key: Manager,
    svc: Svc,
    idem: IdempotencyKey = None,
    map_: Annotated[
        list[str] | None,
        Query(alias="map", description="field=column for a non-standard CSV header"),
    ] = None,
) -> Any:
    from starlette.concurrency import run_in_threadpool

    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return await run_in_threadpool(_batch, svc, key, idem, raw, kind, map_)


def _batch(
    svc: Service, key: ApiKey, idem: str | None, raw: bytes, kind: str, mapping: list[str] | None
) -> Any:
    now = datetime.now(UTC)
    if kind in CSV_TYPES:
        leads = _csv_leads(svc, raw, now, mapping)
    elif kind in ("application/json", ""):
        try:
            parsed = LeadBatchIn.model_validate_json(raw)
        except ValidationError as exc:
            raise InputFileError(validation_problems(exc.errors())) from None
        leads = [item.to_lead(now) for item in parsed.leads]
    else:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"send application/json or text/csv, not {kind!r}",
        )

    def work() -> tuple[int, Any]:
        from leadrelay.workflow import route_many

        policy = svc.policy()
        typed = typed_leads(leads, policy, single=False)
        results = route_many(svc.engine, typed, policy)
        outcomes = [
            LeadOutcome.of(r.lead_id, lead.external_id, r.decision, created=r.created)
            for lead, r in zip(typed, results, strict=True)
        ]
        routed = sum(1 for r in results if r.created)
        out = BatchOut(routed=routed, already_stored=len(results) - routed, results=outcomes)
        return 200, out.model_dump(mode="json")

    digest_source = raw + b"\0" + kind.encode() + b"\0" + "&".join(mapping or ()).encode()
    return _once(svc, key, idem, digest_source, work)


def _csv_leads(svc: Service, raw: bytes, now: datetime, mapping: list[str] | None) -> list[Lead]:
    from leadrelay.files import leads_from_csv_text, parse_mapping

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError(Problem("the body is not UTF-8 text", source="body")) from None
    pairs = parse_mapping(mapping or (), option="map")
    policy = svc.policy()
    leads = leads_from_csv_text(
        text, now=now, source="body", mapping=pairs, fields=dict(policy.model.fields)
    )
    if not leads:
        raise InputFileError(Problem("no leads in the body", source="body"))
    if len(leads) > MAX_BATCH:
        raise InputFileError(Problem(f"{len(leads):,} leads: a batch holds at most {MAX_BATCH:,}"))
    return leads


def typed_leads(leads: Sequence[Lead], policy: CompiledPolicy, *, single: bool) -> list[Lead]:
    """Leads with the policy's declared custom attributes converted to their types."""
    fields = dict(policy.model.fields)
    if not fields:
        return list(leads)
    from leadrelay.files import coerce_attributes

    try:
        typed = coerce_attributes(leads, fields, source="body")
    except InputFileError as exc:
        raise InputFileError(
            [_attribute_problem(p.field, None if single else (p.row or 2) - 2, p.message)
             for p in exc.problems]
        ) from None  # fmt: skip
    problems: list[Problem] = []
    for index, lead in enumerate(typed):
        for name, kind in fields.items():
            value = lead.attributes.get(name)
            if value is not None and not _is(kind, value):
                item = None if single else index
                problems.append(_attribute_problem(name, item, f"expected a {kind}"))
    if problems:
        raise InputFileError(problems)
    return typed


def _attribute_problem(name: str | None, item: int | None, message: str) -> Problem:
    prefix = "" if item is None else f"leads[{item}]."
    return Problem(message, field=f"{prefix}attributes.{name}")


def _is(kind: str, value: Any) -> bool:
    checks: Mapping[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "datetime": lambda v: isinstance(v, datetime),
    }
    return checks[kind](value)


def _once(
    svc: Service,
    key: ApiKey,
    idem: str | None,
    body: bytes,
    work: Callable[[], tuple[int, Any]],
) -> JSONResponse:
    """Run ``work`` at most once per Idempotency-Key (per caller); replay its answer after."""
    if idem is None:
        code, payload = work()
        return JSONResponse(payload, status_code=code)
    digest = hashlib.sha256(body).hexdigest()
    with svc.engine.begin() as conn:
        claim = idempotency.claim(conn, idem, key.id, digest, now=datetime.now(UTC))
    if isinstance(claim, idempotency.Replay):
        return JSONResponse(
            claim.response, status_code=claim.status_code, headers={"Idempotent-Replayed": "true"}
        )
    if isinstance(claim, idempotency.InFlight):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "a request with this Idempotency-Key is still running; retry in a moment",
        )
    if isinstance(claim, idempotency.Mismatch):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "this Idempotency-Key was used with another request body",
        )
    try:
        code, payload = work()
    except BaseException:
        with svc.engine.begin() as conn:
            idempotency.release(conn, idem, key.id)
        raise
    with svc.engine.begin() as conn:
        idempotency.finish(conn, idem, key.id, code, payload)
    return JSONResponse(payload, status_code=code)


@router.get("/leads", response_model=LeadPage, responses=_ERRORS, summary="Leads, newest first")
def list_leads(
    key: Caller,
    svc: Svc,
    status_: Annotated[
        str | None,
        Query(alias="status", pattern="^(assigned|team|pool|manual|screened_out|duplicate)$"),
    ] = None,
    owner: Annotated[str | None, Query(max_length=128)] = None,
    route: Annotated[str | None, Query(max_length=128)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LeadPage:
    from leadrelay.store.browse import list_leads as browse

    if key.role == "rep":
        if owner is not None and owner != key.rep_id:
            return LeadPage(leads=[], next_before=None)
        owner = key.rep_id
    with svc.engine.connect() as conn:
        rows = browse(conn, status=status_, owner=owner, route=route, before=before, limit=limit)
    return LeadPage(leads=rows, next_before=rows[-1]["id"] if len(rows) == limit else None)


@router.get(
    "/leads/{lead_id}", response_model=LeadOut, responses=_ERRORS | {404: {"model": ErrorOut}}
)
def get_lead(lead_id: LeadId, key: Caller, svc: Svc) -> LeadOut:
    from leadrelay.store.browse import lead_record

    with svc.engine.connect() as conn:
        record = lead_record(conn, lead_id)
    if record is None or not _may_read(key, record.owner):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id}")
    return LeadOut(
        id=record.id,
        fields=record.fields,
        attributes=record.attributes,
        status=record.status,
        owner=record.owner,
        team=record.team,
        pool=record.pool,
        route=record.route,
        strategy=record.strategy,
        policy_version=record.policy_revision,
        decided_at=record.decided_at,
        score=record.score,
        value_slab=record.value_slab,
        priority=record.priority,
        duplicate_of=record.duplicate_of,
        account=record.account,
    )


@router.get(
    "/leads/{lead_id}/decision",
    response_model=DecisionOut,
    responses=_ERRORS,
    summary="Why the lead went where it went: every route and candidate considered",
)
def get_decision(lead_id: LeadId, key: Caller, svc: Svc) -> DecisionOut:
    from leadrelay.store.browse import lead_record
    from leadrelay.store.leads import get_decision as stored_decision

    with svc.engine.connect() as conn:
        record = lead_record(conn, lead_id)
        if record is None or not _may_read(key, record.owner):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id}")
        decision = stored_decision(conn, lead_id)
    return DecisionOut(
        lead_id=lead_id,
        decision=decision.to_dict(),
        explanation=explain_lines(decision, skipped_routes=True),
    )


@router.post(
    "/leads/{lead_id}/outcomes",
    status_code=status.HTTP_201_CREATED,
    response_model=EventOut,
    responses=_ERRORS,
    summary="Record what happened: contacted, qualified, won (with value) or lost",
)
def post_outcome(lead_id: LeadId, body: OutcomeIn, key: Caller, svc: Svc) -> EventOut:
    from leadrelay.store.browse import lead_record
    from leadrelay.store.outcomes import OutcomeError, record_outcome

    with svc.engine.begin() as conn:
        record = lead_record(conn, lead_id)
        if record is None or not _may_read(key, record.owner):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id}")
        try:
            event = record_outcome(
                conn, lead_id, body.kind, body.at or datetime.now(UTC),
                value=body.value, reason=body.reason, by=key.rep_id or key.role,
            )  # fmt: skip
        except OutcomeError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc.problems[0].message)) from None
    return EventOut(id=event.id, lead_id=lead_id, kind=event.kind, at=event.at, data=event.data)


@router.get(
    "/leads/{lead_id}/events",
    response_model=list[EventOut],
    responses=_ERRORS,
    summary="The lead's history: routed, outcomes, hand-offs",
)
def get_events(lead_id: LeadId, key: Caller, svc: Svc) -> list[EventOut]:
    from leadrelay.store.browse import lead_record
    from leadrelay.store.outcomes import lead_events

    with svc.engine.connect() as conn:
        record = lead_record(conn, lead_id)
        if record is None or not _may_read(key, record.owner):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id}")
        history = lead_events(conn, lead_id)
    return [
        EventOut(id=e.id, lead_id=e.lead_id, kind=e.kind, at=e.at, data=e.data) for e in history
    ]


@router.post("/leads/{lead_id}/claim", response_model=HandoffOut, responses=_ERRORS,
             summary="A rep takes a lead open in its pool; a lost race is 409")  # fmt: skip
def post_claim(lead_id: LeadId, key: Caller, svc: Svc) -> HandoffOut:
    from leadrelay.workflow.handoff import claim

    rep = _rep_of(key, "only a rep key claims leads")
    policy = svc.policy()
    return _handoff(lambda: claim(svc.engine, lead_id, rep, policy=policy))


@router.post("/leads/{lead_id}/accept", response_model=HandoffOut, responses=_ERRORS,
             summary="The owner accepts the lead")  # fmt: skip
def post_accept(lead_id: LeadId, key: Caller, svc: Svc) -> HandoffOut:
    from leadrelay.workflow.handoff import accept

    rep = _rep_of(key, "only the owner's rep key accepts")
    return _handoff(lambda: accept(svc.engine, lead_id, rep))


@router.post("/leads/{lead_id}/assign", response_model=HandoffOut, responses=_ERRORS,
             summary="A manager assigns or reassigns the lead, with a reason")  # fmt: skip
def post_assign(lead_id: LeadId, body: AssignIn, key: Manager, svc: Svc) -> HandoffOut:
    from leadrelay.workflow.handoff import assign

    policy = svc.policy()
    return _handoff(
        lambda: assign(svc.engine, lead_id, body.rep, reason=body.reason, by=_by(key),
                       policy=policy)
    )  # fmt: skip


@router.post("/leads/{lead_id}/decline", response_model=HandoffOut, responses=_ERRORS,
             summary="The owner turns the lead down: it goes to the next eligible rep, never"
             " back to this one")  # fmt: skip
def post_decline(lead_id: LeadId, body: DeclineIn, key: Caller, svc: Svc) -> HandoffOut:
    from leadrelay.workflow.reroute import decline

    rep = _rep_of(key, "only the owner's rep key declines")
    policy = svc.policy()
    return _handoff(lambda: decline(svc.engine, lead_id, rep, body.reason, policy=policy))


@router.post("/leads/{lead_id}/reassign", response_model=HandoffOut, responses=_ERRORS,
             summary="A manager moves the lead, to a rep or (no 'to') by the policy, with a"
             " reason")  # fmt: skip
def post_reassign(lead_id: LeadId, body: ReassignIn, key: Manager, svc: Svc) -> HandoffOut:
    from leadrelay.workflow.reroute import reassign

    policy, by = svc.policy(), _by(key)
    return _handoff(
        lambda: reassign(svc.engine, lead_id, by, body.reason, to=body.to, policy=policy)
    )


@router.post("/leads/{lead_id}/hand", response_model=HandoffOut, responses=_ERRORS,
             summary="The owner of the team holding the lead hands it to a member")  # fmt: skip
def post_hand(lead_id: LeadId, body: HandIn, key: Caller, svc: Svc) -> HandoffOut:
    from leadrelay.workflow.handoff import hand

    rep = _rep_of(key, "only the team owner's rep key hands leads on")
    policy = svc.policy()
    return _handoff(lambda: hand(svc.engine, lead_id, rep, body.to, policy=policy))


def _by(key: ApiKey) -> str:
    """Who a manager or admin key acts as, for the audit trail."""
    return key.rep_id or f"{key.role} key {key.prefix}"


def _rep_of(key: ApiKey, refusal: str) -> str:
    """The rep a rep key acts for; 403 for any other key."""
    if key.role != "rep" or key.rep_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)
    return key.rep_id


def handoff_call(run: Callable[[], Any]) -> Any:
    """``run()``, with a refused hand-off as 404 (no such lead or rep), 409 (it moved
    meanwhile, or its state does not allow it) or 422 (bad input)."""
    from leadrelay.workflow.handoff import HandoffError

    try:
        return run()
    except HandoffError as exc:
        if exc.missing:
            code = status.HTTP_404_NOT_FOUND
        elif exc.conflict:
            code = status.HTTP_409_CONFLICT
        else:
            code = status.HTTP_422_UNPROCESSABLE_CONTENT
        raise HTTPException(code, exc.problems[0].message) from None


def _handoff(run: Callable[[], Any]) -> HandoffOut:
    done = handoff_call(run)
    return HandoffOut(lead_id=done.lead_id, status=done.status, owner=done.owner,
                      previous_owner=done.previous_owner, event=done.event)  # fmt: skip


def _may_read(key: ApiKey, owner: str | None) -> bool:
    """A rep key reads only the leads it owns (a lead it may not read does not exist for it)."""
    return key.role != "rep" or (owner is not None and owner == key.rep_id)
