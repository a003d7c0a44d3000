"""The worker: delivers the outbox and runs SLA timers (``workflow/sla.py``) until stopped.

Each round claims due messages in a short transaction, delivers them with no transaction open
(a slow SMTP server never holds a database lock), then records each outcome in another short
transaction. Several workers may run at once on PostgreSQL: claims skip rows another worker
holds. Delivery is at least once: a worker killed between sending and recording sends that
message again after its lease expires, with the same idempotency key. Timers due are handled
first in each round, so the messages a breach causes go out in the same round.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from leadrelay.notify.deliver import DeliveryError, SmtpSettings, post_webhook, send_email
from leadrelay.observe import worker as observed
from leadrelay.store.outbox import (
    OutboxItem,
    claim_due,
    mark_delivered,
    mark_failed,
)
from leadrelay.workflow.sla import run_due_timers

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    batch: int = 50
    poll_s: float = 0.25  # idle wait: bounds the notification latency (bench/notify.py)
    timeout_s: float = 10.0
    timers: bool = True  # run SLA timers too (False: deliver only)


@dataclass(slots=True)
class RoundReport:
    delivered: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    breached: int = 0  # SLA timers that found a breach (reassigned, escalated)
    met: int = 0  # SLA timers whose step happened in time (or whose lead moved on)
    timer_errors: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.delivered or self.failed or self.breached or self.met or self.timer_errors)


def deliver_due(engine: Engine, config: WorkerConfig, clock: Clock = utc_now) -> RoundReport:
    """One round: claim what is due now, deliver it, record each outcome."""
    report = RoundReport()
    if config.timers:
        timers = run_due_timers(engine, clock, limit=config.batch)
        report.breached, report.met = timers.breached, timers.met
        report.timer_errors = timers.failed
        report.errors.extend(timers.errors)
    with engine.begin() as conn:
        items = claim_due(conn, clock(), limit=config.batch)
    for item in items:
        try:
            _deliver(item, config, clock)
        except DeliveryError as exc:
            with engine.begin() as conn:
                mark_failed(conn, item, clock(), str(exc))
            observed.failed(item, str(exc))
            report.failed += 1
            line = f"outbox {item.id} ({item.channel} {item.target}): {exc}"
            report.errors.append(observed.scrub(item, line))  # a webhook URL may hold a secret
        else:
            with engine.begin() as conn:
                mark_delivered(conn, item.id, clock())
            observed.delivered(item)
            report.delivered += 1
    return report


def run_worker(
    engine: Engine,
    config: WorkerConfig,
    stop: threading.Event,
    *,
    clock: Clock = utc_now,
    on_round: Callable[[RoundReport], None] | None = None,
) -> None:
    """Deliver until ``stop`` is set; a full batch goes round again at once, else waits."""
    while not stop.is_set():
        report = deliver_due(engine, config, clock)
        if on_round is not None and report.busy:
            on_round(report)
        full = max(report.delivered + report.failed, report.breached + report.met)
        if full < config.batch:
            stop.wait(config.poll_s)


def _deliver(item: OutboxItem, config: WorkerConfig, clock: Clock) -> None:
    payload = dict(item.payload)
    how = payload.pop("_delivery", {}) or {}
    if item.channel == "email":
        send_email(
            config.smtp,
            item.target,
            str(how.get("subject") or "leadrelay"),
            str(payload.get("text", "")),
            item.idempotency_key,
        )
    elif item.channel == "webhook":
        post_webhook(
            item.target,
            payload,
            item.idempotency_key,
            secret_env=how.get("secret_env"),
            timestamp=str(int(clock().timestamp())),
            timeout_s=config.timeout_s,
        )
    else:
        raise DeliveryError(f"unknown channel {item.channel!r}")
