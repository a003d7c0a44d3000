"""The schema, as SQLAlchemy Core tables; ``migrations/versions`` creates exactly these.

Invariants the database itself enforces:

- ``assignments``: at most one active (``ended_at IS NULL``) row per lead (DESIGN invariant 2).
- ``leads.external_id`` is unique: intake is idempotent on it (invariant 6).
- ``policies``: at most one active revision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite

from leadrelay.domain.lead import LEAD_FIELDS
from leadrelay.errors import StoreError


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in time: aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zone type: moments are stored as naive UTC text, which also sorts right.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing to store a datetime without a time zone: {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Columns mirror reps.csv (DESIGN "File formats"); lists are ';'-joined as in the file.
reps = Table(
    "reps",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("name", Text, nullable=False, server_default=""),
    Column("email", Text),
    Column("teams", Text, nullable=False, server_default=""),
    Column("role", String(16), nullable=False, server_default="rep"),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("working_hours", Text, nullable=False, server_default=""),
    Column("out_of_office", Text, nullable=False, server_default=""),
    Column("weight", Float, nullable=False, server_default="1"),
    Column("max_per_day", Integer),
    Column("max_per_week", Integer),
    Column("max_per_month", Integer),
    Column("skills", Text, nullable=False, server_default=""),
    Column("regions", Text, nullable=False, server_default=""),
    Column("seniority", String(16), nullable=False, server_default="mid"),
    Column("office_lat", Float),
    Column("office_lon", Float),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("position", Integer, nullable=False, server_default="0"),  # roster order
)

teams = Table(
    "teams",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("name", Text, nullable=False, server_default=""),
    Column("owner", String(128)),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("name", Text, nullable=False, server_default=""),
    Column("domain", String(255), index=True),
    Column("owner", String(128)),
)

policies = Table(
    "policies",
    metadata,
    Column("revision", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("active", Boolean, nullable=False, server_default=false()),
    Index(
        "uq_policies_one_active",
        "active",
        unique=True,
        sqlite_where=text("active"),
        postgresql_where=text("active"),
    ),
)

_LEAD_TYPES: dict[type, Any] = {str: Text, int: BigInteger, float: Float, datetime: UTCDateTime}


def _lead_field_columns() -> list[Column[Any]]:
    columns: list[Column[Any]] = []
    for name, kind in LEAD_FIELDS.items():
        if name == "external_id":
            columns.append(Column(name, String(255), unique=True))
        elif name == "received_at":
            columns.append(Column(name, UTCDateTime, nullable=False))
        else:
            columns.append(Column(name, _LEAD_TYPES[kind]))
    return columns


leads = Table(
    "leads",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    *_lead_field_columns(),
    Column("attributes", JSON, nullable=False),
    # the decision, in columns for queries; the whole of it is in ``decisions``
    Column("status", String(16), nullable=False, index=True),
    Column("owner", String(128), index=True),
    Column("team", String(128)),
    Column("pool", String(128)),
    Column("route", String(128)),
    Column("strategy", String(64)),
    Column("policy_revision", Integer, nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("score", Float, nullable=False, server_default="0"),
    Column("value_slab", String(32), nullable=False, server_default="low"),
    Column("priority", String(32), nullable=False, server_default="low"),
    Column("duplicate_of", BigInteger),
    Column("account", String(128)),
    Column("experiment", String(128)),
    Column("arm", String(32)),
)

decisions = Table(
    "decisions",
    metadata,
    Column("lead_id", BigId, ForeignKey("leads.id"), primary_key=True),
    Column("body", JSON, nullable=False),  # Decision.to_stored() (or to_dict(), before)
)

ASSIGNMENT_STATUSES = ("assigned", "team", "pool", "manual")

assignments = Table(
    "assignments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("lead_id", BigId, ForeignKey("leads.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("owner", String(128)),
    Column("team", String(128)),
    Column("pool", String(128)),
    Column("route", String(128)),
    Column("strategy", String(64)),
    Column("policy_revision", Integer, nullable=False),
    Column("assigned_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("end_reason", Text),
    # DESIGN invariant 2, held by the database: one active owner per lead.
    Index(
        "uq_assignments_active_lead",
        "lead_id",
        unique=True,
        sqlite_where=text("ended_at IS NULL"),
        postgresql_where=text("ended_at IS NULL"),
    ),
    Index("ix_assignments_owner", "owner"),
)

# The round-robin ledger, one row per (route, rep): visible, and never reset by org changes.
rr_ledger = Table(
    "rr_ledger",
    metadata,
    Column("route", String(128), primary_key=True),
    Column("rep_id", String(128), primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_assigned_at", UTCDateTime, nullable=False),
)

# Leads each route has given to reps so far; the compare-and-set target of live routing.
route_state = Table(
    "route_state",
    metadata,
    Column("route", String(128), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

OPEN_PERIOD = "open"
OPEN_START = datetime(1970, 1, 1).date()

# Leads given per rep per day/week/month (periods start in the rep's own time zone), plus the
# rep's open leads under period 'open' with period_start 1970-01-01.
rep_load = Table(
    "rep_load",
    metadata,
    Column("rep_id", String(128), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("period_start", Date, primary_key=True),
    Column("count", BigInteger, nullable=False),
    # the counters of some period starts, as live routing reads them (``store.snapshot``)
    Index("ix_rep_load_start", "period_start", "period"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("lead_id", BigId, ForeignKey("leads.id"), index=True),
    Column("kind", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("data", JSON, nullable=False),
)

# Duplicate keys of leads that hold an owner (see domain/dedupe.py): a later lead sharing a key
# within the policy's window is linked to the earliest of them instead of being routed.
lead_keys = Table(
    "lead_keys",
    metadata,
    Column("key", String(320), primary_key=True),
    Column("lead_id", BigId, ForeignKey("leads.id"), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
)

# Notifications to deliver (DESIGN: "outbox"): written in the routing transaction, delivered by
# the worker at least once. ``idempotency_key`` travels with every attempt so receivers can
# drop repeats; ``claimed_until`` is a worker's lease (a crashed worker's rows come back).
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("lead_id", BigId, ForeignKey("leads.id"), index=True),
    Column("event", String(32), nullable=False),
    Column("channel", String(16), nullable=False),  # email | webhook
    Column("target", Text, nullable=False),  # an email address, or a webhook's name
    Column("payload", JSON, nullable=False),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("delivered_at", UTCDateTime),
    Index("ix_outbox_due", "delivered_at", "next_attempt_at"),
)

# API keys: only a digest of the secret is stored; ``prefix`` (the key's first characters,
# shown in listings) finds it. A rep key reads only that rep's leads.
API_ROLES = ("admin", "manager", "rep")
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("digest", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("rep_id", String(128)),
    Column("name", Text, nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

# Idempotency-Key header: the first request with a key claims it (``response`` NULL while it
# runs); a retry with the same key and body gets the stored response, never a second routing.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("api_key_id", BigInteger, primary_key=True),  # keys are per caller
    Column("request_digest", String(64), nullable=False),
    Column("status_code", Integer),
    Column("response", JSON),
    Column("created_at", UTCDateTime, nullable=False),
)


def insert_on(backend: Connection | str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with ``on_conflict_do_*`` for the connection's backend (or a dialect name)."""
    name = backend if isinstance(backend, str) else backend.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise StoreError(f"leadrelay supports SQLite and PostgreSQL, not {name}")


# social graph
# Edges of the relationship graph (social/graph.py). ``a``/``b`` are node keys ("rep:ana",
# "person:jo@acme.com", "company:acme", "domain:acme.com"); ``kind`` "alias" says two keys name
# one node. ``source`` names the import that wrote the row ("linkedin:ana", "crm",
# "file:rels.csv"): re-importing a source replaces its rows.
relationships = Table(
    "relationships",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source", String(255), nullable=False, index=True),
    Column("a", String(512), nullable=False),
    Column("a_label", Text, nullable=False, server_default=""),
    Column("b", String(512), nullable=False),
    Column("b_label", Text, nullable=False, server_default=""),
    Column("kind", String(32), nullable=False),
    Column("strength", Float, nullable=False),
)

# SLA timers
# One deadline on one assignment (workflow/sla.py): written in the transaction that made the
# assignment, done when the worker handles it (``outcome`` met: the watched step happened or
# the lead moved on; breached). ``since`` is the watched assignment's ``assigned_at``: a lead
# that moved since is no longer watched by it. ``claimed_until`` is a worker's lease.
sla_timers = Table(
    "sla_timers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("lead_id", BigId, ForeignKey("leads.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # accept | contact | claim | handoff
    Column("status", String(16), nullable=False),  # the lead's status it watches
    Column("holder", String(128)),  # the rep on the clock (owner, or pool/team owner)
    Column("route", String(128)),
    Column("since", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("done_at", UTCDateTime),
    Column("outcome", String(16)),
    Index("ix_sla_timers_due", "done_at", "due_at"),
)
