"""The one list of routing strategies. A new strategy is one module plus one line here."""

from __future__ import annotations

from leadrelay.pipeline.strategies.account_owner import AccountOwner
from leadrelay.pipeline.strategies.base import Strategy
from leadrelay.pipeline.strategies.claim import Claim
from leadrelay.pipeline.strategies.criteria import Criteria
from leadrelay.pipeline.strategies.least_loaded import LeastLoaded
from leadrelay.pipeline.strategies.manual import Manual
from leadrelay.pipeline.strategies.round_robin import RoundRobin
from leadrelay.pipeline.strategies.team import TeamHold
from leadrelay.pipeline.strategies.territory import Territory
from leadrelay.pipeline.strategies.weighted_round_robin import WeightedRoundRobin

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
    )
}
