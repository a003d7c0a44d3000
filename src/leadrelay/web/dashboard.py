"""The dashboard's figures: the KPIs (``analytics.report``) sliced as asked, and their charts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import Connection

from leadrelay.analytics.kpi import DIMENSIONS, PERIODS, KpiRow
from leadrelay.analytics.report import fairness_report, kpi_report, parse_since
from leadrelay.web.charts import bar_chart, column_chart
from leadrelay.web.render import duration, percent


@dataclass(frozen=True, slots=True)
class ShareChart:
    route: str
    strategy: str | None
    leads: int
    gini: float | None
    chart: Markup


@dataclass
class DashboardView:
    by: list[str]
    period: str
    since: str
    where: dict[str, str]
    overall: KpiRow
    rows: list[KpiRow]
    turnaround: Markup
    aging: Markup
    throughput: Markup
    shares: list[ShareChart] = field(default_factory=list)
    dimensions: tuple[str, ...] = DIMENSIONS
    periods: tuple[str, ...] = PERIODS


def _label(row: KpiRow) -> str:
    return " / ".join(row.group.values()) or "all leads"


def dashboard(
    conn: Connection,
    now: datetime,
    by: Sequence[str],
    period: str,
    since: str,
    where: Mapping[str, str] | None = None,
) -> DashboardView:
    """Raises UnknownNameError (with the field) for a bad dimension, period or ``since``;
    ``where`` keeps only the leads with those dimension values (e.g. product = crm)."""
    start = parse_since(since, now)
    only = dict(where or {})
    rows = kpi_report(conn, now=now, by=by, period=period, since=start, where=only)
    overall = kpi_report(conn, now=now, period=period, since=start, where=only)
    whole = overall[0] if overall else KpiRow(group={})
    over_time = kpi_report(conn, now=now, by=["period"], period=period, since=start, where=only)
    turnaround = bar_chart(
        "Turnaround: arrival to first accountable person",
        [(_label(r), [r.turnaround_p50_s, r.turnaround_p90_s]) for r in rows],
        ["p50", "p90"],
        fmt=duration,
    )
    aging = bar_chart(
        "Aging of leads not distributed yet",
        [(bucket, [float(count)]) for bucket, count in whole.aging.items()],
        ["leads"],
    )
    throughput = column_chart(
        f"Leads distributed per {period}",
        [(r.group["period"], float(r.distributed)) for r in over_time],
    )
    shares = [
        ShareChart(
            f.route,
            f.strategy,
            f.leads,
            f.gini,
            bar_chart(
                f"Route {f.route}: share of its leads per rep",
                [(s.rep, [s.share]) for s in f.reps],
                ["share"],
                fmt=percent,
                marks=[s.target for s in f.reps] if any(s.target for s in f.reps) else None,
            ),
        )
        for f in fairness_report(conn)
    ]
    return DashboardView(
        by=list(by),
        period=period,
        since=since,
        where=only,
        overall=whole,
        rows=rows,
        turnaround=turnaround,
        aging=aging,
        throughput=throughput,
        shares=shares,
    )
