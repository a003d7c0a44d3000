"""Is this lead someone already routed? A duplicate is linked to the original, never routed.

Pure, like ``decide``: the snapshot carries the originals the store (or a bulk run) found for
this lead's keys, and the policy says which keys count and for how long.
"""

from __future__ import annotations

from datetime import timedelta

from leadrelay.domain.decision import Decision, Screening, Status
from leadrelay.domain.dedupe import duplicate_keys
from leadrelay.domain.lead import Lead
from leadrelay.domain.snapshot import Original, Snapshot
from leadrelay.policy.compiled import CompiledPolicy


def keys_for(lead: Lead, policy: CompiledPolicy) -> tuple[str, ...]:
    """The lead's duplicate keys under the policy (none when it does not check duplicates)."""
    rules = policy.model.matching.duplicates
    if rules is None:
        return ()
    return duplicate_keys(lead, rules.keys, plus_addressing=rules.plus_addressing)


def window(policy: CompiledPolicy) -> timedelta | None:
    rules = policy.model.matching.duplicates
    return None if rules is None else timedelta(days=rules.window_days)


def find_duplicate(
    lead: Lead, snapshot: Snapshot, policy: CompiledPolicy, screening: Screening
) -> Decision | None:
    """The DUPLICATE decision for ``lead`` if it shares a key with an original in the window."""
    span = window(policy)
    if span is None or not snapshot.originals:
        return None
    earliest = lead.received_at - span
    for key in keys_for(lead, policy):
        original = snapshot.originals.get(key)
        if original is not None and earliest <= original.received_at <= lead.received_at:
            return Decision(
                lead_key=lead.seed_key,
                status=Status.DUPLICATE,
                reason=_reason(key, original, lead),
                decided_at=snapshot.now,
                policy_version=policy.revision,
                screening=screening,
                duplicate_of=original.lead_id,
            )
    return None


def _reason(key: str, original: Original, lead: Lead) -> str:
    kind, _, value = key.partition(":")
    what = {"email": "email", "phone": "phone", "name": "name and company"}.get(kind, kind)
    # named by external id when it has one: the same words in a dry run, before it is stored
    if original.external_id:
        who = f"lead {original.external_id!r}"
    elif original.lead_id is not None:
        who = f"lead {original.lead_id}"
    else:
        who = "an earlier lead in this batch"
    age = lead.received_at - original.received_at
    days = age.days
    when = "the same day" if days == 0 else f"{days} day{'s' if days != 1 else ''} earlier"
    holder = f"; its owner {original.owner} is told" if original.owner else ""
    return f"duplicate of {who} (same {what} {value}, {when}){holder}"
