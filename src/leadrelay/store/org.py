"""Reps, teams and accounts in the store, and the org as routing reads it.

Saving upserts by id in the caller's transaction and changes ``meta.org_version``; live routing
re-reads the org only when that version changed. Nothing here touches ``rr_ledger``: a rep who
leaves (inactive or deleted) and comes back keeps their place in every rotation.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, select

from leadrelay.domain.org import Account, Team
from leadrelay.domain.rep import Caps, DateRange, Rep, Role, Seniority, WorkingHours
from leadrelay.store.tables import accounts, insert_on, meta, reps, teams

if TYPE_CHECKING:
    from leadrelay.pipeline.account_index import AccountIndex

ORG_VERSION_KEY = "org_version"


@dataclass(frozen=True, slots=True)
class Org:
    """The org at one version: reps in roster order (first saved first), teams, accounts."""

    version: str
    reps: Mapping[str, Rep] = field(default_factory=dict)
    teams: Mapping[str, Team] = field(default_factory=dict)
    accounts_by_domain: Mapping[str, Account] = field(default_factory=dict)
    team_members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def save_reps(conn: Connection, new: Iterable[Rep]) -> int:
    """Insert or update reps by id (the last row of an id wins); returns how many were given.

    A rep keeps their place in the roster (team member order) across updates; new reps join last.
    """
    given = [_rep_row(rep) for rep in new]
    if not given:
        return 0
    positions: dict[str, int] = {
        rep_id: position for rep_id, position in conn.execute(select(reps.c.id, reps.c.position))
    }
    last = max(positions.values(), default=0)
    rows: dict[str, dict[str, Any]] = {}
    for row in given:
        if row["id"] not in positions:
            last += 1
            positions[row["id"]] = last
        rows[row["id"]] = row | {"position": positions[row["id"]]}
    _upsert(conn, reps, list(rows.values()), ("id",))
    bump_org_version(conn)
    return len(given)


def delete_reps(conn: Connection, ids: Iterable[str]) -> int:
    """Remove reps; their assignments, ledger rows and counters stay as history."""
    wanted = list(ids)
    if not wanted:
        return 0
    gone = conn.execute(delete(reps).where(reps.c.id.in_(wanted))).rowcount
    bump_org_version(conn)
    return gone


def save_teams(conn: Connection, new: Iterable[Team]) -> int:
    rows = [{"id": t.id, "name": t.name, "owner": t.owner} for t in new]
    _upsert(conn, teams, rows, ("id",))
    if rows:
        bump_org_version(conn)
    return len(rows)


def save_accounts(conn: Connection, new: Iterable[Account]) -> int:
    rows = [
        {"id": a.id, "name": a.name, "domain": normalise_domain(a.domain), "owner": a.owner}
        for a in new
    ]
    _upsert(conn, accounts, rows, ("id",))
    if rows:
        bump_org_version(conn)
    return len(rows)


def list_accounts(conn: Connection) -> list[Account]:
    return [_account(row) for row in conn.execute(select(accounts).order_by(accounts.c.id))]


def get_account(conn: Connection, account_id: str) -> Account | None:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    return None if row is None else _account(row)


def account_by_domain(conn: Connection, domain: str) -> str | None:
    """The id of the account with this (normalised) domain, if any."""
    return conn.scalar(select(accounts.c.id).where(accounts.c.domain == normalise_domain(domain)))


def delete_accounts(conn: Connection, ids: Iterable[str]) -> int:
    """Remove accounts; leads already matched to them keep the account id as history."""
    wanted = list(ids)
    if not wanted:
        return 0
    gone = conn.execute(delete(accounts).where(accounts.c.id.in_(wanted))).rowcount
    bump_org_version(conn)
    return gone


def _account(row: Any) -> Account:
    return Account(id=row.id, name=row.name, domain=row.domain, owner=row.owner)


def rep_ids(conn: Connection) -> set[str]:
    return set(conn.scalars(select(reps.c.id)))


def team_ids(conn: Connection) -> set[str]:
    """Teams saved as teams, and teams reps name as theirs."""
    named = set(conn.scalars(select(teams.c.id)))
    for joined in conn.scalars(select(reps.c.teams).where(reps.c.teams != "")):
        named.update(_split(joined))
    return named


_VERSION = select(meta.c.value).where(meta.c.key == ORG_VERSION_KEY)


def org_version(conn: Connection) -> str:
    """A token that changes whenever reps, teams or accounts change ('' before any are saved)."""
    return conn.scalar(_VERSION) or ""


def bump_org_version(conn: Connection) -> str:
    # A random token, not a counter: a recreated database never reuses a version a process
    # may still have cached under the same URL.
    token = uuid.uuid4().hex
    stmt = insert_on(conn, meta).values(key=ORG_VERSION_KEY, value=token)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": token}))
    return token


_cache: dict[str, Org] = {}
_cache_lock = threading.Lock()


def load_org(conn: Connection) -> Org:
    """The org as stored; cached per database until ``org_version`` changes."""
    version = org_version(conn)
    key = cache_key(conn)
    cached = _cache.get(key)
    if cached is not None and cached.version == version and version:
        return cached
    org = _read_org(conn, version)
    with _cache_lock:
        _cache[key] = org
    return org


_indexes: dict[str, tuple[str, AccountIndex]] = {}


def company_index(conn: Connection, org: Org) -> AccountIndex:
    """Every account by company name, for fuzzy matching; built once per org version (a
    million accounts take seconds to index, a lookup about a millisecond)."""
    from leadrelay.pipeline.account_index import AccountIndex

    key = cache_key(conn)
    held = _indexes.get(key)
    if held is not None and held[0] == org.version and org.version:
        return held[1]
    index = AccountIndex(list_accounts(conn))
    with _cache_lock:
        _indexes[key] = (org.version, index)
    return index


def _read_org(conn: Connection, version: str) -> Org:
    rep_map = {
        row.id: _rep_from_row(row)
        for row in conn.execute(select(reps).order_by(reps.c.position, reps.c.id))
    }
    team_map = {
        row.id: Team(id=row.id, name=row.name, owner=row.owner)
        for row in conn.execute(select(teams).order_by(teams.c.id))
    }
    by_domain: dict[str, Account] = {}
    for row in conn.execute(
        select(accounts).where(accounts.c.domain.is_not(None)).order_by(accounts.c.id)
    ):
        by_domain.setdefault(
            row.domain, Account(id=row.id, name=row.name, domain=row.domain, owner=row.owner)
        )
    members: dict[str, list[str]] = {}
    for rep in rep_map.values():
        for team in rep.teams:
            members.setdefault(team, []).append(rep.id)
    return Org(
        version=version,
        reps=rep_map,
        teams=team_map,
        accounts_by_domain=by_domain,
        team_members={team: tuple(ids) for team, ids in members.items()},
    )


def cache_key(conn: Connection) -> str:
    """Names the database ``conn`` is on, for caches kept per database."""
    url = conn.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return f"memory:{id(conn.engine)}"  # each in-memory engine is its own database
    return url.render_as_string(hide_password=False)


def normalise_domain(domain: str | None) -> str | None:
    """``https://www.Acme.com/x`` -> ``acme.com``, the form leads are matched by."""
    if not domain or not domain.strip():
        return None
    text = domain.strip().lower()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    return text.split("/", 1)[0].removeprefix("www.") or None


def _rep_row(rep: Rep) -> dict[str, Any]:
    caps = rep.caps or Caps()
    return {
        "id": rep.id,
        "name": rep.name,
        "email": rep.email,
        "teams": ";".join(rep.teams),
        "role": rep.role.value,
        "timezone": rep.timezone,
        "working_hours": rep.working_hours.text,
        "out_of_office": ";".join(str(r) for r in rep.out_of_office),
        "weight": rep.weight,
        "max_per_day": caps.per_day,
        "max_per_week": caps.per_week,
        "max_per_month": caps.per_month,
        "skills": ";".join(sorted(rep.skills)),
        "regions": ";".join(rep.regions),
        "seniority": rep.seniority.value,
        "office_lat": rep.office_lat,
        "office_lon": rep.office_lon,
        "active": rep.active,
    }


def _rep_from_row(row: Any) -> Rep:
    caps = Caps(row.max_per_day, row.max_per_week, row.max_per_month)
    return Rep(
        id=row.id,
        name=row.name,
        email=row.email,
        teams=tuple(_split(row.teams)),
        role=Role(row.role),
        timezone=row.timezone,
        working_hours=WorkingHours.parse(row.working_hours),
        out_of_office=tuple(DateRange.parse(part) for part in _split(row.out_of_office)),
        weight=row.weight,
        # No cap columns set: the policy's default capacity applies (Rep.caps None).
        caps=None if caps == Caps() else caps,
        skills=frozenset(_split(row.skills)),
        regions=tuple(_split(row.regions)),
        seniority=Seniority(row.seniority),
        office_lat=row.office_lat,
        office_lon=row.office_lon,
        active=bool(row.active),
    )


def _split(joined: str | None) -> list[str]:
    return [part.strip() for part in (joined or "").split(";") if part.strip()]


def _upsert(
    conn: Connection, table: Any, rows: list[dict[str, Any]], keys: tuple[str, ...]
) -> None:
    """Insert or update ``rows`` by ``keys``; of rows with the same key, the last one wins."""
    if not rows:
        return
    rows = list({tuple(row[k] for k in keys): row for row in rows}.values())
    stmt = insert_on(conn, table)
    updates = {name: stmt.excluded[name] for name in rows[0] if name not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates), rows)
