"""The routing policy over HTTP: upload (validate, store as a new version, activate), list, read.

Only an admin key changes the policy. A policy that does not validate is refused whole, with
every problem located by YAML line, and nothing is stored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi import Path as PathParam
from pydantic import ValidationError

from leadrelay.api.auth import Admin, Caller, service
from leadrelay.api.errors import validation_problems
from leadrelay.api.schemas import PolicyIn, PolicyOut, error_responses
from leadrelay.api.service import Service
from leadrelay.errors import InputFileError, Problem

router = APIRouter(tags=["policy"])
Svc = Annotated[Service, Depends(service)]
_ERRORS = error_responses(401, 403, 404, 413, 415, 422)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


@router.put(
    "/policy",
    response_model=PolicyOut,
    responses=_ERRORS,
    summary="Validate a policy, store it as a new version and make it the active one",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"$ref": "#/components/schemas/PolicyIn"}},
            },
        }
    },
)
async def put_policy(request: Request, key: Admin, svc: Svc) -> PolicyOut:
    from starlette.concurrency import run_in_threadpool

    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in YAML_TYPES:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputFileError(Problem("the policy is not UTF-8 text", field="body")) from None
    elif kind == "application/json":
        try:
            text = PolicyIn.model_validate_json(raw).text
        except ValidationError as exc:
            raise InputFileError(validation_problems(exc.errors())) from None
    else:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f'send the policy as application/yaml (or JSON {{"text": ...}}), not {kind!r}',
        )
    return await run_in_threadpool(_activate, svc, text)


def _activate(svc: Service, text: str) -> PolicyOut:
    from leadrelay.policy import load_policy_text
    from leadrelay.store import activate, list_versions, rep_ids, save_policy, team_ids

    if "\x00" in text:
        raise InputFileError(Problem("the policy contains a NUL character", field="body"))
    with svc.engine.begin() as conn:
        compiled = load_policy_text(text, source="policy", reps=rep_ids(conn), teams=team_ids(conn))
        revision = save_policy(conn, compiled)
        activate(conn, revision)
        stored = next(v for v in list_versions(conn) if v.revision == revision)
    svc.forget_policy()
    return PolicyOut(
        revision=revision,
        active=True,
        created_at=stored.created_at,
        digest=stored.digest,
        routes=[route.name for route in compiled.routes],
        text=stored.text,
    )


@router.get("/policy", response_model=PolicyOut, responses=_ERRORS, summary="The active policy")
def get_policy(key: Caller, svc: Svc) -> PolicyOut:
    from leadrelay.store import list_versions

    with svc.engine.connect() as conn:
        active = [v for v in list_versions(conn) if v.active]
    if not active:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no policy is active yet")
    v = active[0]
    return PolicyOut(
        revision=v.revision, active=True, created_at=v.created_at, digest=v.digest, text=v.text
    )


@router.get("/policy/versions", response_model=list[PolicyOut], responses=_ERRORS)
def policy_versions(key: Caller, svc: Svc) -> list[PolicyOut]:
    """Every stored version, oldest first (texts: GET /v1/policy/versions/{revision})."""
    from leadrelay.store import list_versions

    with svc.engine.connect() as conn:
        versions = list_versions(conn)
    return [
        PolicyOut(revision=v.revision, active=v.active, created_at=v.created_at, digest=v.digest)
        for v in versions
    ]


@router.get("/policy/versions/{revision}", response_model=PolicyOut, responses=_ERRORS)
def policy_version(
    revision: Annotated[int, PathParam(ge=1, le=2**31)], key: Caller, svc: Svc
) -> PolicyOut:
    from leadrelay.store import list_versions

    with svc.engine.connect() as conn:
        found = [v for v in list_versions(conn) if v.revision == revision]
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no policy version {revision}")
    v = found[0]
    return PolicyOut(
        revision=v.revision, active=v.active, created_at=v.created_at, digest=v.digest, text=v.text
    )
