"""Round robin: the eligible rep this route gave a lead to least recently (or a seeded random one).

Sequential order rotates strictly by the route's ledger, so with a stable eligible set the
counts never differ by more than one. The random order picks, with a generator seeded by the
lead, among the eligible reps with the fewest leads from this route: random order, same fairness.
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict

from leadrelay.domain.decision import Candidate, Status, quick_candidate
from leadrelay.domain.snapshot import NEVER, LedgerEntry
from leadrelay.pipeline.strategies.base import Pass, Pick, RouteContext, Strategy


class RoundRobinParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    order: Literal["sequential", "random"] = "sequential"


class RoundRobin(Strategy):
    name = "round_robin"
    Params = RoundRobinParams
    summary = "rotate through the eligible reps, least recently given a lead first"

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        if not ctx.eligible:
            return Pass("no eligible rep")
        params = ctx.route.params
        assert isinstance(params, RoundRobinParams)
        entries = _entries(ctx)
        scored = _notes(ctx, entries)
        if params.order == "random":
            counts = {rep.id: entry.count for rep, entry in zip(ctx.eligible, entries, strict=True)}
            fewest = min(counts.values())
            pool = [rep for rep in ctx.eligible if counts[rep.id] == fewest]
            chosen = random.Random(f"{ctx.lead.seed_key}:{ctx.route.name}").choice(pool)
            reason = (
                f"random round robin: {chosen.id} drawn among {len(pool)} eligible rep(s)"
                f" with the fewest leads from this route ({fewest})"
            )
        else:
            # min(ctx.eligible, key=ctx.entry_order), with the entries already read
            eligible = ctx.eligible
            first = min(
                range(len(eligible)), key=lambda i: (entries[i].last_seq, ctx.place(eligible[i]))
            )
            chosen = eligible[first]
            reason = f"round robin: {chosen.id} was next in rotation ({scored[first].note})"
        return Pick(Status.ASSIGNED, reason, owner=chosen.id, scored=scored)


def _entries(ctx: RouteContext) -> list[LedgerEntry]:
    """Each eligible rep's ledger entry for this route, in ``ctx.eligible`` order."""
    route = ctx.route.name
    ledger = ctx.snapshot.ledger
    return [ledger.get((route, rep.id), NEVER) for rep in ctx.eligible]


def _notes(ctx: RouteContext, entries: list[LedgerEntry]) -> tuple[Candidate, ...]:
    latest = ctx.snapshot.route_seq.get(ctx.route.name)
    return tuple(
        # positional (rep, excluded, score, factors, note): a rep per candidate, keep it cheap
        quick_candidate(rep.id, None, float(entry.count), {}, _since_entry(entry, latest))
        for rep, entry in zip(ctx.eligible, entries, strict=True)
    )


def _since_entry(entry: LedgerEntry, latest: int | None) -> str:
    """``latest``: the route's sequence number (None when the snapshot has none for it)."""
    if entry.last_seq == 0:
        return "never given a lead by this route"
    since = (entry.last_seq if latest is None else latest) - entry.last_seq
    if since == 0:
        return f"{entry.count} lead(s) from this route, including the latest"
    return f"{entry.count} lead(s) from this route, none in the last {since}"
