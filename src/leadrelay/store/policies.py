"""Policy versions: every distinct policy text stored once, numbered, and one of them active."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from leadrelay.errors import UnknownNameError
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store.tables import policies


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    revision: int
    digest: str
    created_at: datetime
    active: bool
    text: str


def policy_digest(policy: CompiledPolicy) -> str:
    return policy.digest or hashlib.sha256(policy.text.encode()).hexdigest()


def find_revision(conn: Connection, policy: CompiledPolicy) -> int | None:
    """The stored revision of this policy text, if it was ever saved."""
    digest = policy_digest(policy)
    return conn.scalar(select(policies.c.revision).where(policies.c.digest == digest))


def save_policy(conn: Connection, policy: CompiledPolicy, *, at: datetime | None = None) -> int:
    """Store the policy's text (once per distinct text) and return its revision number."""
    found = find_revision(conn, policy)
    if found is not None:
        return found
    row = {
        "digest": policy_digest(policy),
        "text": policy.text,
        "created_at": at or datetime.now(UTC),
        "active": False,
    }
    try:
        with conn.begin_nested():
            revision = conn.execute(
                policies.insert().values(row).returning(policies.c.revision)
            ).scalar_one()
    except IntegrityError:
        # Saved concurrently by another process: theirs is the one revision of this text.
        raced = find_revision(conn, policy)
        if raced is None:
            raise
        return raced
    return int(revision)


def activate(conn: Connection, revision: int) -> None:
    """Make ``revision`` the policy live routing uses; the previous one stays as history."""
    exists = conn.scalar(select(policies.c.revision).where(policies.c.revision == revision))
    if exists is None:
        known = list(conn.scalars(select(policies.c.revision).order_by(policies.c.revision)))
        raise UnknownNameError(f"no policy revision {revision} (stored: {known or 'none'})")
    conn.execute(
        update(policies)
        .where(policies.c.active, policies.c.revision != revision)
        .values(active=False)
    )
    conn.execute(update(policies).where(policies.c.revision == revision).values(active=True))


def active_policy_text(conn: Connection) -> tuple[int, str] | None:
    """The active policy's revision and text, or None if none was activated."""
    row = conn.execute(
        select(policies.c.revision, policies.c.text).where(policies.c.active)
    ).first()
    return (int(row.revision), str(row.text)) if row else None


def policy_text(conn: Connection, revision: int) -> str:
    found = conn.scalar(select(policies.c.text).where(policies.c.revision == revision))
    if found is None:
        raise UnknownNameError(f"no policy revision {revision}")
    return str(found)


def compile_version(revision: int, text: str) -> CompiledPolicy:
    """A stored version compiled, its revision set. Names of reps and teams were checked when it
    was activated; a rep deleted since is "not a known rep" to routing, not a reason to stop
    taking leads."""
    from leadrelay.policy import load_policy_text

    return load_policy_text(text, source=f"policy version {revision}").with_revision(revision)


def list_versions(conn: Connection) -> list[PolicyVersion]:
    """Every stored revision, oldest first."""
    return [
        PolicyVersion(
            revision=row.revision,
            digest=row.digest,
            created_at=row.created_at,
            active=bool(row.active),
            text=row.text,
        )
        for row in conn.execute(select(policies).order_by(policies.c.revision))
    ]
