"""Round robin: the eligible rep this route gave a lead to least recently (or a seeded random one).

Sequential order rotates strictly by the route's ledger, so with a stable eligible set the
counts never differ by more than one. The random order picks, with a generator seeded by the
lead, among the eligible reps with the fewest leads from this route: random order, same fairness.
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict

from leadrelay.domain.decision import NO_FACTORS, Candidate, Status, quick_candidate
from leadrelay.domain.rep import Rep
from leadrelay.domain.snapshot import NEVER, LedgerEntry
from leadrelay.pipeline.strategies.base import (
    Pass,
    Pick,
    RouteContext,
    Strategy,
    quick_pass,
    quick_pick,
)


class RoundRobinParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    order: Literal["sequential", "random"] = "sequential"


class RoundRobin(Strategy):
    name = "round_robin"
    Params = RoundRobinParams
    summary = "rotate through the eligible reps, least recently given a lead first"

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        eligible = ctx.eligible
        if not eligible:
            return quick_pass("no eligible rep")
        params = ctx.route.params
        assert isinstance(params, RoundRobinParams)
        route = ctx.route.name
        ledger = ctx.snapshot.ledger
        entries = [ledger.get((route, rep.id), NEVER) for rep in eligible]
        scored = _scored(eligible, entries, ctx.snapshot.route_seq.get(route))
        if params.order == "random":
            counts = [entry.count for entry in entries]
            fewest = min(counts)
            pool = [rep for rep, count in zip(eligible, counts, strict=True) if count == fewest]
            chosen = random.Random(f"{ctx.lead.seed_key}:{route}").choice(pool)
            reason = (
                f"random round robin: {chosen.id} drawn among {len(pool)} eligible rep(s)"
                f" with the fewest leads from this route ({fewest})"
            )
        else:
            # min(eligible, key=ctx.entry_order), with the entries already read: the least
            # recently served, ties (reps the route never served) in route order
            seqs = [entry.last_seq for entry in entries]
            lowest = min(seqs)
            first = seqs.index(lowest)
            if seqs.count(lowest) > 1:
                place = ctx.place
                first = min(
                    (i for i, seq in enumerate(seqs) if seq == lowest),
                    key=lambda i: place(eligible[i]),
                )
            chosen = eligible[first]
            reason = f"round robin: {chosen.id} was next in rotation ({scored[first].note})"
        return quick_pick(Status.ASSIGNED, reason, owner=chosen.id, scored=scored)


def _scored(
    eligible: tuple[Rep, ...], entries: list[LedgerEntry], latest: int | None
) -> tuple[Candidate, ...]:
    """Each eligible rep's count from this route and how long ago its last lead was.

    ``latest``: the route's sequence number (None when the snapshot has none for it).
    """
    scored = []
    for rep, entry in zip(eligible, entries, strict=True):
        last_seq = entry.last_seq
        # since: leads the route gave after the rep's last one (None: it never had one)
        since = None if last_seq == 0 else (last_seq if latest is None else latest) - last_seq
        shown = _SHOWN.get((entry.count, since))
        if shown is None:
            shown = _shown(entry.count, since)
        # positional (rep, excluded, score, factors, note): one per rep of often the widest route
        scored.append(quick_candidate(rep.id, None, shown[0], NO_FACTORS, shown[1]))
    return tuple(scored)


def _shown(count: int, since: int | None) -> tuple[float, str]:
    """A rep's score and note: its count, and the leads the route gave since its last one."""
    if since is None:
        note = "never given a lead by this route"
    elif since == 0:
        note = f"{count} lead(s) from this route, including the latest"
    else:
        note = f"{count} lead(s) from this route, none in the last {since}"
    if len(_SHOWN) >= _MAX_SHOWN:
        _SHOWN.clear()
    shown = _SHOWN[(count, since)] = (float(count), note)
    return shown


# (count, since) -> (score, note): reps in one rotation keep meeting the same pairs
_SHOWN: dict[tuple[int, int | None], tuple[float, str]] = {}
_MAX_SHOWN = 65536
