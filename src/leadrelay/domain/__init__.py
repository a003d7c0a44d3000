"""Pure domain objects: no I/O, no database, no web framework."""

from leadrelay.domain.decision import (
    Assignment,
    Candidate,
    Decision,
    RouteTrial,
    Screening,
    ScreeningStep,
    Status,
)
from leadrelay.domain.lead import LEAD_FIELDS, Lead
from leadrelay.domain.org import Account, Team
from leadrelay.domain.rep import Caps, DateRange, Rep, Role, Seniority, WorkingHours
from leadrelay.domain.snapshot import LedgerEntry, Snapshot, period_starts

__all__ = [
    "LEAD_FIELDS",
    "Account",
    "Assignment",
    "Candidate",
    "Caps",
    "DateRange",
    "Decision",
    "Lead",
    "LedgerEntry",
    "Rep",
    "Role",
    "RouteTrial",
    "Screening",
    "ScreeningStep",
    "Seniority",
    "Snapshot",
    "Status",
    "Team",
    "WorkingHours",
    "period_starts",
]
