"""Account owner: a lead of an existing customer goes to whoever owns the account."""

from __future__ import annotations

from leadrelay.domain.decision import NO_FACTORS, Status, quick_candidate
from leadrelay.pipeline.strategies.base import (
    Pass,
    Pick,
    RouteContext,
    Strategy,
    quick_pass,
    quick_pick,
)


class AccountOwner(Strategy):
    name = "account_owner"
    summary = "the owner of the existing account the lead belongs to"

    def choose(self, ctx: RouteContext) -> Pick | Pass:
        if ctx.account is None:
            return quick_pass("the lead matches no existing account")
        owner = ctx.account.owner
        if owner is None:
            return quick_pass(f"account {ctx.account.id} has no owner")
        if ctx.candidates and owner not in ctx.candidates:
            return quick_pass(f"account owner {owner} is not among this route's reps")
        why_not = ctx.excluded.get(owner)
        if why_not is not None or owner not in {rep.id for rep in ctx.eligible}:
            return quick_pass(f"account owner {owner} may not take it: {why_not or 'unknown rep'}")
        return quick_pick(
            Status.ASSIGNED,
            f"account owner: {owner} owns account {ctx.account.name or ctx.account.id}"
            f" (matched by {ctx.account_match})",
            owner=owner,
            scored=tuple(
                quick_candidate(
                    rep=rep.id,
                    factors=NO_FACTORS,
                    note="owns the account"
                    if rep.id == owner
                    else f"not the account owner ({owner})",
                )
                for rep in ctx.eligible
            ),
        )
