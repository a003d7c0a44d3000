"""The numeric core: the graph as CSR arrays, and a hop-bounded best-path search over them.

Path strength is a product, so the search adds weights ``-log(strength)`` and keeps the least.
Weights are integers (nano-nats) so that sums are exact: equal paths tie exactly, and ties go to
the path with fewer hops, then to the lower predecessor index (nodes are numbered in key order),
the same on every machine.

The search runs once per lead, from the lead's own nodes outwards (Bellman-Ford by rounds, one
round per hop), and stops at ``max_hops``. What keeps it fast on a million edges is pruning built
once with the graph: every node knows how many hops it is from the nearest rep
(``rep_hops``), and each node's neighbours are stored nearest-to-a-rep first, so a round only
reads the prefix of each row that can still reach a rep within the hops left.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
from scipy.sparse.csgraph import dijkstra  # type: ignore[import-untyped]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SCALE = 1e9  # weight units per nat
UNREACHED = np.iinfo(np.int64).max
NO_HOPS = np.iinfo(np.int32).max  # rep_hops of a node no rep reaches (or a company)


# Heavier edges count as this heavy (strength 1e-13): the weights of a path and a node index
# must fit one int64 together (see ``search``).
MAX_WEIGHT = 30.0


def weight_of(strength: npt.NDArray[np.float64]) -> IntArray:
    """``-log(strength)`` in integer units; strength 1 weighs 0."""
    return np.rint(np.minimum(-np.log(strength), MAX_WEIGHT) * SCALE).astype(np.int64)


def strength_of(weight: int) -> float:
    return float(np.exp(-weight / SCALE))


@dataclass(frozen=True, slots=True)
class Csr:
    """Both directions of every edge, rows ordered nearest-to-a-rep first (see module doc)."""

    indptr: IntArray  # n + 1
    indices: npt.NDArray[np.int32]
    weights: IntArray
    cuts: IntArray  # (max_hops, n): cuts[b, v] ends v's neighbours with rep_hops <= b
    rep_hops: npt.NDArray[np.int32]

    @property
    def max_hops(self) -> int:
        return int(self.cuts.shape[0])

    def nbytes(self) -> int:
        arrays = (self.indptr, self.indices, self.weights, self.cuts, self.rep_hops)
        return sum(a.nbytes for a in arrays)


def build_csr(
    n: int,
    a: IntArray,
    b: IntArray,
    strength: npt.NDArray[np.float64],
    *,
    is_rep: BoolArray,
    relays: BoolArray,
    max_hops: int,
) -> Csr:
    """The CSR of ``n`` nodes and undirected edges ``a[i]-b[i]``; of parallel edges the strongest
    counts. ``relays`` marks nodes a path may pass through (people, not companies)."""
    weight = weight_of(strength)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((weight, hi, lo))
    lo, hi, weight = lo[order], hi[order], weight[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, weight = lo[first], hi[first], weight[first]

    rep_hops = _rep_hops(n, lo, hi, is_rep, relays, max_hops)
    rows = np.concatenate((lo, hi))
    cols = np.concatenate((hi, lo))
    weights = np.concatenate((weight, weight))
    col_hops = rep_hops[cols]
    order = np.lexsort((cols, col_hops, rows))
    rows, cols, weights, col_hops = rows[order], cols[order], weights[order], col_hops[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    cuts = np.empty((max_hops, n), dtype=np.int64)
    for bound in range(max_hops):
        cuts[bound] = indptr[:-1] + np.bincount(rows[col_hops <= bound], minlength=n)
    return Csr(indptr, cols.astype(np.int32), weights, cuts, rep_hops)


def _rep_hops(
    n: int, lo: IntArray, hi: IntArray, is_rep: BoolArray, relays: BoolArray, max_hops: int
) -> npt.NDArray[np.int32]:
    """Hops from each node to the nearest rep, walking through relays only (BFS by csgraph)."""
    hops = np.full(n, NO_HOPS, dtype=np.int32)
    reps = np.flatnonzero(is_rep & relays)
    if len(reps) == 0:
        return hops
    keep = relays[lo] & relays[hi]
    ones = np.ones(int(keep.sum()), dtype=np.int8)
    graph = csr_matrix((ones, (lo[keep], hi[keep])), shape=(n, n))
    found = dijkstra(graph, directed=False, indices=reps, unweighted=True, min_only=True,
                     limit=max_hops)  # fmt: skip
    reached = np.isfinite(found) & relays
    hops[reached] = found[reached].astype(np.int32)
    return hops


class _Buffers(threading.local):
    """Per-thread scratch arrays, so a query allocates nothing of the graph's size: ``dist`` and
    ``best`` are reset where a query wrote them; ``round_of`` and ``pred`` are read only where
    this query wrote them."""

    def __init__(self) -> None:
        self.size = -1
        self.dist: IntArray = np.zeros(0, dtype=np.int64)
        self.best: IntArray = np.zeros(0, dtype=np.int64)
        self.round_of: npt.NDArray[np.int8] = np.zeros(0, dtype=np.int8)
        self.pred: npt.NDArray[np.int32] = np.zeros((0, 0), dtype=np.int32)

    def ready(self, n: int, hops: int) -> None:
        if self.size != n or self.pred.shape[0] < hops + 1:
            self.dist = np.full(n, UNREACHED, dtype=np.int64)
            self.best = np.full(n, UNREACHED, dtype=np.int64)
            self.round_of = np.empty(n, dtype=np.int8)
            self.pred = np.empty((hops + 1, n), dtype=np.int32)  # pred[k, v]: v's pred in round k
            self.size = n


_buffers = _Buffers()


def search(
    csr: Csr, sources: IntArray, wanted: IntArray, max_hops: int
) -> list[tuple[int, list[int]] | None]:
    """For each of ``wanted``: the weight of its best path of at most ``max_hops`` edges to any
    of ``sources`` (which start at weight 0) and that path's nodes from it to the source; None
    when it has none. Only relays within reach of a rep are walked (see the module doc)."""
    if max_hops > csr.max_hops:
        raise ValueError(f"the graph was built for at most {csr.max_hops} hops, not {max_hops}")
    n = len(csr.indptr) - 1
    buf = _buffers
    buf.ready(n, csr.max_hops)
    dist, best, round_of, pred = buf.dist, buf.best, buf.round_of, buf.pred
    # a candidate's key orders by weight, then by predecessor: one integer, one scatter-min
    shift = max(n.bit_length(), 1)
    frontier = np.unique(sources)
    touched = [frontier]
    try:
        dist[frontier] = 0
        round_of[frontier] = 0
        for step in range(max_hops):
            starts = csr.indptr[frontier]
            counts = csr.cuts[max_hops - step - 1, frontier] - starts
            total = int(counts.sum())
            if total == 0:
                break
            edges = np.arange(total) + np.repeat(starts - (np.cumsum(counts) - counts), counts)
            src = np.repeat(frontier, counts)
            tgt = csr.indices[edges]
            cand = dist[src] + csr.weights[edges]  # this round's frontier, before any update
            better = cand < dist[tgt]
            src, tgt, cand = src[better], tgt[better], cand[better]
            key = (cand << shift) | src
            np.minimum.at(best, tgt, key)
            won = best[tgt] == key  # (src, tgt) pairs are unique: one winner per target
            best[tgt] = UNREACHED
            frontier, src, cand = tgt[won].astype(np.int64), src[won], cand[won]
            touched.append(frontier)
            dist[frontier] = cand
            round_of[frontier] = step + 1
            pred[step + 1, frontier] = src
        return _paths(dist, round_of, pred, wanted)
    finally:
        for nodes in touched:
            dist[nodes] = UNREACHED


def _paths(
    dist: IntArray, round_of: npt.NDArray[np.int8], pred: npt.NDArray[np.int32], wanted: IntArray
) -> list[tuple[int, list[int]] | None]:
    """Follow predecessors back round by round (a node's pred changed in the round before)."""
    reached = dist[wanted] != UNREACHED
    nodes = wanted[reached]
    rounds = round_of[nodes].astype(np.int64)
    steps = [nodes]
    current = nodes
    for _ in range(int(rounds.max(initial=0))):
        moving = rounds > 0
        current = np.where(moving, pred[np.maximum(rounds, 0), current], current)
        rounds = rounds - moving
        steps.append(np.where(moving, current, -1))
    columns = [step.tolist() for step in steps]
    weights = dist[nodes].tolist()
    found = iter(
        (weight, [node for node in path if node >= 0])
        for weight, *path in zip(weights, *columns, strict=True)
    )
    return [next(found) if hit else None for hit in reached.tolist()]
