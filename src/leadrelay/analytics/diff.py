"""What a new policy would change: stored leads re-decided, compared with what was decided.

``route --dry-run --policy NEW.yaml --since 30d`` re-decides the leads received in the window,
in arrival order, through the one ``decide``, on the routing state as it was at the window's
start (``store.replay.snapshot_before``: counters and loads before the window, today's org and
rotation positions), advancing it as leads are given. A lead **changes** when its owner or its
status would differ. Per rep: leads assigned in the window as stored, and under the new policy.
Nothing is written.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from leadrelay.domain.decision import Decision, Status
from leadrelay.domain.snapshot import Original, Snapshot
from leadrelay.files.common import safe_cell
from leadrelay.gc_pause import collector_paused
from leadrelay.pipeline.decide import decide
from leadrelay.pipeline.duplicates import keys_for
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store.replay import StoredLead
from leadrelay.workflow.duplicate_index import DuplicateIndex
from leadrelay.workflow.follow_up import HOLDS

CHANGE_COLUMNS = (
    "lead_id", "external_id", "received_at", "old_status", "old_owner", "old_route",
    "new_status", "new_owner", "new_route",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Change:
    lead_id: int
    external_id: str | None
    received_at: datetime
    old_status: str
    old_owner: str | None
    old_route: str | None
    new_status: str
    new_owner: str | None
    new_route: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id, "external_id": self.external_id,
            "received_at": self.received_at.isoformat(), "old_status": self.old_status,
            "old_owner": self.old_owner, "old_route": self.old_route,
            "new_status": self.new_status, "new_owner": self.new_owner,
            "new_route": self.new_route,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class RepDelta:
    rep: str
    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    leads: int
    changes: tuple[Change, ...]
    reps: tuple[RepDelta, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "changed": len(self.changes),
            "changes": [c.as_dict() for c in self.changes],
            "reps": [
                {"rep": r.rep, "before": r.before, "after": r.after, "delta": r.delta}
                for r in self.reps
            ],
        }


@collector_paused()  # every decision is kept: see gc_pause
def redecide(
    stored: Sequence[StoredLead],
    snapshot: Snapshot,
    policy: CompiledPolicy,
    dupes: DuplicateIndex | None = None,
) -> list[Decision]:
    """Each lead decided at its ``received_at`` on ``snapshot``, advanced as leads are given
    (the snapshot is changed). ``dupes`` holds the originals from before the leads, if the policy
    checks duplicates."""
    decisions = []
    for position, one in enumerate(stored):
        lead = one.lead
        snapshot.now = lead.received_at
        keys = keys_for(lead, policy) if dupes is not None else ()
        if dupes is not None:
            snapshot.originals = dupes.originals_for(keys, lead.received_at) if keys else {}
        decision = decide(lead, snapshot, policy)
        if dupes is not None and keys and decision.status in HOLDS:
            original = Original(one.lead_id, decision.owner, lead.received_at, lead.external_id)
            dupes.held(position, keys, original)
        if decision.status is Status.ASSIGNED and decision.owner is not None:
            snapshot.record(decision.route, decision.owner, lead.received_at)
        decisions.append(decision)
    return decisions


def policy_diff(stored: Sequence[StoredLead], decisions: Sequence[Decision]) -> PolicyDiff:
    """The leads whose owner or status differ, and per-rep assigned counts before and after."""
    changes = []
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for one, new in zip(stored, decisions, strict=True):
        if one.status == Status.ASSIGNED.value and one.owner:
            before[one.owner] += 1
        if new.status is Status.ASSIGNED and new.owner:
            after[new.owner] += 1
        if one.owner != new.owner or one.status != new.status.value:
            lead = one.lead
            change = Change(
                one.lead_id, lead.external_id, lead.received_at, one.status, one.owner, one.route,
                new.status.value, new.owner, new.route,
            )  # fmt: skip
            changes.append(change)
    reps = sorted(before.keys() | after.keys())
    deltas = tuple(RepDelta(rep, before[rep], after[rep]) for rep in reps)
    ordered = sorted(deltas, key=lambda d: (-abs(d.delta), d.rep))
    return PolicyDiff(len(stored), tuple(changes), tuple(ordered))


def stored_diff(
    conn: Connection, policy: CompiledPolicy, *, since: datetime, now: datetime
) -> PolicyDiff:
    """Re-decide the stored leads received since ``since`` under ``policy`` (reads only)."""
    from leadrelay.pipeline.duplicates import window
    from leadrelay.store import load_org
    from leadrelay.store.dedupe import all_originals
    from leadrelay.store.org import company_index
    from leadrelay.store.replay import snapshot_before, stored_leads
    from leadrelay.workflow.assign import uses_names

    stored = stored_leads(conn, since=since)
    org = load_org(conn)
    snapshot = snapshot_before(conn, org, since, stored, now)
    if uses_names(policy):
        snapshot.account_index = company_index(conn, org)
    span = window(policy)
    dupes = None
    if span is not None:
        keys = {key for one in stored for key in keys_for(one.lead, policy)}
        earlier = all_originals(conn, keys, since=since - span)
        dupes = DuplicateIndex(
            {
                key: kept
                for key, found in earlier.items()
                if (kept := [o for o in found if o.received_at < since])
            },
            span,
        )
    return policy_diff(stored, redecide(stored, snapshot, policy, dupes))


def write_changes(path: Path, changes: Sequence[Change]) -> None:
    """The changes as CSV (``CHANGE_COLUMNS``), every cell safe to open in a spreadsheet."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CHANGE_COLUMNS), lineterminator="\n")
        writer.writeheader()
        for change in changes:
            writer.writerow({k: safe_cell(v) for k, v in change.as_dict().items()})
