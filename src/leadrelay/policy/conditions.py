"""Conditions in the rule-engine expression language, parsed once at policy load.

rule-engine parses and type-checks every condition; ``condition_compiler`` turns its tree into
plain Python closures, because ``Rule.matches`` costs 7-25 µs and routing evaluates several
conditions per lead. The closures give exactly rule-engine's answers:

- a number compares as ``Decimal(repr(x))`` (rule-engine's coercion), not as the binary float;
- ``==`` between values of different types is false, ``!=`` true; ``null == null`` is true;
- an ordered comparison with null, a type mismatch or a NaN cannot be evaluated: ``None``.

A value the closures were not built for (a ``Decimal``, a ``str`` subclass, a value of the wrong
type, an integer beyond 2**53) sends that one evaluation to rule-engine. A condition using anything
not compiled (arithmetic, datetimes, built-ins like ``$now``, attributes) always runs on
rule-engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import rule_engine

from leadrelay.domain.lead import LEAD_FIELDS
from leadrelay.errors import did_you_mean
from leadrelay.policy.condition_compiler import Defer, Unknown, compile_expression

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

    def __init__(
        self, message: str, suggestion: str | None = None, symbol: str | None = None
    ) -> None:
        super().__init__(message)
        self.suggestion = suggestion
        self.symbol = symbol  # the unknown field, when that is what is wrong


def symbol_types(custom_fields: Mapping[str, str]) -> dict[str, Any]:
    types: dict[str, Any] = {name: _PY_TO_RULE[t] for name, t in LEAD_FIELDS.items()}
    types.update({name: _DECLARED_TO_RULE[t] for name, t in SCREENING_FIELDS.items()})
    types.update({name: _DECLARED_TO_RULE[t] for name, t in custom_fields.items()})
    return types


class Condition:
    """A parsed condition; ``evaluate`` returns None when it cannot be evaluated for the values.

    That happens when a field it needs is empty where a value is required (``employees > 500``
    with no employee count), or holds a value of the wrong type.
    """

    __slots__ = ("_compiled", "_rule", "_types", "text")

    def __init__(self, text: str, types: Mapping[str, Any]) -> None:
        self.text = text
        self._types = dict(types)
        self._rule = _parse(text, self._types)
        self._compiled = compile_expression(self._rule.statement.expression)

    def evaluate(self, values: Mapping[str, Any]) -> bool | None:
        if self._compiled is not None:
            try:
                return bool(self._compiled(values))
            except (Unknown, ArithmeticError):
                return None
            except Defer:
                pass
        return self.evaluate_with_rule_engine(values)

    def evaluate_with_rule_engine(self, values: Mapping[str, Any]) -> bool | None:
        """The reference answer: rule-engine's own evaluation (slow; for fallbacks and tests)."""
        try:
            return bool(self._rule.matches(values))
        # rule-engine lets Python's TypeError through for `"x" in company` when company is empty
        except (rule_engine.errors.EvaluationError, ArithmeticError, TypeError):
            return None

    @property
    def compiled(self) -> bool:
        """Whether evaluation runs as compiled Python (else always on rule-engine)."""
        return self._compiled is not None

    def __reduce__(self) -> tuple[type[Condition], tuple[str, dict[str, Any]]]:
        # the compiled closures cannot be pickled; parsing again rebuilds them (simulation workers)
        return Condition, (self.text, self._types)

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"


def _parse(text: str, types: Mapping[str, Any]) -> Any:
    context = rule_engine.Context(
        type_resolver=rule_engine.type_resolver_from_dict(dict(types)), default_value=None
    )
    try:
        return rule_engine.Rule(text, context=context)
    except rule_engine.errors.SymbolResolutionError as exc:
        raise ConditionError(
            f"unknown field {exc.symbol_name!r} in condition {text!r}",
            suggestion=did_you_mean(exc.symbol_name, types),
            symbol=exc.symbol_name,
        ) from exc
    except rule_engine.errors.RuleSyntaxError as exc:
        raise ConditionError(f"condition {text!r} does not parse: {exc.message}") from exc
    except rule_engine.errors.EngineError as exc:
        raise ConditionError(f"condition {text!r} is invalid: {exc.message}") from exc
