"""The relationship graph in the store: edges saved per import source, loaded as a graph.

Each import names its ``source`` (``linkedin:rep:ana``, ``crm``, ``file:rels.csv``); saving a
source replaces every edge it saved before, so re-importing one employee's Connections.csv
replaces that employee's edges and nobody else's. Runs in the caller's transaction: a bad file
raises before anything is written, and a failure while writing rolls the whole import back.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from itertools import islice

from sqlalchemy import Connection, delete, func, insert, select

from leadrelay.domain.rep import Rep
from leadrelay.social.edges import ALIAS, Edge
from leadrelay.social.graph import DEFAULT_MAX_HOPS, SocialGraph
from leadrelay.social.keys import company_key, domain_key
from leadrelay.store.org import cache_key, org_version
from leadrelay.store.tables import accounts, insert_on, meta, relationships, reps

SOCIAL_VERSION_KEY = "social_version"
_CHUNK = 10_000


def save_relationships(conn: Connection, source: str, edges: Sequence[Edge]) -> int:
    """Replace the edges of ``source`` with ``edges``; returns how many it had before."""
    if not source:
        raise ValueError("an import needs a source name")
    removed = conn.execute(delete(relationships).where(relationships.c.source == source)).rowcount
    rows = (
        {"source": source, "a": e.a, "a_label": e.a_label, "b": e.b, "b_label": e.b_label,
         "kind": e.kind, "strength": e.strength}
        for e in edges
    )  # fmt: skip
    for chunk in _chunks(rows):
        conn.execute(insert(relationships), chunk)
    _bump_version(conn)
    return removed


def delete_relationships(conn: Connection, source: str) -> int:
    """Forget every edge one import saved; returns how many."""
    gone = conn.execute(delete(relationships).where(relationships.c.source == source)).rowcount
    if gone:
        _bump_version(conn)
    return gone


def relationship_sources(conn: Connection) -> dict[str, int]:
    """Edges per import source, by source name."""
    stmt = (
        select(relationships.c.source, func.count())
        .group_by(relationships.c.source)
        .order_by(relationships.c.source)
    )
    return {source: count for source, count in conn.execute(stmt)}


def load_edges(conn: Connection) -> list[Edge]:
    """Every stored edge, in the order saved."""
    stmt = select(
        relationships.c.a, relationships.c.b, relationships.c.kind, relationships.c.strength,
        relationships.c.a_label, relationships.c.b_label,
    ).order_by(relationships.c.id)  # fmt: skip
    return [Edge(*row) for row in conn.execute(stmt)]


_cache: dict[tuple[str, int], tuple[str, SocialGraph]] = {}
_cache_lock = threading.Lock()


def load_graph(conn: Connection, *, max_hops: int = DEFAULT_MAX_HOPS) -> SocialGraph:
    """The stored graph, with reps (named, and joined to their emails) and accounts (each
    company name joined to its domain); cached per database until relationships, reps or
    accounts change."""
    version = f"{conn.scalar(_VERSION) or ''}/{org_version(conn)}"
    key = (cache_key(conn), max_hops)
    held = _cache.get(key)
    if held is not None and held[0] == version and version != "/":
        return held[1]
    graph = SocialGraph.build(
        [*load_edges(conn), *_account_aliases(conn)], _reps(conn), max_hops=max_hops
    )
    with _cache_lock:
        _cache[key] = (version, graph)
    return graph


def _reps(conn: Connection) -> list[Rep]:
    stmt = select(reps.c.id, reps.c.name, reps.c.email).order_by(reps.c.position, reps.c.id)
    return [Rep(id=i, name=name, email=email) for i, name, email in conn.execute(stmt)]


def _account_aliases(conn: Connection) -> Iterator[Edge]:
    stmt = (
        select(accounts.c.name, accounts.c.domain)
        .where(accounts.c.domain.is_not(None))
        .order_by(accounts.c.id)
    )
    for name, domain in conn.execute(stmt):
        firm, site = company_key(name or ""), domain_key(domain)
        if firm is not None and site is not None:
            yield Edge(firm, site, ALIAS, 1.0, name, domain)


_VERSION = select(meta.c.value).where(meta.c.key == SOCIAL_VERSION_KEY)


def _bump_version(conn: Connection) -> None:
    token = uuid.uuid4().hex  # random, not a counter: see org.bump_org_version
    stmt = insert_on(conn, meta).values(key=SOCIAL_VERSION_KEY, value=token)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": token}))


def _chunks(rows: Iterator[dict[str, object]]) -> Iterator[list[dict[str, object]]]:
    while chunk := list(islice(rows, _CHUNK)):
        yield chunk
