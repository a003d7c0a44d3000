"""Reps, teams and accounts over HTTP: list, read, create-or-replace (PUT), delete.

A PUT body is checked exactly as a row of reps.csv / teams.csv / accounts.csv is (the same
parsers: time zones, working hours, out-of-office ranges, domains), and a team's or account's
owner must be a stored rep. Deleting a rep keeps its history (assignments, ledger, counters).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi import Path as PathParam
from pydantic import BaseModel
from sqlalchemy import Connection

from leadrelay.api.auth import Caller, Manager, service
from leadrelay.api.schemas import (
    AccountIn,
    AccountOut,
    BulkReassignOut,
    HandoffOut,
    NotMoved,
    ReassignOpenIn,
    RepIn,
    RepOut,
    TeamIn,
    TeamOut,
    error_responses,
)
from leadrelay.api.service import Service
from leadrelay.domain.org import Account, Team
from leadrelay.domain.rep import Rep
from leadrelay.errors import InputFileError, Problem, did_you_mean

router = APIRouter(tags=["org"])
Svc = Annotated[Service, Depends(service)]
OrgId = Annotated[
    str, PathParam(min_length=1, max_length=128, pattern=r"^[^\x00\s/]+$", description="id")
]
_ERRORS = error_responses(401, 403, 404, 413, 422)


def _rep_out(rep: Rep) -> RepOut:
    caps = rep.caps
    return RepOut(
        id=rep.id,
        name=rep.name,
        email=rep.email,
        teams=list(rep.teams),
        role=rep.role.value,
        timezone=rep.timezone,
        working_hours=rep.working_hours.text,
        out_of_office=[str(r) for r in rep.out_of_office],
        weight=rep.weight,
        max_per_day=caps.per_day if caps else None,
        max_per_week=caps.per_week if caps else None,
        max_per_month=caps.per_month if caps else None,
        skills=sorted(rep.skills),
        regions=list(rep.regions),
        seniority=rep.seniority.value,
        office_lat=rep.office_lat,
        office_lon=rep.office_lon,
        active=rep.active,
    )


def _org(conn: Connection) -> Any:
    from leadrelay.store import load_org

    return load_org(conn)


@router.get("/reps", response_model=list[RepOut], responses=_ERRORS)
def list_reps(key: Caller, svc: Svc) -> list[RepOut]:
    with svc.engine.connect() as conn:
        return [_rep_out(rep) for rep in _org(conn).reps.values()]


@router.get("/reps/{rep_id}", response_model=RepOut, responses=_ERRORS)
def get_rep(rep_id: OrgId, key: Caller, svc: Svc) -> RepOut:
    with svc.engine.connect() as conn:
        rep = _org(conn).reps.get(rep_id)
    if rep is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no rep {rep_id!r}")
    return _rep_out(rep)


@router.put("/reps/{rep_id}", response_model=RepOut, responses=_ERRORS)
def put_rep(rep_id: OrgId, body: RepIn, key: Manager, svc: Svc) -> RepOut:
    """Create the rep, or replace every field of it (a field left out takes its default)."""
    from leadrelay.files import reps_from_records
    from leadrelay.store import save_reps

    rep = _one(reps_from_records, rep_id, body)
    with svc.engine.begin() as conn:
        save_reps(conn, [rep])
    return _rep_out(rep)


@router.delete("/reps/{rep_id}", status_code=204, responses=_ERRORS)
def delete_rep(rep_id: OrgId, key: Manager, svc: Svc) -> None:
    from leadrelay.store import delete_reps

    with svc.engine.begin() as conn:
        owning = [t.id for t in _org(conn).teams.values() if t.owner == rep_id]
        if owning:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"rep {rep_id!r} owns team(s) {', '.join(owning)}: give them another owner first",
            )
        if not delete_reps(conn, [rep_id]):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no rep {rep_id!r}")


@router.post(
    "/reps/{rep_id}/reassign-open",
    response_model=BulkReassignOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Re-route every open lead of a rep by the policy (e.g. the rep left)",
)
def reassign_open(rep_id: OrgId, body: ReassignOpenIn, key: Manager, svc: Svc) -> BulkReassignOut:
    from leadrelay.api.leads import handoff_call
    from leadrelay.workflow.reroute import reassign_rep

    policy, by = svc.policy(), key.rep_id or f"{key.role} key {key.prefix}"
    report = handoff_call(
        lambda: reassign_rep(
            svc.engine, rep_id, by, body.reason, deactivate=body.deactivate, policy=policy
        )
    )
    return BulkReassignOut(
        rep=report.rep,
        deactivated=report.deactivated,
        moved=[
            HandoffOut(
                lead_id=d.lead_id,
                status=d.status,
                owner=d.owner,
                previous_owner=d.previous_owner,
                event=d.event,
            )
            for d in report.moved
        ],
        failed=[NotMoved(lead_id=i, reason=why) for i, why in report.failed],
        counts=report.counts(),
    )


@router.get("/teams", response_model=list[TeamOut], responses=_ERRORS)
def list_teams(key: Caller, svc: Svc) -> list[TeamOut]:
    with svc.engine.connect() as conn:
        org = _org(conn)
    names = sorted(set(org.teams) | set(org.team_members))
    return [_team_out(org, name) for name in names]


@router.get("/teams/{team_id}", response_model=TeamOut, responses=_ERRORS)
def get_team(team_id: OrgId, key: Caller, svc: Svc) -> TeamOut:
    with svc.engine.connect() as conn:
        org = _org(conn)
    if team_id not in org.teams and team_id not in org.team_members:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no team {team_id!r}")
    return _team_out(org, team_id)


def _team_out(org: Any, team_id: str) -> TeamOut:
    team: Team = org.teams.get(team_id) or Team(id=team_id)
    members = list(org.team_members.get(team_id, ()))
    return TeamOut(id=team.id, name=team.name, owner=team.owner, members=members)


@router.put("/teams/{team_id}", response_model=TeamOut, responses=_ERRORS)
def put_team(team_id: OrgId, body: TeamIn, key: Manager, svc: Svc) -> TeamOut:
    """Create or replace a team; members come from the reps' ``teams``."""
    from leadrelay.files import teams_from_records
    from leadrelay.store import save_teams

    team = _one(teams_from_records, team_id, body)
    with svc.engine.begin() as conn:
        _check_owner(conn, team.owner)
        save_teams(conn, [team])
        org = _org(conn)
    return _team_out(org, team.id)


@router.get("/accounts", response_model=list[AccountOut], responses=_ERRORS)
def list_accounts(key: Caller, svc: Svc) -> list[AccountOut]:
    from leadrelay.store.org import list_accounts as stored

    with svc.engine.connect() as conn:
        return [_account_out(a) for a in stored(conn)]


@router.get("/accounts/{account_id}", response_model=AccountOut, responses=_ERRORS)
def get_account(account_id: OrgId, key: Caller, svc: Svc) -> AccountOut:
    from leadrelay.store.org import get_account as stored

    with svc.engine.connect() as conn:
        account = stored(conn, account_id)
    if account is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no account {account_id!r}")
    return _account_out(account)


@router.put("/accounts/{account_id}", response_model=AccountOut, responses=_ERRORS)
def put_account(account_id: OrgId, body: AccountIn, key: Manager, svc: Svc) -> AccountOut:
    from leadrelay.files import accounts_from_records
    from leadrelay.store import save_accounts
    from leadrelay.store.org import account_by_domain

    account = _one(accounts_from_records, account_id, body)
    with svc.engine.begin() as conn:
        _check_owner(conn, account.owner)
        if account.domain:
            other = account_by_domain(conn, account.domain)
            if other is not None and other != account.id:
                raise InputFileError(
                    Problem(f"domain {account.domain!r} is account {other!r}'s", field="domain")
                )
        save_accounts(conn, [account])
    return _account_out(account)


@router.delete("/accounts/{account_id}", status_code=204, responses=_ERRORS)
def delete_account(account_id: OrgId, key: Manager, svc: Svc) -> None:
    from leadrelay.store.org import delete_accounts

    with svc.engine.begin() as conn:
        if not delete_accounts(conn, [account_id]):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no account {account_id!r}")


def _account_out(account: Account) -> AccountOut:
    return AccountOut(id=account.id, name=account.name, domain=account.domain, owner=account.owner)


def _one(parse: Callable[..., list[Any]], item_id: str, body: BaseModel) -> Any:
    """Parse one request body as the single row of a file, with the id from the path."""
    record = {"id": item_id, **body.model_dump()}
    try:
        return parse([record], source="body")[0]
    except InputFileError as exc:
        # "row 1" means nothing to an HTTP client: the field says it all
        raise InputFileError(
            [Problem(p.message, field=p.field, suggestion=p.suggestion) for p in exc.problems]
        ) from None


def _check_owner(conn: Connection, owner: str | None) -> None:
    from leadrelay.store import rep_ids

    if not owner:
        return
    reps = rep_ids(conn)
    if owner not in reps:
        raise InputFileError(
            Problem(
                f"owner {owner!r} is not a stored rep",
                field="owner",
                suggestion=did_you_mean(owner, reps),
            )
        )
