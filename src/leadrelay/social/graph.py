"""The relationship graph: who at our company can reach a lead's person or company, and how.

Built once from edges (``SocialGraph.build``) and immutable after, so one graph can serve every
routing decision until the relationships change. Nodes are reps, people (employees who are not
reps, and contacts) and companies; ``alias`` edges merge keys that name one node (a rep and their
email, an account's name and its domain).

``proximity(lead, rep_ids)`` finds, for each rep, the strongest path of at most ``max_hops``
edges to any of the lead's nodes: the person (by email, else name and company) and the company
(by name, website domain, or email domain unless it is a mailbox provider). Companies end paths,
never relay them (see ``keys.COMPANY_KINDS``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from leadrelay.domain.lead import Lead
from leadrelay.domain.rep import Rep
from leadrelay.domain.social import Connection
from leadrelay.pipeline.match import FREE_MAIL_DOMAINS
from leadrelay.social.edges import ALIAS, Edge
from leadrelay.social.keys import (
    COMPANY_KINDS,
    NodeKind,
    company_key,
    domain_key,
    email_key,
    kind_of,
    name_key,
    rep_key,
)
from leadrelay.social.search import Csr, build_csr, search, strength_of

DEFAULT_MAX_HOPS = 3  # rep -> colleague -> contact -> company; 4 reaches one circle further
MAX_HOPS_LIMIT = 6

# When keys merge, the node shows the most telling label: a rep's, an employee's, a person's,
# a company name, a bare domain -- the first given of the best kind.
# (kinds merge the same way: a node with a rep key is a rep, one with a company key a company)
_KIND_RANK = {NodeKind.REP: 0, NodeKind.PERSON: 2, NodeKind.COMPANY: 3, NodeKind.DOMAIN: 4}
EMPLOYEE_SUFFIX = " (employee)"


class SocialGraph:
    """An immutable relationship graph; implements ``domain.snapshot.SocialGraph``."""

    __slots__ = ("_csr", "_index", "_kinds", "_labels", "max_hops")

    def __init__(
        self,
        csr: Csr,
        index: Mapping[str, int],
        labels: Sequence[str],
        kinds: Sequence[NodeKind],
        max_hops: int,
    ) -> None:
        self._csr = csr
        self._index = index  # every key (aliases too) -> node
        self._labels = labels
        self._kinds = kinds
        self.max_hops = max_hops

    @classmethod
    def build(
        cls, edges: Iterable[Edge], reps: Iterable[Rep] = (), *, max_hops: int = DEFAULT_MAX_HOPS
    ) -> SocialGraph:
        """The graph of ``edges``; ``reps`` name rep nodes and join each to its email."""
        if not 1 <= max_hops <= MAX_HOPS_LIMIT:
            raise ValueError(f"max_hops must be 1..{MAX_HOPS_LIMIT}, not {max_hops}")
        keys = _Keys()
        for rep in reps:
            # a rep's email joins the rep to the employees' exports that list them by email
            node = keys.add(rep_key(rep.id), f"{rep.name or rep.id} (rep)")
            email = email_key(rep.email) if rep.email else None
            if email is not None:
                keys.union(node, keys.add(email))
        pairs: list[tuple[int, int, float]] = []
        for edge in edges:
            a = keys.add(edge.a, edge.a_label)
            b = keys.add(edge.b, edge.b_label)
            if edge.kind == ALIAS:
                keys.union(a, b)
            else:
                pairs.append((a, b, edge.strength))
        node_of, labels, kinds = keys.nodes()
        n = len(labels)
        if pairs:
            a_ids, b_ids, strength = (np.asarray(column) for column in zip(*pairs, strict=True))
        else:
            a_ids = b_ids = np.zeros(0, dtype=np.int64)
            strength = np.zeros(0, dtype=np.float64)
        nodes = np.asarray(node_of, dtype=np.int64)
        a_nodes, b_nodes = nodes[a_ids.astype(np.int64)], nodes[b_ids.astype(np.int64)]
        loops = a_nodes == b_nodes  # two aliases of one node tied to each other
        kind_codes = np.asarray([_KIND_RANK[k] for k in kinds], dtype=np.int8)
        csr = build_csr(
            n,
            a_nodes[~loops],
            b_nodes[~loops],
            strength.astype(np.float64)[~loops],
            is_rep=kind_codes == _KIND_RANK[NodeKind.REP],
            relays=kind_codes < _KIND_RANK[NodeKind.COMPANY],
            max_hops=max_hops,
        )
        index = {key: node_of[i] for key, i in keys.ids.items()}
        return cls(csr, index, labels, kinds, max_hops)

    def __len__(self) -> int:
        return len(self._labels)

    @property
    def edge_count(self) -> int:
        return len(self._csr.indices) // 2

    def memory_bytes(self) -> int:
        """The arrays' bytes (the key index and labels, Python objects, are not counted)."""
        return self._csr.nbytes()

    def label(self, key: str) -> str | None:
        node = self._index.get(key)
        return None if node is None else self._labels[node]

    def targets(self, lead: Lead) -> list[str]:
        """The keys the lead is known by, person first, then company (not all need exist)."""
        keys: list[str | None] = []
        name = " ".join(part for part in (lead.first_name, lead.last_name) if part)
        if lead.email:
            keys.append(email_key(lead.email))
        if name and lead.company:
            keys.append(name_key(name, lead.company))
        if lead.company:
            keys.append(company_key(lead.company))
        if lead.website_domain:
            keys.append(domain_key(lead.website_domain))
        if lead.email_domain and lead.email_domain not in FREE_MAIL_DOMAINS:
            keys.append(domain_key(lead.email_domain))
        return [key for key in dict.fromkeys(keys) if key is not None]

    def proximity(
        self, lead: Lead, rep_ids: Sequence[str], *, max_hops: int | None = None
    ) -> dict[str, Connection]:
        """Each of ``rep_ids`` that has a path to the lead, with its strongest one."""
        sources = sorted({self._index[k] for k in self.targets(lead) if k in self._index})
        reps = {rep_id: self._index.get(rep_key(rep_id)) for rep_id in rep_ids}
        if not sources or not any(node is not None for node in reps.values()):
            return {}
        wanted = [node for node in reps.values() if node is not None]
        found = search(
            self._csr,
            np.asarray(sources, dtype=np.int64),
            np.asarray(wanted, dtype=np.int64),
            max_hops or self.max_hops,
        )
        best = dict(zip(wanted, found, strict=True))
        out: dict[str, Connection] = {}
        for rep_id, node in reps.items():
            hit = None if node is None else best[node]
            if hit is not None:
                out[rep_id] = self._connection(hit[1], hit[0])
        return out

    def _connection(self, path: list[int], weight: int) -> Connection:
        labels = tuple(self._labels[node] for node in path)
        # the first person between the rep and the lead's node: whom to ask for an introduction
        between = (node for node in path[1:-1] if self._kinds[node] not in COMPANY_KINDS)
        connector = next((self._labels[node] for node in between), None)
        return Connection(strength_of(weight), labels, connector)


class _Keys:
    """Interns keys and merges aliases (union-find); then numbers the nodes in key order."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self._parent: list[int] = []
        self._label: list[tuple[int, int, str] | None] = []  # (rank, key id, label) if given

    def add(self, key: str, label: str = "") -> int:
        i = self.ids.get(key)
        if i is None:
            i = self.ids[key] = len(self._parent)
            self._parent.append(i)
            self._label.append(None)
        if label:
            rank = 1 if label.endswith(EMPLOYEE_SUFFIX) else _KIND_RANK[kind_of(key)]
            held = self._label[i]
            if held is None or rank < held[0]:
                self._label[i] = (rank, i, label)
        return i

    def _find(self, i: int) -> int:
        parent = self._parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def nodes(self) -> tuple[list[int], list[str], list[NodeKind]]:
        """Node of every key id, and each node's label and kind; nodes numbered by their
        smallest key, so numbering does not depend on the order edges came in."""
        members: dict[int, list[str]] = {}
        for key, i in self.ids.items():
            members.setdefault(self._find(i), []).append(key)
        for keys in members.values():
            keys.sort()
        roots = sorted(members, key=lambda root: members[root][0])
        number = {root: n for n, root in enumerate(roots)}
        node_of = [number[self._find(i)] for i in range(len(self._parent))]
        labels: list[str] = []
        kinds: list[NodeKind] = []
        for root in roots:
            keys = members[root]
            if len(keys) == 1:  # most nodes: no aliases
                entry = self._label[root]
                kinds.append(kind_of(keys[0]))
                labels.append(_default_label(keys[0]) if entry is None else entry[2])
                continue
            given = [entry for key in keys if (entry := self._label[self.ids[key]]) is not None]
            ranked = sorted(keys, key=lambda key: _KIND_RANK[kind_of(key)])
            kinds.append(kind_of(ranked[0]))
            labels.append(min(given)[2] if given else _default_label(ranked[0]))
        return node_of, labels, kinds


def _default_label(key: str) -> str:
    """A readable name for a key given without one: the identity part, names capitalised."""
    identity = key.partition(":")[2]
    if "|" in identity:
        who, _, where = identity.partition("|")
        return f"{who.title()} ({where.title()})"
    return identity
