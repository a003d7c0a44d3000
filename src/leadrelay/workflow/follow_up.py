"""What storing a decision sets in motion, in the same transaction: the lead's duplicate keys
(if it now holds an owner, later copies of it are linked to it) and its notifications (the
outbox; the worker delivers them). Shared by live and bulk routing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from leadrelay.domain.decision import Decision, Status
from leadrelay.domain.lead import Lead
from leadrelay.domain.rep import Rep
from leadrelay.notify.messages import messages_for
from leadrelay.pipeline.duplicates import keys_for
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store.dedupe import save_keys
from leadrelay.store.outbox import enqueue
from leadrelay.store.tables import leads

HOLDS = frozenset({Status.ASSIGNED, Status.TEAM, Status.POOL, Status.MANUAL})


def follow_up(
    conn: Connection,
    stored: Sequence[tuple[Lead, int, Decision]],
    policy: CompiledPolicy,
    reps: Mapping[str, Rep],
    *,
    keys: Mapping[int, tuple[str, ...]] | None = None,
) -> None:
    """Record keys and enqueue messages for leads just stored (``keys``: lead id -> its
    duplicate keys when the caller worked them out already)."""
    if policy.model.matching.duplicates is not None:
        rows = [
            (lead_id, key, lead.received_at)
            for lead, lead_id, decision in stored
            if decision.status in HOLDS
            for key in (keys[lead_id] if keys is not None else keys_for(lead, policy))
        ]
        save_keys(conn, rows)
    settings = policy.model.notifications
    if not settings.email and not settings.webhooks:
        return
    emails = {rep_id: rep.email for rep_id, rep in reps.items()}
    originals = _owners(conn, [d.duplicate_of for _, _, d in stored if d.duplicate_of])
    now = datetime.now(UTC)
    for lead, lead_id, decision in stored:
        owner = originals.get(decision.duplicate_of) if decision.duplicate_of else None
        messages = messages_for(lead, lead_id, decision, settings, emails, original_owner=owner)
        enqueue(conn, lead_id, messages, now)


def _owners(conn: Connection, lead_ids: list[int]) -> dict[int, str | None]:
    if not lead_ids:
        return {}
    rows = conn.execute(select(leads.c.id, leads.c.owner).where(leads.c.id.in_(lead_ids)))
    return {int(lead_id): owner for lead_id, owner in rows}
