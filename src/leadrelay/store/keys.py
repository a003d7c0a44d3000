"""API keys: created once (the secret is shown to the caller only then), stored as a digest.

A key reads ``lr_<prefix>_<secret>``. The prefix is public (it finds the row and names the key
in listings); the secret has 192 random bits, so a plain SHA-256 digest is safe to store (a slow
password hash would only slow every request down: nothing here is guessable).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from leadrelay.errors import Problem, UnknownNameError
from leadrelay.store.tables import API_ROLES, api_keys, reps


@dataclass(frozen=True, slots=True)
class ApiKey:
    """Who a request is: a stored key's id, role and (for a rep key) the rep."""

    id: int
    prefix: str
    role: str
    rep_id: str | None
    name: str
    created_at: datetime
    revoked_at: datetime | None = None


def create_key(
    conn: Connection, role: str, *, rep_id: str | None = None, name: str = ""
) -> tuple[ApiKey, str]:
    """Store a new key; returns it and the secret text (shown once, never stored)."""
    if role not in API_ROLES:
        raise UnknownNameError(
            Problem(f"unknown role {role!r}; use one of {', '.join(API_ROLES)}", field="role")
        )
    if role == "rep":
        if not rep_id:
            raise UnknownNameError(Problem("a rep key needs --rep ID", field="rep"))
        if conn.execute(select(reps.c.id).where(reps.c.id == rep_id)).first() is None:
            raise UnknownNameError(Problem(f"no rep {rep_id!r} is loaded", field="rep"))
    elif rep_id:
        raise UnknownNameError(
            Problem(f"only a rep key names a rep, not a {role} key", field="rep")
        )
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(24)
    token = f"lr_{prefix}_{secret}"
    now = datetime.now(UTC)
    key_id = conn.execute(
        insert(api_keys)
        .values(
            prefix=prefix,
            digest=_digest(token),
            role=role,
            rep_id=rep_id,
            name=name,
            created_at=now,
        )
        .returning(api_keys.c.id)
    ).scalar_one()
    return ApiKey(int(key_id), prefix, role, rep_id, name, now), token


def find_key(conn: Connection, token: str) -> ApiKey | None:
    """The live key ``token`` is, or None (unknown, malformed or revoked)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "lr":
        return None
    row = conn.execute(
        select(api_keys).where(api_keys.c.prefix == parts[1], api_keys.c.revoked_at.is_(None))
    ).first()
    if row is None or not hmac.compare_digest(row.digest, _digest(token)):
        return None
    return _key(row)


def live_key_by_prefix(conn: Connection, prefix: str) -> ApiKey | None:
    """The unrevoked key with this prefix (a signed-in page session holds only the prefix)."""
    row = conn.execute(
        select(api_keys).where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
    ).first()
    return None if row is None else _key(row)


def list_keys(conn: Connection) -> list[ApiKey]:
    return [_key(row) for row in conn.execute(select(api_keys).order_by(api_keys.c.id))]


def revoke_key(conn: Connection, prefix: str) -> bool:
    """Revoke the key with this prefix; False if there is no live one."""
    done = conn.execute(
        update(api_keys)
        .where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return done.rowcount == 1


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=int(row.id),
        prefix=row.prefix,
        role=row.role,
        rep_id=row.rep_id,
        name=row.name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
