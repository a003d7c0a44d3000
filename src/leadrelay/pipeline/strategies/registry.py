"""The one list of routing strategies. A new strategy is one module plus one line here."""

from __future__ import annotations

from leadrelay.pipeline.strategies.account_owner import AccountOwner
from leadrelay.pipeline.strategies.base import Strategy
from leadrelay.pipeline.strategies.best_match import BestMatch, PerformanceStrategy
from leadrelay.pipeline.strategies.claim import Claim
from leadrelay.pipeline.strategies.criteria import Criteria
from leadrelay.pipeline.strategies.earn_it import EarnIt
from leadrelay.pipeline.strategies.least_loaded import LeastLoaded
from leadrelay.pipeline.strategies.manual import Manual
from leadrelay.pipeline.strategies.modified_round_robin import ModifiedRoundRobin
from leadrelay.pipeline.strategies.round_robin import RoundRobin
from leadrelay.pipeline.strategies.social import SocialStrategy
from leadrelay.pipeline.strategies.team import TeamHold
from leadrelay.pipeline.strategies.territory import Territory
from leadrelay.pipeline.strategies.weighted_round_robin import WeightedRoundRobin
from leadrelay.policy.compiled import CompiledPolicy

STRATEGIES: dict[str, Strategy] = {
    strategy.name: strategy
    for strategy in (
        RoundRobin(),
        WeightedRoundRobin(),
        LeastLoaded(),
        Criteria(),
        Territory(),
        AccountOwner(),
        TeamHold(),
        Claim(),
        Manual(),
        BestMatch(),
        ModifiedRoundRobin(),
        PerformanceStrategy(),
        EarnIt(),
        SocialStrategy(),
    )
}


def policy_reads(policy: CompiledPolicy) -> frozenset[str]:
    """What beyond the routing tables some route of the policy reads (``Strategy.reads``).

    Asked for every live lead: remembered per policy object (compiled policies never change;
    the memo holds the policy, so its id is not reused while it is here).
    """
    held = _READS.get(id(policy))
    if held is not None and held[0] is policy:
        return held[1]
    routes = [*policy.routes, *(experiment.route for experiment in policy.experiments)]
    found: set[str] = set()
    for route in routes:
        found |= STRATEGIES[route.strategy].reads(route.params)
    if len(_READS) >= _MAX_READS:
        _READS.clear()
    _READS[id(policy)] = (policy, frozenset(found))
    return frozenset(found)


_READS: dict[int, tuple[CompiledPolicy, frozenset[str]]] = {}
_MAX_READS = 16
