"""Which messages a routing decision causes, and what they say. Pure: no I/O, no clock.

A rep hears about a lead the moment it becomes theirs, with everything known about it and why
it is theirs; a duplicate's original owner hears that the person came back. Webhooks get the
same facts as JSON with a Slack-compatible ``text``. Each message has an idempotency key that
stays the same across delivery attempts, so a receiver can drop repeats.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from leadrelay.domain.decision import Decision, Status
from leadrelay.domain.lead import LEAD_FIELDS, Lead
from leadrelay.explain import explain_lines
from leadrelay.policy.schema import NotificationsModel

_EVENTS = {
    Status.ASSIGNED: "assigned",
    Status.TEAM: "team",
    Status.POOL: "pool",
    Status.MANUAL: "manual",
    Status.DUPLICATE: "duplicate",
}


@dataclass(frozen=True, slots=True)
class Message:
    """One notification to deliver: by ``channel`` (email or webhook) to ``target``."""

    event: str
    channel: str
    target: str  # an email address, or a webhook's URL
    subject: str
    text: str
    payload: dict[str, Any]
    idempotency_key: str
    secret_env: str | None = None  # a webhook's signing key: the environment variable's name


def messages_for(
    lead: Lead,
    lead_id: int,
    decision: Decision,
    settings: NotificationsModel,
    rep_emails: Mapping[str, str | None],
    *,
    original_owner: str | None = None,
) -> list[Message]:
    """The messages ``decision`` about stored lead ``lead_id`` causes under ``settings``.

    ``rep_emails`` maps rep id to address; ``original_owner`` is, for a duplicate, the owner of
    the lead it duplicates (they are the one told).
    """
    event = _EVENTS.get(decision.status)
    if event is None:
        return []
    recipient = original_owner if decision.status is Status.DUPLICATE else decision.owner
    subject, text = _words(lead, lead_id, decision, event, recipient)
    payload = {
        "event": event,
        "lead_id": lead_id,
        "lead": _lead_facts(lead),
        "decision": {
            "status": decision.status.value,
            "owner": decision.owner,
            "team": decision.team,
            "pool": decision.pool,
            "route": decision.route,
            "strategy": decision.strategy,
            "reason": decision.reason,
            "policy_version": decision.policy_version,
            "duplicate_of": decision.duplicate_of,
            "account": decision.account,
        },
        "recipient": recipient,
        "explanation": explain_lines(decision, max_candidates=3),
        "text": text,  # what Slack shows
    }
    out: list[Message] = []
    address = rep_emails.get(recipient) if recipient else None
    if settings.email and address:
        out.append(_message(event, "email", address, subject, text, payload, lead_id))
    for hook in settings.webhooks:
        if event in hook.events:
            message = _message(event, "webhook", hook.url, subject, text, payload, lead_id)
            out.append(replace(message, secret_env=hook.secret_env))
    return out


def _message(
    event: str,
    channel: str,
    target: str,
    subject: str,
    text: str,
    payload: dict[str, Any],
    lead_id: int,
) -> Message:
    # the same lead, event and destination always give the same key: a retry is recognisable
    key = hashlib.sha256(f"{lead_id}:{event}:{channel}:{target}".encode()).hexdigest()[:32]
    body = payload | {"idempotency_key": key}
    return Message(event, channel, target, subject, text, body, key)


def _words(
    lead: Lead, lead_id: int, decision: Decision, event: str, recipient: str | None
) -> tuple[str, str]:
    who = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.email or "a lead"
    firm = f" ({lead.company})" if lead.company else ""
    headline = {
        "assigned": f"New lead for {recipient}: {who}{firm}",
        "team": f"Lead for team {decision.team} (you are accountable, {recipient}): {who}{firm}",
        "pool": f"Lead open in pool {decision.pool}: {who}{firm}",
        "manual": f"Lead waiting in the manager queue: {who}{firm}",
        "duplicate": f"{who}{firm} came back: a duplicate of your lead {decision.duplicate_of}",
    }[event]
    facts = [f"{name}: {value}" for name, value in _lead_facts(lead).items() if value is not None]
    lines = [headline, "", f"Why: {decision.reason}", "", *facts, "", f"Lead id: {lead_id}"]
    return headline, "\n".join(lines)


def _lead_facts(lead: Lead) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for name in LEAD_FIELDS:
        value = getattr(lead, name)
        facts[name] = value.isoformat() if hasattr(value, "isoformat") else value
    for name, value in lead.attributes.items():
        facts.setdefault(name, value.isoformat() if hasattr(value, "isoformat") else value)
    return facts
