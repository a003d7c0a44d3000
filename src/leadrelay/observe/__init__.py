"""Observability: Prometheus metrics (``/metrics``) and structured logs.

Kept out of ``pipeline/`` and ``domain/``: routing code carries one decorator
(``observed_route``, ``observed_batch``), the worker and SLA timers one call per event.
"""

from leadrelay.observe.logs import configure as configure_logging
from leadrelay.observe.metrics import exposition
from leadrelay.observe.routing import observed_batch, observed_route

__all__ = ["configure_logging", "exposition", "observed_batch", "observed_route"]
