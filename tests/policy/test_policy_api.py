"""The public API of ``leadrelay.policy`` is exactly its ``__all__``."""

from __future__ import annotations

import leadrelay.policy as policy

PUBLIC = {
    "SCREENING_FIELDS",
    "CompiledExperiment",
    "CompiledPolicy",
    "CompiledRoute",
    "Condition",
    "ConditionError",
    "PolicyModel",
    "Target",
    "load_policy",
    "load_policy_text",
    "symbol_types",
}


def test_public_api_is_exactly_all() -> None:
    assert set(policy.__all__) == PUBLIC
    exported = {name for name in dir(policy) if not name.startswith("_")}
    submodules = {"compiled", "condition_compiler", "conditions", "load", "schema"}
    assert exported - submodules == PUBLIC
