"""Group commit for concurrent callers: leads put on a queue, routed in shared transactions.

``Batcher.submit`` puts a lead on the queue and returns a future; one writer thread takes what
is queued (up to ``max_group``), routes it with ``route_group`` in one transaction and gives
each future its own result. A lone lead is routed at once: the writer only groups what queued
while it was busy, so the group grows with the load (and, with ``max_wait_s``, waits that long
for more once it is busy). Each process has its own batcher; between processes the store
decides every race, as for single leads.

A group that fails for a reason a single lead might not (a constraint broken by one lead's data)
is routed again lead by lead, so one caller's bad lead fails only its own request; a database
that is down or locked fails the whole group at once (routing each again would only make every
caller wait longer for the same error).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from leadrelay.domain.lead import Lead
from leadrelay.errors import StoreError
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.workflow.assign import RouteResult, route_lead
from leadrelay.workflow.group import route_group

RouteGroup = Callable[[Engine, Sequence[Lead], CompiledPolicy], list[RouteResult]]


def route_live(engine: Engine, leads: Sequence[Lead], policy: CompiledPolicy) -> list[RouteResult]:
    """A lone lead by ``route_lead`` (cheaper alone: no group bookkeeping), more in one
    ``route_group`` transaction: the same results."""
    if len(leads) == 1:
        return [route_lead(engine, leads[0], policy)]
    return route_group(engine, leads, policy)


@dataclass(slots=True)
class _Item:
    lead: Lead
    policy: CompiledPolicy
    future: Future[RouteResult] = field(default_factory=Future)


_STOP = object()


@dataclass
class BatcherStats:
    """What the writer did: groups routed, leads in them, the largest group, groups routed
    again lead by lead."""

    groups: int = 0
    leads: int = 0
    largest: int = 0
    split: int = 0


def group_size(max_group: int) -> int:
    """``max_group`` checked: a group holds at least one lead."""
    if max_group < 1:
        raise ValueError(f"max_group={max_group}: a group holds at least one lead")
    return max_group


class Batcher:
    def __init__(
        self,
        engine: Engine,
        *,
        max_group: int = 200,
        max_wait_s: float = 0.0,
        route: RouteGroup = route_live,
    ) -> None:
        self.engine = engine
        self.max_group = group_size(max_group)
        self.max_wait_s = max_wait_s
        self.stats = BatcherStats()
        self._route = route
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, lead: Lead, policy: CompiledPolicy) -> Future[RouteResult]:
        """Route ``lead`` in the next group; the future holds its result or its error."""
        item = _Item(lead, policy)
        with self._lock:
            if self._closed:
                raise StoreError("the lead router is shutting down; send the lead again")
            if self._thread is None:  # started on first use: after any fork, in the process
                self._thread = threading.Thread(
                    target=self._run, name="leadrelay-group-commit", daemon=True
                )
                self._thread.start()
            self._queue.put(item)
        return item.future

    def route(self, lead: Lead, policy: CompiledPolicy) -> RouteResult:
        """``submit`` and wait for the result (raises the lead's error)."""
        return self.submit(lead, policy).result()

    def close(self, timeout: float = 30.0) -> None:
        """Route what is queued, then stop the writer."""
        with self._lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        busy = False  # leads were waiting when the last group ended
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            group: list[_Item] = [first]  # type: ignore[list-item]
            stopping = self._fill(group, wait=busy)
            self._route_items(group)
            busy = not self._queue.empty()

    def _fill(self, group: list[_Item], *, wait: bool) -> bool:
        """Add what is queued (waiting up to ``max_wait_s`` if routing is busy); True if the
        stop mark was taken."""
        deadline = time.monotonic() + self.max_wait_s if wait and self.max_wait_s > 0 else None
        while len(group) < self.max_group:
            try:
                if deadline is None:
                    item = self._queue.get_nowait()
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    item = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if item is _STOP:
                return True
            group.append(item)  # type: ignore[arg-type]
        return False

    def _route_items(self, group: list[_Item]) -> None:
        for items in same_run(group, lambda item: id(item.policy)):
            try:
                outcomes = route_outcomes(
                    self.engine, [item.lead for item in items], items[0].policy,
                    route=self._route, stats=self.stats,
                )  # fmt: skip
            except BaseException as exc:  # the thread is going down: nobody may wait forever
                for item in items:
                    item.future.set_exception(exc)
                raise
            for item, outcome in zip(items, outcomes, strict=True):
                if isinstance(outcome, RouteResult):
                    item.future.set_result(outcome)
                else:
                    item.future.set_exception(outcome)


T = TypeVar("T")


def same_run(items: Sequence[T], key: Callable[[T], object]) -> Iterator[Sequence[T]]:
    """``items`` cut into runs of neighbours with the same ``key`` (the same policy: one policy
    per transaction, and it may change mid-queue), in order."""
    start = 0
    while start < len(items):
        first = key(items[start])
        end = start + 1
        while end < len(items) and key(items[end]) == first:
            end += 1
        yield items[start:end]
        start = end


def route_outcomes(
    engine: Engine,
    leads: Sequence[Lead],
    policy: CompiledPolicy,
    *,
    route: RouteGroup = route_live,
    stats: BatcherStats | None = None,
) -> list[RouteResult | Exception]:
    """Route ``leads`` as one group; each lead's result, or the error that is its own.

    A database that is down or locked (``OperationalError``, ``StoreError``) is every lead's
    error. Any other failure of a group is routed again lead by lead (``route_lead``), so a lead
    whose data breaks a constraint fails alone."""
    if stats is not None:
        stats.groups += 1
        stats.leads += len(leads)
        stats.largest = max(stats.largest, len(leads))
    try:
        return list(route(engine, leads, policy))
    except (OperationalError, StoreError) as exc:
        return [exc] * len(leads)
    except Exception as exc:
        if len(leads) == 1:
            return [exc]
    if stats is not None:
        stats.split += 1
    outcomes: list[RouteResult | Exception] = []
    for lead in leads:
        try:
            outcomes.append(route_lead(engine, lead, policy))
        except Exception as one:
            outcomes.append(one)
    return outcomes
