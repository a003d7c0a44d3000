"""leadrelay: every lead to the one rep most likely to win it, with a reason anyone can read."""

from typing import TYPE_CHECKING, Any

from leadrelay.domain import (
    Account,
    Candidate,
    Caps,
    Decision,
    Lead,
    Rep,
    RouteTrial,
    Screening,
    Snapshot,
    Status,
    Team,
    WorkingHours,
)
from leadrelay.errors import LeadRelayError, PolicyError

if TYPE_CHECKING:
    from leadrelay.pipeline.decide import decide

__version__ = "0.1.0"

__all__ = [
    "Account",
    "Candidate",
    "Caps",
    "Decision",
    "Lead",
    "LeadRelayError",
    "PolicyError",
    "Rep",
    "RouteTrial",
    "Screening",
    "Snapshot",
    "Status",
    "Team",
    "WorkingHours",
    "__version__",
    "decide",
]


def __getattr__(name: str) -> Any:
    # The routing brain pulls in the condition language; load it on first use so that the
    # command line (``leadrelay --help``, ``load``) starts quickly.
    if name == "decide":
        from leadrelay.pipeline.decide import decide

        return decide
    raise AttributeError(f"module 'leadrelay' has no attribute {name!r}")
