"""Properties of proximity on small random graphs, against brute force over simple paths."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.domain.lead import Lead
from leadrelay.social import Edge, SocialGraph

REPS = [f"rep:r{i}" for i in range(3)]
PEOPLE = [f"person:p{i}@x.org" for i in range(6)]
COMPANIES = [f"company:c{i}" for i in range(3)]
NODES = REPS + PEOPLE + COMPANIES
NOW = datetime(2026, 1, 1, tzinfo=UTC)

strengths = st.one_of(st.sampled_from([1.0, 0.5, 0.25, 0.8]), st.floats(0.01, 1.0))
edges = st.lists(
    st.tuples(st.sampled_from(NODES), st.sampled_from(NODES), strengths).filter(
        lambda e: e[0] != e[1]
    ),
    max_size=30,
)


def brute_force(
    ties: dict[frozenset[str], float], start: str, targets: set[str], max_hops: int
) -> float | None:
    """The best product over simple paths of at most ``max_hops`` edges from ``start`` to a
    target, passing through people and reps only."""
    best: float | None = None

    def walk(node: str, seen: set[str], product: float, hops: int) -> None:
        nonlocal best
        if node in targets and (best is None or product > best):
            best = product
        if hops == max_hops or (node != start and node.startswith("company:")):
            return
        for pair, strength in ties.items():
            if node in pair:
                (other,) = pair - {node}
                if other not in seen:
                    walk(other, seen | {other}, product * strength, hops + 1)

    walk(start, {start}, 1.0, 0)
    return best


@settings(max_examples=300, deadline=None)
@given(
    edges=edges,
    person=st.none() | st.integers(0, 5),
    company=st.none() | st.integers(0, 2),
    max_hops=st.integers(1, 4),
)
def test_proximity_is_the_best_product_over_bounded_simple_paths(
    edges: list[tuple[str, str, float]], person: int | None, company: int | None, max_hops: int
) -> None:
    graph = SocialGraph.build([Edge(a, b, "knows", s) for a, b, s in edges], max_hops=max_hops)
    lead = Lead(
        received_at=NOW,
        email=None if person is None else f"p{person}@x.org",
        company=None if company is None else f"c{company}",
    )
    ties: dict[frozenset[str], float] = {}
    for a, b, s in edges:
        pair = frozenset((a, b))
        ties[pair] = max(s, ties.get(pair, 0.0))
    targets = {
        key
        for key in (
            lead.email and f"person:{lead.email}",
            lead.company and f"company:{lead.company}",
        )
        if key
    }
    found = graph.proximity(lead, [rep.removeprefix("rep:") for rep in REPS])

    for rep in REPS:
        expected = brute_force(ties, rep, targets, max_hops)
        got = found.get(rep.removeprefix("rep:"))
        if expected is None:
            assert got is None
            continue
        assert got is not None
        assert got.strength == pytest.approx(expected, rel=1e-6)
        # the path shown is a real path of that strength, within the bound, ending at the lead
        keys = [_key(label) for label in got.path]
        assert keys[0] == rep and keys[-1] in targets and len(keys) <= max_hops + 1
        assert len(set(keys)) == len(keys)
        assert not any(key.startswith("company:") for key in keys[1:-1])
        product = math.prod(ties[frozenset(pair)] for pair in itertools.pairwise(keys))
        assert product == pytest.approx(got.strength, rel=1e-6)
        people = keys[1:-1]
        assert got.connector == (_label(people[0]) if people else None)


@settings(max_examples=100, deadline=None)
@given(edges=edges, seed=st.integers(0, 2**32 - 1), company=st.integers(0, 2))
def test_proximity_does_not_depend_on_edge_order(
    edges: list[tuple[str, str, float]], seed: int, company: int
) -> None:
    as_edges = [Edge(a, b, "knows", s) for a, b, s in edges]
    shuffled = as_edges[:]
    random.Random(seed).shuffle(shuffled)
    lead = Lead(received_at=NOW, company=f"c{company}")
    reps = [rep.removeprefix("rep:") for rep in REPS]
    assert SocialGraph.build(as_edges).proximity(lead, reps) == SocialGraph.build(
        shuffled
    ).proximity(lead, reps)


def _key(label: str) -> str:
    """Unlabelled nodes show their identity: r0 is a rep, p0@x.org a person, c0 a company."""
    if "@" in label:
        return f"person:{label}"
    return f"rep:{label}" if label.startswith("r") else f"company:{label}"


def _label(key: str) -> str:
    return key.partition(":")[2]
