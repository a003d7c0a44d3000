"""Build frozen dataclasses on the routing hot path without paying ``object.__setattr__`` per field.

A frozen dataclass's ``__init__`` must go around its own ``__setattr__``, so it calls
``object.__setattr__(self, name, value)`` once per field: about three times the cost of a plain
attribute store. ``decide`` builds some 25 frozen objects per lead (mostly trace Candidates), so
that is a sizeable share of routing time.

``quick_constructor(cls)`` returns a function with the signature of ``cls(...)`` that fills a
non-frozen twin of ``cls`` (same fields, same slots, hence the same memory layout) with plain
stores, then turns it into a ``cls`` by ``__class__`` assignment, which Python allows between
types of the same layout. The result is an ordinary instance of ``cls``: same type, same field
values, equal to, printed and pickled like one made by ``cls(...)``, and frozen from then on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_become = object.__setattr__


def quick_constructor(cls: Callable[P, T]) -> Callable[P, T]:
    """``cls(...)`` for a frozen, slotted dataclass ``cls`` with no ``__post_init__``, faster."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{cls!r} is not a dataclass")
    fields = dataclasses.fields(cls)
    names = tuple(f.name for f in fields)
    if getattr(cls, "__slots__", None) != names or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} must be slotted, with no __post_init__")
    if not all(f.init and not f.kw_only for f in fields):
        raise TypeError(f"{cls.__name__}: every field must be a positional __init__ argument")
    twin = dataclasses.make_dataclass(
        f"_{cls.__name__}Twin",
        [(f.name, f.type, _same_default(f)) for f in fields],
        slots=True,
        eq=False,
        repr=False,
    )
    twin.__module__ = cls.__module__
    target: type = cls

    def build(*args: P.args, **kwargs: P.kwargs) -> T:
        made = twin(*args, **kwargs)
        _become(made, "__class__", target)
        return made  # type: ignore[no-any-return]

    build.__name__ = build.__qualname__ = f"quick_{cls.__name__}"
    build.__doc__ = f"``{cls.__name__}(...)``, built without a per-field object.__setattr__."
    return build


def _same_default(field: dataclasses.Field[Any]) -> Any:
    options: dict[str, Any] = {"default": field.default, "default_factory": field.default_factory}
    return dataclasses.field(**options)
