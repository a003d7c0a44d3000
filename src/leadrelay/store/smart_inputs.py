"""Put into a snapshot what the policy's smart strategies read: performance, the social graph.

Only when some route reads them (``Strategy.reads``): a policy of plain rotations pays nothing.
"""

from __future__ import annotations

from sqlalchemy import Connection

from leadrelay.domain.snapshot import Snapshot
from leadrelay.pipeline.strategies.registry import policy_reads
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store.org import Org
from leadrelay.store.performance import cached_performance, load_performance
from leadrelay.store.relationships import load_graph


def add_smart_inputs(
    conn: Connection, snapshot: Snapshot, org: Org, policy: CompiledPolicy, *, fresh: bool
) -> None:
    """``fresh``: read now (bulk, dry runs); else through the short-lived live caches."""
    reads = policy_reads(policy)
    if "performance" in reads:
        load = load_performance if fresh else cached_performance
        snapshot.performance = load(conn, org.reps)
    if "social" in reads:
        snapshot.social = load_graph(conn)  # cached until relationships, reps or accounts change
