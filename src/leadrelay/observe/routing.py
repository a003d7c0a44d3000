"""Routing seen from outside: metrics and one log record per lead routed and stored.

``observed_route`` wraps live routing (``route_lead``) and ``observed_batch`` bulk routing
(``route_many``), so the routing code itself carries one decorator line and no timing code, and
``decide`` nothing at all. Only leads stored by the call count: a lead found stored already
(same external id) and every lead of a dry run do not.

A decision is stored keyed by its lead (``decisions.lead_id``, read at
``GET /v1/leads/{id}/decision``): its ``decision_id`` is the lead's id.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec

from leadrelay.domain.lead import Lead
from leadrelay.observe import metrics
from leadrelay.observe.logs import ROUTING

if TYPE_CHECKING:
    from leadrelay.workflow.assign import RouteResult

P = ParamSpec("P")
_INFO = logging.INFO


def observed_route(fn: Callable[P, RouteResult]) -> Callable[P, RouteResult]:
    """Count, time and log the one lead a live routing call stores."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> RouteResult:
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        if result.created:
            seconds = time.perf_counter() - started
            decision = result.decision
            metrics.lead_routed(decision.status.value, decision.route, seconds)
            if ROUTING.isEnabledFor(_INFO):
                log_routed(_lead_of(args, kwargs), result, seconds)
        return result

    return wrapper


def observed_batch(fn: Callable[P, list[RouteResult]]) -> Callable[P, list[RouteResult]]:
    """Count, time and log the leads a bulk routing call stores (a dry run stores none)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> list[RouteResult]:
        started = time.perf_counter()
        results = fn(*args, **kwargs)
        if kwargs.get("dry_run") or not results:
            return results
        seconds = time.perf_counter() - started
        counts: Counter[tuple[str, str | None]] = Counter(
            (r.decision.status.value, r.decision.route) for r in results if r.created
        )
        if counts:
            metrics.leads_routed(counts, seconds)
        if counts and ROUTING.isEnabledFor(_INFO):
            leads = _leads_of(args, kwargs)
            each = seconds / len(results)
            for index, result in enumerate(results):
                if result.created:
                    log_routed(leads[index] if leads else None, result, each)
        return results

    return wrapper


def log_routed(lead: Lead | None, result: RouteResult, seconds: float) -> None:
    decision = result.decision
    ROUTING.info(
        "lead routed",
        extra={
            "lead_id": result.lead_id,
            "external_id": lead.external_id if lead is not None else None,
            "decision_id": result.lead_id,
            "status": decision.status.value,
            "owner": decision.owner,
            "team": decision.team,
            "route": decision.route,
            "strategy": decision.strategy,
            "policy_version": decision.policy_version,
            "ms": round(seconds * 1000, 3),
        },
    )


def _lead_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Lead | None:
    found = kwargs.get("lead")
    if isinstance(found, Lead):
        return found
    return next((a for a in args if isinstance(a, Lead)), None)


def _leads_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Sequence[Lead] | None:
    """The leads a ``route_many`` call was given, if they can be read again (a list or tuple;
    an iterator is consumed, and then the records go without external ids)."""
    given = kwargs.get("leads", args[1] if len(args) > 1 else None)
    return given if isinstance(given, list | tuple) else None
