"""The worker's events, counted and logged: each delivery attempt and each SLA breach.

A delivery record names the outbox row, lead, channel and event, never the message or the
target: an email address is personal data and a webhook URL often carries a secret in its
path (Slack's do), so a webhook is named by its host alone, in the error text too.
"""

from __future__ import annotations

import logging

from leadrelay.observe import metrics
from leadrelay.observe.logs import WORKER, url_host
from leadrelay.store.outbox import OutboxItem
from leadrelay.store.sla import Timer


def delivered(item: OutboxItem) -> None:
    metrics.notification(item.channel, delivered=True)
    WORKER.info("notification delivered", extra=_item(item))


def failed(item: OutboxItem, error: str) -> None:
    metrics.notification(item.channel, delivered=False)
    if WORKER.isEnabledFor(logging.WARNING):
        WORKER.warning(
            "notification failed (will retry)", extra=_item(item) | {"error": scrub(item, error)}
        )


def breached(timer: Timer) -> None:
    metrics.sla_breached(timer.kind)
    WORKER.info(
        "SLA breached",
        extra={
            "timer_id": timer.id,
            "lead_id": timer.lead_id,
            "kind": timer.kind,
            "holder": timer.holder,
            "route": timer.route,
            "due_at": timer.due_at.isoformat(),
        },
    )


def scrub(item: OutboxItem, text: str) -> str:
    """``text`` with a webhook's URL cut down to its host."""
    if item.channel == "webhook" and item.target:
        return text.replace(item.target, url_host(item.target))
    return text


def _item(item: OutboxItem) -> dict[str, object]:
    extra: dict[str, object] = {
        "outbox_id": item.id,
        "lead_id": item.lead_id,
        "channel": item.channel,
        "event": item.event,
        "attempt": item.attempts,
    }
    if item.channel == "webhook":
        extra["host"] = url_host(item.target)
    return extra
