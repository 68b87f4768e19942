# SPDX-License-Identifier: GPL-2.0-or-later
"""Plain value classes for the engine, without :mod:`dataclasses` (issue 17).

``@plain`` turns a class whose body annotates its fields (as a dataclass's does) into a
class with ``__slots__``, an ``__init__`` taking the fields in order or by name (the
defaults from the class body, :func:`field` for a fresh mutable one), ``__eq__`` and
``__repr__`` over the fields; ``frozen=True`` forbids assignment and adds ``__hash__``.
What dataclasses does, for the engine's few uses of it: importing dataclasses loads
``inspect``, ``ast``, ``dis`` and ``tokenize``: 1.3 MiB of an idle engine (measured) that
had nothing else to do with them. Type checkers see dataclass semantics
(:func:`typing.dataclass_transform`).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    T = TypeVar("T")
else:

    def dataclass_transform(**_options: object) -> object:
        return lambda decorator: decorator


class _Factory:
    """A field's default made afresh for each instance."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], object]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A field whose default is ``default_factory()``, called for each instance."""
    return _Factory(default_factory)  # type: ignore[return-value]  # read by @plain


def fields(cls: type) -> tuple[str, ...]:
    """The field names of a ``@plain`` class, in order ((): not a plain class)."""
    return getattr(cls, "__plain_fields__", ())


@dataclass_transform(field_specifiers=(field,))
def plain(*, frozen: bool = False) -> Callable[[type[T]], type[T]]:
    """The class decorator: ``@plain()`` or ``@plain(frozen=True)``."""

    def make(cls: type[T]) -> type[T]:
        names = tuple(cls.__dict__.get("__annotations__", {}))
        body = {k: v for k, v in cls.__dict__.items() if k not in (*names, "__dict__")}
        body.pop("__weakref__", None)
        body.update(
            __slots__=names,
            __plain_fields__=names,
            __plain_defaults__={n: cls.__dict__[n] for n in names if n in cls.__dict__},
            __match_args__=names,
            __init__=_init,
            __eq__=_eq,
            __repr__=_repr,
            __hash__=_hash if frozen else None,
        )
        if frozen:
            body.update(__setattr__=_frozen, __delattr__=_frozen)
        made = type(cls.__name__, cls.__bases__, body)  # (the engine's classes: no metaclass)
        made.__qualname__ = cls.__qualname__
        return made

    return make


def _init(self: Any, *args: object, **kwargs: object) -> None:
    cls = type(self)
    names: tuple[str, ...] = cls.__plain_fields__
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}() takes {len(names)} arguments, {len(args)} given")
    values = dict(zip(names, args, strict=False))
    for name, value in kwargs.items():
        if name not in names or name in values:
            raise TypeError(f"{cls.__name__}() got an unexpected or repeated argument {name!r}")
        values[name] = value
    defaults = cls.__plain_defaults__
    for name in names:
        if name in values:
            value = values[name]
        elif name in defaults:
            value = defaults[name]
            value = value.make() if isinstance(value, _Factory) else value
        else:
            raise TypeError(f"{cls.__name__}() missing required argument {name!r}")
        object.__setattr__(self, name, value)


def _values(self: Any) -> tuple[object, ...]:
    return tuple(getattr(self, name) for name in self.__plain_fields__)


def _eq(self: Any, other: object) -> object:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self: Any) -> int:
    return hash(_values(self))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__plain_fields__)
    return f"{type(self).__qualname__}({shown})"


def _frozen(self: Any, name: str, *_value: object) -> None:
    raise AttributeError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")
