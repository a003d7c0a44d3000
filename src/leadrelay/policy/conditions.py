"""Conditions in the rule-engine expression language, parsed once at policy load."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import rule_engine

from leadrelay.domain.lead import LEAD_FIELDS

_PY_TO_RULE = {
    str: rule_engine.DataType.STRING,
    int: rule_engine.DataType.FLOAT,
    float: rule_engine.DataType.FLOAT,
    bool: rule_engine.DataType.BOOLEAN,
    datetime: rule_engine.DataType.DATETIME,
}
_DECLARED_TO_RULE = {
    "string": rule_engine.DataType.STRING,
    "number": rule_engine.DataType.FLOAT,
    "integer": rule_engine.DataType.FLOAT,
    "boolean": rule_engine.DataType.BOOLEAN,
    "datetime": rule_engine.DataType.DATETIME,
}
# Values screening adds before routing; conditions on routes and priorities may use them.
SCREENING_FIELDS = {"score": "number", "value_slab": "string", "priority": "string"}


class ConditionError(ValueError):
    """A condition that does not parse or names an unknown field."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion


def symbol_types(custom_fields: Mapping[str, str]) -> dict[str, Any]:
    types: dict[str, Any] = {name: _PY_TO_RULE[t] for name, t in LEAD_FIELDS.items()}
    types.update({name: _DECLARED_TO_RULE[t] for name, t in SCREENING_FIELDS.items()})
    types.update({name: _DECLARED_TO_RULE[t] for name, t in custom_fields.items()})
    return types


class Condition:
    """A parsed condition; ``evaluate`` returns None when a field it needs is empty."""

    __slots__ = ("_rule", "text")

    def __init__(self, text: str, types: Mapping[str, Any]) -> None:
        self.text = text
        context = rule_engine.Context(
            type_resolver=rule_engine.type_resolver_from_dict(dict(types)), default_value=None
        )
        try:
            self._rule = rule_engine.Rule(text, context=context)
        except rule_engine.errors.SymbolResolutionError as exc:
            raise ConditionError(
                f"unknown field {exc.symbol_name!r} in condition {text!r}",
                suggestion=exc.suggestion,
            ) from exc
        except rule_engine.errors.RuleSyntaxError as exc:
            raise ConditionError(f"condition {text!r} does not parse: {exc.message}") from exc
        except rule_engine.errors.EngineError as exc:
            raise ConditionError(f"condition {text!r} is invalid: {exc.message}") from exc

    def evaluate(self, values: Mapping[str, Any]) -> bool | None:
        try:
            return bool(self._rule.matches(values))
        except rule_engine.errors.EvaluationError:
            return None

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"
