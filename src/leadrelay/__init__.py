"""leadrelay: every lead to the one rep most likely to win it, with a reason anyone can read."""

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
