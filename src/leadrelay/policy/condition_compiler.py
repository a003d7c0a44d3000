"""Compile rule-engine's syntax tree into plain Python closures with rule-engine's answers.

``Rule.matches`` costs 7-25 µs and routing evaluates several conditions per lead. The closures
give exactly rule-engine's answers:

- a number compares as ``Decimal(repr(x))`` (rule-engine's coercion), not as the binary float;
- ``==`` between values of different types is false, ``!=`` true; ``null == null`` is true;
- an ordered comparison with null, a type mismatch or a NaN cannot be evaluated (``Unknown``).

A value the closures were not built for (a ``Decimal``, a ``str`` subclass, a value of the wrong
type, an integer beyond 2**53) raises ``Defer``: rule-engine evaluates that one. A node not
compiled (arithmetic, datetimes, built-ins like ``$now``, attributes) makes
``compile_expression`` return None: the whole condition runs on rule-engine.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import rule_engine
from rule_engine import ast

_Values = Mapping[str, Any]
_Fn = Callable[[_Values], Any]

# Beyond this an int no longer converts to float exactly, so the float shortcuts would be wrong.
_EXACT_INT = 2**53
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
_ORDERED = frozenset({"lt", "le", "gt", "ge"})
_MIRROR = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
_NUMBER_CLASSES = frozenset({int, float, Decimal})
_CONTAINER_CLASSES = frozenset({tuple, set, frozenset})


class Unknown(Exception):  # noqa: N818 - control flow, not an error
    """rule-engine would fail to evaluate the condition for these values: the answer is None."""


class Defer(Exception):  # noqa: N818 - control flow, not an error
    """A value the compiled code was not built for: rule-engine evaluates this one."""


class _NotCompiled(Exception):  # noqa: N818 - control flow, not an error
    """A node the compiler does not handle: the whole condition runs on rule-engine."""


def compile_expression(node: Any) -> _Fn | None:
    try:
        return _compile(node)
    except _NotCompiled:
        return None


def _compile(node: Any) -> _Fn:
    compiler = _COMPILERS.get(type(node))
    if compiler is None:
        raise _NotCompiled
    return compiler(node)


# Values --------------------------------------------------------------------------------------


def _kind(node: Any) -> type | None:
    """The Python class a symbol's values have on the fast path, or None if not a plain symbol."""
    if not isinstance(node, ast.SymbolExpression) or node.scope is not None:
        return None
    for data_type, cls in (
        (rule_engine.DataType.STRING, str),
        (rule_engine.DataType.FLOAT, float),
        (rule_engine.DataType.BOOLEAN, bool),
    ):
        if node.result_type == data_type:
            return cls
    return None


def _symbol(node: Any) -> _Fn:
    cls, name = _kind(node), node.name
    if cls is None:
        raise _NotCompiled
    if cls is float:
        return lambda values: _number(values.get(name))

    def get(values: _Values) -> Any:
        value = values.get(name)
        if value is None or value.__class__ is cls:
            return value
        raise Defer

    return get


def _number(value: Any) -> Any:
    cls = value.__class__
    if cls is float or value is None or (cls is int and -_EXACT_INT <= value <= _EXACT_INT):
        return value
    raise Defer


def _literal_value(node: Any) -> Any:
    if not isinstance(node, ast.LiteralExpressionBase) or not node.is_reduced:
        raise _NotCompiled
    value = node.evaluate(None)
    if not _plain(value):
        raise _NotCompiled
    return value


def _plain(value: Any) -> bool:
    if value is None or value.__class__ in (str, bool, Decimal):
        return True
    return value.__class__ in _CONTAINER_CLASSES and all(_plain(v) for v in value)


def _literal(node: Any) -> _Fn:
    value = _literal_value(node)
    return lambda values: value


def _exact(value: Any) -> Any:
    """The value as rule-engine holds it: numbers as ``Decimal(repr(x))``."""
    cls = value.__class__
    if cls is float:
        return Decimal(repr(value))
    if cls is int:
        return Decimal(value)
    return value


# Comparisons ---------------------------------------------------------------------------------


def _comparison(node: Any) -> _Fn:
    op = node.type
    special = _symbol_vs_literal(node.left, op, node.right) or _symbol_vs_literal(
        node.right, _MIRROR[op], node.left
    )
    if special is not None:
        return special
    left, right = _compile(node.left), _compile(node.right)
    if op in _ORDERED:
        test = _OPS[op]
        return lambda values: _ordered(test, op, left(values), right(values))
    equal = op == "eq"
    return lambda values: _equal(left(values), right(values)) is equal


def _equal(left: Any, right: Any) -> bool:
    if left.__class__ in _NUMBER_CLASSES and right.__class__ in _NUMBER_CLASSES:
        return bool(_exact(left) == _exact(right))
    if type(left) is not type(right):
        return False
    return bool(left == right)


def _ordered(test: Callable[[Any, Any], bool], op: str, left: Any, right: Any) -> bool:
    if left is None and right is None:
        return op in ("ge", "le")
    if left.__class__ in _NUMBER_CLASSES and right.__class__ in _NUMBER_CLASSES:
        return test(_exact(left), _exact(right))
    if left.__class__ is tuple and right.__class__ is tuple:
        raise Defer
    if type(left) is not type(right):
        raise Unknown
    return test(left, right)


def _symbol_vs_literal(symbol: Any, op: str, literal: Any) -> _Fn | None:
    cls = _kind(symbol)
    if cls is None or not isinstance(literal, ast.LiteralExpressionBase):
        return None
    value = _literal_value(literal)
    if value is None and op in ("eq", "ne"):
        return _symbol_vs_null(symbol, op == "eq")
    if cls is float and value.__class__ is Decimal and not value.is_nan():
        return _number_vs_literal(symbol.name, op, value)
    if cls is not float and value.__class__ is cls:
        return _scalar_vs_literal(symbol.name, cls, op, value)
    return None


def _symbol_vs_null(symbol: Any, is_null: bool) -> _Fn:
    get = _symbol(symbol)
    return lambda values: (get(values) is None) is is_null


def _scalar_vs_literal(name: str, cls: type, op: str, literal: Any) -> _Fn:
    test, ordered, unequal = _OPS[op], op in _ORDERED, op == "ne"

    def compare(values: _Values) -> bool:
        value = values.get(name)
        if value.__class__ is cls:
            return test(value, literal)
        if value is None:
            if ordered:
                raise Unknown
            return unequal
        raise Defer

    return compare


def _number_vs_literal(name: str, op: str, literal: Decimal) -> _Fn:
    rewritten = _float_threshold(op, literal)
    if isinstance(rewritten, bool):
        return _constant_after_check(name, rewritten)
    float_op, threshold = rewritten
    test, ordered, unequal = _OPS[float_op], op in _ORDERED, op == "ne"

    def compare(values: _Values) -> bool:
        value: Any = values.get(name)
        cls = value.__class__
        if cls is float or (cls is int and -_EXACT_INT <= value <= _EXACT_INT):
            result = test(value, threshold)
            if result or not ordered or not math.isnan(value):
                return result
            raise Unknown  # NaN: ordering a Decimal NaN signals InvalidOperation
        if value is None:
            if ordered:
                raise Unknown
            return unequal
        raise Defer

    return compare


def _constant_after_check(name: str, answer: bool) -> _Fn:
    """``==`` / ``!=`` a literal that no float's repr equals: only the type check remains."""

    def constant(values: _Values) -> bool:
        _number(values.get(name))
        return answer

    return constant


def _float_threshold(op: str, literal: Decimal) -> tuple[str, float] | bool:
    """Rewrite ``Decimal(repr(x)) <op> literal`` as ``x <op'> f`` for every float ``x``.

    ``x -> Decimal(repr(x))`` is strictly increasing and each result lies in the interval of
    decimals that round to ``x``. So with ``f = float(literal)``: if ``repr(f)`` is the literal,
    compare with ``f``; otherwise the literal sits strictly on one side of ``repr(f)`` inside
    ``f``'s interval, no float equals it, and every ordering is decided by ``x`` against ``f``.
    """
    nearest = float(literal)
    shown = Decimal(repr(nearest))
    if shown == literal:
        return op, nearest
    if op in ("eq", "ne"):
        return op == "ne"
    if shown < literal:
        return {"lt": "le", "le": "le", "gt": "gt", "ge": "gt"}[op], nearest
    return {"lt": "lt", "le": "lt", "gt": "ge", "ge": "ge"}[op], nearest


def _regex(node: Any) -> _Fn:
    if not isinstance(node.right, ast.StringExpression):
        raise _NotCompiled
    pattern = re.compile(node.right.value, flags=node.context.regex_flags)
    find = pattern.match if node.type.endswith("fzm") else pattern.search
    matching = node.type.startswith("eq")
    left = _compile(node.left)

    def regex(values: _Values) -> bool:
        value = left(values)
        if value.__class__ is str:
            return (find(value) is not None) is matching
        if value is None:
            return not matching
        raise Unknown

    return regex


# Membership ----------------------------------------------------------------------------------


def _contains(node: Any) -> _Fn:
    special = _symbol_in_literal(node.member, node.container)
    if special is not None:
        return special
    member, container = _compile(node.member), _compile(node.container)

    def contains(values: _Values) -> bool:
        within, item = container(values), member(values)
        if within.__class__ is str:
            if item.__class__ is str:
                return item in within
            raise Unknown
        if within.__class__ in _CONTAINER_CLASSES:
            return _exact(item) in within
        if within is None:
            raise Unknown
        raise Defer

    return contains


def _symbol_in_literal(symbol: Any, literal: Any) -> _Fn | None:
    cls = _kind(symbol)
    if cls is None or not isinstance(literal, ast.LiteralExpressionBase):
        return None
    items = _literal_value(literal)
    if items.__class__ not in _CONTAINER_CLASSES:
        return None
    name, has_none = symbol.name, any(item is None for item in items)
    # Python's `in` (what rule-engine uses) sees True == 1 and compares numbers by value
    keys = frozenset(
        _float_keys(items) if cls is float else (i for i in items if i.__class__ is cls)
    )

    def within(values: _Values) -> bool:
        value = values.get(name)
        if value is None:
            return has_none
        if cls is float:
            return _number(value) in keys
        if value.__class__ is cls:
            return value in (items if cls is bool else keys)
        raise Defer

    return within


def _float_keys(items: Any) -> list[Any]:
    keys: list[Any] = []
    for item in items:
        if item.__class__ is bool:
            keys.append(item)
        elif item.__class__ is Decimal and not item.is_nan():
            nearest = float(item)
            if Decimal(repr(nearest)) == item:
                keys.append(nearest)
    return keys


# Logic ---------------------------------------------------------------------------------------


def _logic(node: Any) -> _Fn:
    left, right = _compile(node.left), _compile(node.right)
    if node.type == "and":
        return lambda values: bool(left(values) and right(values))
    return lambda values: bool(left(values) or right(values))


def _unary(node: Any) -> _Fn:
    if node.type != "not":
        raise _NotCompiled
    right = _compile(node.right)
    return lambda values: not right(values)


def _ternary(node: Any) -> _Fn:
    test, yes, no = _compile(node.condition), _compile(node.case_true), _compile(node.case_false)
    return lambda values: yes(values) if test(values) else no(values)


def _coalesce(node: Any) -> _Fn:
    left, right = _compile(node.left), _compile(node.right)

    def coalesce(values: _Values) -> Any:
        value = left(values)
        return right(values) if value is None else value

    return coalesce


_COMPILERS: dict[type, Callable[[Any], _Fn]] = {
    ast.SymbolExpression: _symbol,
    ast.StringExpression: _literal,
    ast.FloatExpression: _literal,
    ast.BooleanExpression: _literal,
    ast.NullExpression: _literal,
    ast.ArrayExpression: _literal,
    ast.SetExpression: _literal,
    ast.ComparisonExpression: _comparison,
    ast.ArithmeticComparisonExpression: _comparison,
    ast.FuzzyComparisonExpression: _regex,
    ast.ContainsExpression: _contains,
    ast.LogicExpression: _logic,
    ast.UnaryExpression: _unary,
    ast.TernaryExpression: _ternary,
    ast.CoalesceExpression: _coalesce,
}
