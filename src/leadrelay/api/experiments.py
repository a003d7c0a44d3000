"""Experiments over HTTP: ``GET /v1/experiments/{name}?since=30d`` (managers and admins)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from leadrelay.api.auth import Manager, service
from leadrelay.api.schemas import error_responses
from leadrelay.api.service import Service
from leadrelay.errors import UnknownNameError

router = APIRouter(tags=["measurement"])
Svc = Annotated[Service, Depends(service)]


@router.get(
    "/experiments/{name}",
    responses=error_responses(401, 403, 404, 422),
    summary="Per arm: leads, contact, conversion and win rates with intervals, and a z-test",
)
def get_experiment(
    key: Manager,
    svc: Svc,
    name: Annotated[str, Path(max_length=128)],
    since: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    from leadrelay.analytics.experiment import stored_experiment_report
    from leadrelay.analytics.report import parse_since

    start = parse_since(since, datetime.now(UTC))
    with svc.engine.connect() as conn:
        try:
            report = stored_experiment_report(conn, name, since=start)
        except UnknownNameError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, exc.problems[0].message) from None
    return report.as_dict()
