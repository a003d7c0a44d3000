"""KPIs from the store: the facts, the org's units, and ``kpis`` — shared by CLI and API."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection

from leadrelay.analytics.kpi import KpiRow, kpis
from leadrelay.errors import Problem, UnknownNameError

_SPAN = re.compile(r"^(\d+)([hdw])$")


def parse_since(text: str | None, now: datetime) -> datetime | None:
    """``30d``, ``12h``, ``2w`` before ``now``, or an ISO 8601 moment; None for no limit."""
    if not text:
        return None
    match = _SPAN.match(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - {"h": timedelta(hours=amount), "d": timedelta(days=amount),
                      "w": timedelta(weeks=amount)}[unit]  # fmt: skip
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise UnknownNameError(
            Problem(f"{text!r}: write 30d, 12h, 2w or an ISO time with offset", field="since")
        )
    return moment


def kpi_report(
    conn: Connection,
    *,
    now: datetime,
    by: Sequence[str] = (),
    period: str = "week",
    since: datetime | None = None,
) -> list[KpiRow]:
    from leadrelay.store import load_org
    from leadrelay.store.facts import lead_facts

    if len(by) > 2:
        raise UnknownNameError(Problem("slice by at most two dimensions at once", field="by"))
    org = load_org(conn)
    units = {rep.id: rep.teams[0] for rep in org.reps.values() if rep.teams}
    try:
        return kpis(lead_facts(conn, since=since), now=now, by=by, period=period, units=units)
    except ValueError as exc:
        raise UnknownNameError(Problem(str(exc), field="by")) from None
