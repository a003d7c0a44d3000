"""The Prometheus metrics: counters and histograms bumped where things happen, gauges read from
the store at scrape time.

Counters and histograms live in this process (``REGISTRY``). Several processes on one host
(``leadrelay serve --workers N``, ``leadrelay worker``) pool theirs through prometheus_client's
multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` names a directory they share (``serve``
sets one up for N > 1); without it each process counts only what it did itself. The gauges
(queue depths, open timers) are counted in the database when scraped, so they are global
whichever process answers.

The calls on hot paths (``lead_routed``, ``leads_routed``) cost about a microsecond: label
children are looked up once and kept, and a batch adds its counts per (status, route) once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, and_, func, select

from leadrelay import settings
from leadrelay.store.tables import leads, outbox, sla_timers

# a *_created sample per counter and label set only adds noise
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)

# From a fast SQLite insert to a slow PostgreSQL round trip under contention.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
BATCH_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)

ROUTED = Counter(
    "leadrelay_leads_routed",
    "Leads routed and stored, by the state they ended in and the route that decided",
    ("status", "route"),
    registry=REGISTRY,
)
UNASSIGNED = Counter(
    "leadrelay_leads_unassigned",
    "Leads routed to the manual queue: no route or no eligible rep could take them",
    registry=REGISTRY,
)
SLA_BREACHES = Counter(
    "leadrelay_sla_breaches",
    "SLA deadlines missed (reassigned or escalated), by the step that was late",
    ("kind",),
    registry=REGISTRY,
)
NOTIFICATIONS = Counter(
    "leadrelay_notifications",
    "Outbox messages the worker tried to deliver, by channel and outcome (failed ones retry)",
    ("channel", "outcome"),
    registry=REGISTRY,
)
ROUTE_SECONDS = Histogram(
    "leadrelay_route_seconds",
    "Live routing of one lead: decide and store in one transaction, retries included",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
BATCH_SECONDS = Histogram(
    "leadrelay_route_batch_seconds",
    "Bulk routing of one batch (CLI route, API batch): decide and store every lead",
    buckets=BATCH_BUCKETS,
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "leadrelay_http_request_seconds",
    "HTTP requests by method, route template (never the raw path) and status code",
    ("method", "route", "status"),
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)

_routed: dict[tuple[str, str | None], Counter] = {}
_manual = "manual"


def _routed_child(status: str, route: str | None) -> Counter:
    child = _routed.get((status, route))
    if child is None:
        child = _routed.setdefault((status, route), ROUTED.labels(status, route or ""))
    return child


def lead_routed(status: str, route: str | None, seconds: float) -> None:
    """One lead routed live (``route_lead``) in ``seconds``."""
    _routed_child(status, route).inc()
    if status == _manual:
        UNASSIGNED.inc()
    ROUTE_SECONDS.observe(seconds)


def leads_routed(counts: Mapping[tuple[str, str | None], int], seconds: float) -> None:
    """A batch routed in ``seconds``: how many leads ended in each (status, route)."""
    for (status, route), count in counts.items():
        _routed_child(status, route).inc(count)
        if status == _manual:
            UNASSIGNED.inc(count)
    BATCH_SECONDS.observe(seconds)


def sla_breached(kind: str) -> None:
    SLA_BREACHES.labels(kind).inc()


def notification(channel: str, delivered: bool) -> None:
    NOTIFICATIONS.labels(channel, "delivered" if delivered else "failed").inc()


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_SECONDS.labels(method, route, str(status)).observe(seconds)


class StoreGauges(Collector):
    """The gauges counted in the database at scrape time (global across processes)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterable[Metric]:
        now = datetime.now(UTC)
        undelivered = outbox.c.delivered_at.is_(None)
        open_timer = sla_timers.c.done_at.is_(None)
        queries = {
            "leadrelay_outbox_undelivered": (
                "Notifications in the outbox not delivered yet (retrying ones included)",
                select(func.count()).select_from(outbox).where(undelivered),
            ),
            "leadrelay_outbox_due": (
                "Notifications due for delivery now: the worker's backlog",
                select(func.count())
                .select_from(outbox)
                .where(and_(undelivered, outbox.c.next_attempt_at <= now)),
            ),
            "leadrelay_sla_timers_open": (
                "SLA deadlines being watched (not met, moved on or breached yet)",
                select(func.count()).select_from(sla_timers).where(open_timer),
            ),
            "leadrelay_sla_timers_overdue": (
                "Open SLA deadlines already past: breaches the worker has not handled yet",
                select(func.count())
                .select_from(sla_timers)
                .where(and_(open_timer, sla_timers.c.due_at <= now)),
            ),
            "leadrelay_manual_queue": (
                "Leads waiting in the manual queue for a manager to assign",
                select(func.count()).select_from(leads).where(leads.c.status == _manual),
            ),
        }
        with self.engine.connect() as conn:
            for name, (help_text, query) in queries.items():
                yield GaugeMetricFamily(name, help_text, value=float(conn.scalar(query) or 0))


def exposition(engine: Engine) -> bytes:
    """The text ``/metrics`` answers: this process's (or, in multiprocess mode, every local
    process's) counters and histograms, and the store's gauges."""
    registry = CollectorRegistry(auto_describe=True)
    directory = settings.metrics_dir()
    if directory is not None:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Local())
    registry.register(StoreGauges(engine))
    return generate_latest(registry)


class _Local(Collector):
    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()
