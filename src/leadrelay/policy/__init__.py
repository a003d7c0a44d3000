"""The YAML routing policy: its shape, loading with located problems, and fast conditions."""

from leadrelay.policy.compiled import CompiledExperiment, CompiledPolicy, CompiledRoute, Target
from leadrelay.policy.conditions import SCREENING_FIELDS, Condition, ConditionError, symbol_types
from leadrelay.policy.load import load_policy, load_policy_text
from leadrelay.policy.schema import PolicyModel

__all__ = [
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
]
