"""KPIs over HTTP: ``GET /v1/kpis?by=owner&by=period&period=week&since=30d``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from leadrelay.analytics.kpi import DIMENSIONS
from leadrelay.api.auth import Caller, service
from leadrelay.api.schemas import error_responses
from leadrelay.api.service import Service

router = APIRouter(tags=["measurement"])
Svc = Annotated[Service, Depends(service)]
Dimension = Annotated[str, Query(pattern="^(" + "|".join(DIMENSIONS) + ")$")]


@router.get(
    "/kpis",
    responses=error_responses(401, 422),
    summary="KPIs, optionally sliced by one or two dimensions",
)
def get_kpis(
    key: Caller,
    svc: Svc,
    by: Annotated[list[Dimension] | None, Query(max_length=2)] = None,
    period: Annotated[str, Query(pattern="^(day|week|month)$")] = "week",
    since: Annotated[str | None, Query(max_length=40)] = None,
    where: Annotated[
        list[Annotated[str, Query(max_length=200)]] | None,
        Query(max_length=len(DIMENSIONS), description="dimension=value, e.g. product=crm"),
    ] = None,
) -> list[dict[str, Any]]:
    from leadrelay.analytics.report import kpi_report, parse_since, parse_where

    now = datetime.now(UTC)
    with svc.engine.connect() as conn:
        rows = kpi_report(
            conn,
            now=now,
            by=by or [],
            period=period,
            since=parse_since(since, now),
            where=parse_where(where or []),
        )
    return [row.as_dict() for row in rows]


@router.get(
    "/fairness",
    responses=error_responses(401, 422),
    summary="Per route: each rep's leads against its target share; spread and Gini",
)
def get_fairness(
    key: Caller, svc: Svc, route: Annotated[str | None, Query(max_length=128)] = None
) -> list[dict[str, Any]]:
    from leadrelay.analytics.report import fairness_report

    with svc.engine.connect() as conn:
        return [r.as_dict() for r in fairness_report(conn, route)]
