"""What every request shares: the engine, the active policy and who the caller is.

The active policy and API keys are cached for a short time (``POLICY_TTL_S``, ``KEY_TTL_S``) so
a request costs no extra round trip for them: a policy activated or a key revoked by another
process takes effect within that time; in this process, at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine

from leadrelay.errors import Problem, StoreError
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.store.keys import ApiKey, find_key

POLICY_TTL_S = 1.0
KEY_TTL_S = 5.0


class NoPolicyError(StoreError):
    """No policy is active yet: nothing can be routed."""


@dataclass(frozen=True, slots=True)
class _Held:
    until: float
    policy: CompiledPolicy


class Service:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._policy: _Held | None = None
        self._keys: dict[str, tuple[float, ApiKey | None]] = {}

    def policy(self) -> CompiledPolicy:
        """The active policy, compiled (its revision set); NoPolicyError if none is active."""
        held = self._policy
        now = time.monotonic()
        if held is not None and now < held.until:
            return held.policy
        from leadrelay.policy import load_policy_text
        from leadrelay.store.policies import active_policy_text

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
            # Names of reps and teams were checked when it was activated; a rep deleted since
            # is "not a known rep" to routing, not a reason to stop taking leads.
            policy = load_policy_text(text, source=f"policy version {revision}")
            policy = policy.with_revision(revision)
        self._policy = _Held(now + POLICY_TTL_S, policy)
        return policy

    def forget_policy(self) -> None:
        self._policy = None

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
