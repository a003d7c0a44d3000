"""What every request shares: the engine, the active policy, who the caller is, and the lead
router: group commit in the routing process ``leadrelay serve`` started
(``LEADRELAY_ROUTER_SOCKET``), else in a ``Batcher`` thread of this process, unless
``LEADRELAY_GROUP_COMMIT=0`` (each lead alone, in the request's thread).

The active policy and API keys are cached for a short time (``POLICY_TTL_S``, ``KEY_TTL_S``) so
a request costs no extra round trip for them: a policy activated or a key revoked by another
process takes effect within that time (a policy: and the read that follows it); in this
process, at once.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine

from leadrelay import settings
from leadrelay.domain.lead import Lead
from leadrelay.errors import Problem, StoreError
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store.keys import ApiKey, find_key
from leadrelay.workflow.assign import RouteResult, route_lead
from leadrelay.workflow.batcher import Batcher
from leadrelay.workflow.router_client import RouterClient

POLICY_TTL_S = 1.0
KEY_TTL_S = 5.0


class NoPolicyError(StoreError):
    """No policy is active yet: nothing can be routed."""


@dataclass(frozen=True, slots=True)
class _Held:
    until: float
    policy: CompiledPolicy


class LeadRouter(Protocol):
    """Group commit: ``Batcher`` (a thread here) or ``RouterClient`` (the routing process)."""

    def submit(self, lead: Lead, policy: CompiledPolicy) -> Future[RouteResult]: ...

    def close(self, timeout: float = 30.0) -> None: ...


class Service:
    def __init__(self, engine: Engine, *, group_commit: bool | None = None) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._policy: _Held | None = None
        self._reading = threading.Lock()  # held while cached_policy reads the policy again
        self._keys: dict[str, tuple[float, ApiKey | None]] = {}
        grouped = settings.group_commit() if group_commit is None else group_commit
        self.router: LeadRouter | None = None
        if grouped:
            socket_path = settings.router_socket()
            self.router = (
                RouterClient(socket_path)
                if socket_path is not None
                else Batcher(
                    engine,
                    max_group=settings.group_max(),
                    max_wait_s=settings.group_wait_ms() / 1e3,
                )
            )

    def submit(self, lead: Lead, policy: CompiledPolicy) -> Future[RouteResult]:
        """Route one lead live: in the next group commit, or alone in its own transaction."""
        if self.router is not None:
            return self.router.submit(lead, policy)
        done: Future[RouteResult] = Future()
        try:
            done.set_result(route_lead(self.engine, lead, policy))
        except Exception as exc:
            done.set_exception(exc)
        return done

    def cached_policy(self) -> CompiledPolicy | None:
        """The active policy without a database read, or None if none is held.

        Once the held one is older than ``POLICY_TTL_S`` it is still returned while a thread
        reads the active one again (started here, one at a time): requests arriving together
        then neither queue for worker threads nor each read the policy (at 500 leads/s that
        was a few requests every second, at the latency tail)."""
        held = self._policy
        if held is None:
            return None
        if time.monotonic() >= held.until and self._reading.acquire(blocking=False):
            threading.Thread(target=self._read_again, name="leadrelay-policy", daemon=True).start()
        return held.policy

    def _read_again(self) -> None:
        """Read the active policy for ``cached_policy`` (``_reading`` held, released here)."""
        try:
            self.policy()
        except Exception:
            # none active now, or the store is down: the next request reads it and says why
            self._policy = None
        finally:
            self._reading.release()

    def close(self) -> None:
        """Route the leads still queued, then stop the group commit writer."""
        if self.router is not None:
            self.router.close()

    def policy(self) -> CompiledPolicy:
        """The active policy, compiled (its revision set); NoPolicyError if none is active."""
        held = self._policy
        now = time.monotonic()
        if held is not None and now < held.until:
            return held.policy
        from leadrelay.store.policies import active_policy_text, compile_version

        with self.engine.connect() as conn:
            found = active_policy_text(conn)
        if found is None:
            raise NoPolicyError(
                Problem("no policy is active yet: an admin must PUT /v1/policy first")
            )
        revision, text = found
        if held is not None and held.policy.revision == revision:
            policy = held.policy
        else:
            policy = compile_version(revision, text)
        self._policy = _Held(now + POLICY_TTL_S, policy)
        return policy

    def forget_policy(self) -> None:
        self._policy = None

    def cached_caller(self, token: str) -> tuple[bool, ApiKey | None]:
        """(True, the key or None if unknown) when the answer for ``token`` is held and fresh
        (no database read: an ``async`` dependency may call it); else (False, None)."""
        cached = self._keys.get(token)
        if cached is not None and time.monotonic() < cached[0]:
            return True, cached[1]
        return False, None

    def caller(self, token: str) -> ApiKey | None:
        now = time.monotonic()
        cached = self._keys.get(token)
        if cached is not None and now < cached[0]:
            return cached[1]
        with self.engine.connect() as conn:
            key = find_key(conn, token)
        with self._lock:
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[token] = (now + KEY_TTL_S, key)
        return key

    def forget_keys(self) -> None:
        with self._lock:
            self._keys.clear()
