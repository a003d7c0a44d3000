"""What happens to a lead after ``decide``: stored, assigned and followed up, transactionally.

``route_lead`` routes one lead live (one transaction, safe under concurrency); ``route_many``
routes a batch in one transaction, or decides it without writing (``dry_run``).
"""

from leadrelay.workflow.assign import RouteResult, route_lead
from leadrelay.workflow.bulk import route_many

__all__ = ["RouteResult", "route_lead", "route_many"]
