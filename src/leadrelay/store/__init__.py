"""The only SQLAlchemy code: engine, schema and migrations, reading and writing the store.

Every function here takes a ``Connection`` and runs in the caller's transaction; none commits.
The callers that own transactions are in ``leadrelay.workflow`` (and the CLI/web entry points).
"""

from leadrelay.store.engine import (
    alembic_config,
    lock_routing,
    make_engine,
    open_store,
    reader,
    safe_url,
    upgrade,
)
from leadrelay.store.leads import (
    LedgerRow,
    active_assignments,
    counts_by_owner,
    counts_by_route,
    counts_by_status,
    find_by_external_id,
    find_by_external_ids,
    get_decision,
    get_decisions,
    get_lead,
    ledger,
)
from leadrelay.store.org import (
    Org,
    delete_reps,
    load_org,
    org_version,
    rep_ids,
    save_accounts,
    save_reps,
    save_teams,
    team_ids,
)
from leadrelay.store.policies import (
    PolicyVersion,
    activate,
    active_policy_text,
    find_revision,
    list_versions,
    policy_text,
    save_policy,
)
from leadrelay.store.snapshot import build_snapshot

__all__ = [
    "LedgerRow",
    "Org",
    "PolicyVersion",
    "activate",
    "active_assignments",
    "active_policy_text",
    "alembic_config",
    "build_snapshot",
    "counts_by_owner",
    "counts_by_route",
    "counts_by_status",
    "delete_reps",
    "find_by_external_id",
    "find_by_external_ids",
    "find_revision",
    "get_decision",
    "get_decisions",
    "get_lead",
    "ledger",
    "list_versions",
    "load_org",
    "lock_routing",
    "make_engine",
    "open_store",
    "org_version",
    "policy_text",
    "reader",
    "rep_ids",
    "safe_url",
    "save_accounts",
    "save_policy",
    "save_reps",
    "save_teams",
    "team_ids",
    "upgrade",
]
