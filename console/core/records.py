# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's dataclasses: the standard ones, with the methods that read the same in
every class shared instead of compiled again for each.

``dataclasses.dataclass`` writes out and compiles ``__repr__``, ``__eq__``, ``__hash__``
and, for a frozen class, ``__setattr__`` and ``__delattr__`` for every class: about
10 KiB of code per frozen class, and an idle console holds about a hundred of them.
Here those five are functions shared by every class, reading the field names that
each class keeps (``__init__`` stays generated: it differs most from class to class
and it is the one called often). And a frozen, slotted standard class keeps its
unslotted first draft alive for good, because its generated ``__setattr__`` refers
to it; the shared methods refer to no class, so the draft goes. Together: 0.6 MiB
off an idle console (``bench.idle_memory``).

Call sites read like the standard decorator (``@dataclass(frozen=True, slots=True)``)
and the type checker sees the standard one. The behaviour is the standard one's
(``tests/test_records.py`` holds them side by side) but for what no careline code relies
on: a frozen class's instances refuse every attribute assignment with
``FrozenInstanceError`` (the standard one lets a subclass that is not a dataclass set
names that are not fields; its slotted classes raise ``TypeError`` for such a name); and
Rich's pretty printer, which recognises a generated repr by its code, prints these on
one line. The console's code imports ``dataclass`` from here (a lint rule says so); the
engine and the script library keep the standard one (they cannot import the console,
and the engine's memory goal is met without it).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import MISSING, FrozenInstanceError
from operator import attrgetter
from typing import TYPE_CHECKING, Any

_repr_running: set[tuple[int, int]] = set()
"""(instance id, thread id) of the instances whose repr is being built: an instance
that holds itself shows "..." there, as in the standard repr."""


def _shared_repr(self: Any) -> str:
    key = id(self), threading.get_ident()
    if key in _repr_running:
        return "..."
    _repr_running.add(key)
    try:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__shown_fields__)
        return f"{self.__class__.__qualname__}({shown})"
    finally:
        _repr_running.discard(key)


def _shared_eq(self: Any, other: object) -> Any:
    values = self.__compared_values__
    if other.__class__ is self.__class__:
        return values(self) == values(other)
    return NotImplemented


def _shared_hash(self: Any) -> int:
    return hash(self.__hashed_values__(self))


def _frozen_setattr(_self: object, name: str, _value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(_self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _no_values(_instance: object) -> tuple[()]:
    return ()


def _values(names: list[str]) -> staticmethod[[object], tuple[Any, ...]]:
    """A function from an instance to the tuple of its ``names``' values: what the
    standard methods compare and hash (in a tuple an item is equal to itself, even NaN,
    as in Python 3.11's generated methods). A static method: a plain function kept on
    the class would be bound to the instance it is read from."""
    if not names:
        return staticmethod(_no_values)
    if len(names) == 1:
        one = attrgetter(names[0])
        return staticmethod(lambda instance: (one(instance),))
    return staticmethod(attrgetter(*names))  # a tuple already


def _share_methods(cls: type, body: dict[str, Any], options: dict[str, Any]) -> None:
    """Put the shared methods in place of those ``dataclasses`` generated for ``cls``,
    never of one its class ``body`` wrote (the standard decorator's own rules)."""
    listed = dataclasses.fields(cls)
    put = type.__setattr__
    if options.get("repr", True) and "__repr__" not in body:
        put(cls, "__shown_fields__", tuple(f.name for f in listed if f.repr))
        put(cls, "__repr__", _shared_repr)
    eq = options.get("eq", True)
    if eq and "__eq__" not in body:
        put(cls, "__compared_values__", _values([f.name for f in listed if f.compare]))
        put(cls, "__eq__", _shared_eq)
    frozen = options.get("frozen", False)
    body_hash = body.get("__hash__", MISSING)
    explicit_hash = not (body_hash is MISSING or (body_hash is None and "__eq__" in body))
    if not explicit_hash and (options.get("unsafe_hash", False) or (eq and frozen)):
        hashed = [f.name for f in listed if (f.compare if f.hash is None else f.hash)]
        put(cls, "__hashed_values__", _values(hashed))
        put(cls, "__hash__", _shared_hash)
    if frozen:
        put(cls, "__setattr__", _frozen_setattr)
        put(cls, "__delattr__", _frozen_delattr)


if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass
else:

    def dataclass(cls=None, /, **options):
        """``dataclasses.dataclass``, with the shared methods (see the module)."""

        def wrap(cls):
            body = dict(cls.__dict__)
            made = dataclasses.dataclass(**options)(cls)
            _share_methods(made, body, options)
            return made

        return wrap if cls is None else wrap(cls)
