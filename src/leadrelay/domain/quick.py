"""Build frozen dataclasses on the routing hot path without paying ``object.__setattr__`` per field.

A frozen dataclass's ``__init__`` must go around its own ``__setattr__``, so it calls
``object.__setattr__(self, name, value)`` once per field: about three times the cost of a plain
attribute store. ``decide`` builds some 25 frozen objects per lead (mostly trace Candidates), so
that is a sizeable share of routing time.

``quick_constructor(cls)`` returns a class with the signature of ``cls(...)``: a non-frozen twin of
``cls`` (same fields, same slots, hence the same memory layout) whose ``__init__`` fills the slots
with plain stores and then turns the new object into a ``cls`` by ``__class__`` assignment,
which Python allows between types of the same layout. Calling it gives an ordinary instance of
``cls``: same type, same field values, equal to, printed and pickled like one made by
``cls(...)``, and frozen from then on. (One generated ``__init__``, rather than a wrapper calling
a dataclass ``__init__``: the trace builds some twenty of these per lead.)
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from operator import attrgetter
from typing import Any, ParamSpec, TypeVar, cast

P = ParamSpec("P")
T = TypeVar("T")


def quick_constructor(cls: Callable[P, T]) -> Callable[P, T]:
    """``cls(...)`` for a frozen, slotted dataclass ``cls`` with no ``__post_init__``, faster."""
    known = getattr(cls, "__dict__", {}).get("_quick")
    if known is not None:
        return cast("Callable[P, T]", known)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{cls!r} is not a dataclass")
    fields = dataclasses.fields(cls)
    names = tuple(f.name for f in fields)
    if getattr(cls, "__slots__", None) != names or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} must be slotted, with no __post_init__")
    if not all(f.init and not f.kw_only for f in fields):
        raise TypeError(f"{cls.__name__}: every field must be a positional __init__ argument")
    if {"self", "_target", "_no_value"} & set(names):
        raise TypeError(f"{cls.__name__}: a field name clashes with the generated __init__")
    namespace: dict[str, Any] = {"_target": cls, "_no_value": _NO_VALUE}
    params, stores = [], []
    for f in fields:
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
            stores.append(f"    self.{f.name} = {f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_no_value")
            stores.append(
                f"    self.{f.name} = _factory_{f.name}() if {f.name} is _no_value else {f.name}"
            )
        else:
            params.append(f.name)
            stores.append(f"    self.{f.name} = {f.name}")
    source = "\n".join(
        [f"def __init__(self, {', '.join(params)}):", *stores, "    self.__class__ = _target"]
    )
    exec(source, namespace)  # the source is built above from the dataclass's own fields
    twin = type(
        f"_{cls.__name__}Twin",
        (),
        {"__slots__": names, "__init__": namespace["__init__"], "__module__": cls.__module__},
    )
    # kept on the class: one twin per class, and pickle finds it as ``Cls._quick``
    twin.__qualname__ = f"{cls.__qualname__}._quick"
    type.__setattr__(cls, "_quick", twin)
    return cast("Callable[P, T]", twin)


C = TypeVar("C", bound=type)


def pickled_positionally(cls: C) -> C:
    """Pickle instances of ``cls`` (a class ``quick_constructor`` accepts) as its twin and the
    field values in order. The default pickling of a slotted dataclass builds a dict of its
    state per object: a decision with its trace pickled three times slower and loaded twice
    as slow (measured), and the API's routing process sends every decision to the worker
    that took the lead. Loads give the same objects as ``cls(...)``."""
    twin = quick_constructor(cls)
    names = tuple(f.name for f in dataclasses.fields(cls))
    values = attrgetter(*names)
    if len(names) == 1:

        def reduce(self: Any) -> tuple[Any, tuple[Any, ...]]:
            return twin, (values(self),)

    else:

        def reduce(self: Any) -> tuple[Any, tuple[Any, ...]]:
            return twin, values(self)

    type.__setattr__(cls, "__reduce__", reduce)
    return cls


def quick_replace(obj: T, **changes: Any) -> T:
    """``dataclasses.replace(obj, **changes)`` for an instance of a ``pickled_positionally``
    class, built positionally by its twin (a Decision without its trials: 6.1 -> 1.3 us,
    measured; bulk routing does it for every lead)."""
    reduced = cast("tuple[Callable[..., T], tuple[Any, ...]]", obj.__reduce__())
    twin, values = reduced
    fields = list(values)
    positions = _positions(cast("type", type(obj)))
    for name, value in changes.items():
        index = positions.get(name)
        if index is None:
            raise TypeError(f"{type(obj).__name__} has no field {name!r}")
        fields[index] = value
    return twin(*fields)


@functools.cache
def _positions(cls: type) -> dict[str, int]:
    return {f.name: index for index, f in enumerate(dataclasses.fields(cls))}


# stands for "no argument given" where a field has a default factory
_NO_VALUE: Any = object()
