# SPDX-License-Identifier: GPL-2.0-or-later
"""How a model's fields are described: :func:`Field`, validators, :class:`ConfigDict`.

The names and arguments are pydantic's, for the subset careline uses: ``Field``'s
bounds (``ge``, ``gt``, ``le``, ``lt``), lengths (``min_length``, ``max_length``),
``pattern`` and ``discriminator``, given in ``Annotated[...]`` or as a field's default;
``field_validator`` and ``model_validator`` (modes ``before`` and ``after``) and
``BeforeValidator``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypedDict, TypeVar, Unpack


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""A field without a default (distinct from a default of None)."""

Mode = Literal["before", "after"]
_F = TypeVar("_F")


class Constraints(TypedDict, total=False):
    """What :func:`Field` takes besides the default."""

    default_factory: Callable[[], Any] | None
    """Makes each instance's default (instead of ``default``)."""
    ge: float | None
    """The number is at least this."""
    gt: float | None
    """The number is more than this."""
    le: float | None
    """The number is at most this."""
    lt: float | None
    """The number is less than this."""
    min_length: int | None
    """Fewest characters of a string, items of a list or a dict."""
    max_length: int | None
    """Most characters of a string, items of a list or a dict."""
    pattern: str | None
    """A regular expression the string must contain (``$`` is the very end of the
    text, as in pydantic's regular expressions: not before a final newline)."""
    discriminator: str | None
    """The field whose value picks a union's member (a ``Literal`` in each member)."""


class FieldInfo:
    """A field's default and constraints (what :func:`Field` makes)."""

    __slots__ = ("constraints", "default")

    def __init__(self, default: Any = MISSING, **constraints: Unpack[Constraints]) -> None:
        if default is not MISSING and constraints.get("default_factory") is not None:
            raise TypeError("a field takes default or default_factory, not both")
        self.default = default
        """The default value (MISSING: none)."""
        self.constraints = constraints
        """The constraints given (a constraint given as None is not set)."""

    def __repr__(self) -> str:
        given = {"default": self.default} if self.default is not MISSING else {}
        shown = (f"{k}={v!r}" for k, v in (given | dict(self.constraints)).items())
        return f"FieldInfo({', '.join(shown)})"


def Field(default: Any = MISSING, **constraints: Unpack[Constraints]) -> Any:  # noqa: N802 - pydantic's name
    """A field's default and constraints (:class:`Constraints`):
    ``Annotated[int, Field(ge=1)]``, or ``name: int = Field(default=1, ge=1)``."""
    return FieldInfo(default, **constraints)


class BeforeValidator:
    """``Annotated[T, BeforeValidator(func)]``: ``func`` turns the input into what ``T`` checks."""

    __slots__ = ("func",)

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func


class ConfigDict(TypedDict, total=False):
    """A model's settings (``model_config``)."""

    extra: Literal["ignore", "forbid"]
    """Keys that are not fields: dropped (``ignore``, the default) or refused (``forbid``)."""
    frozen: bool
    """Fields cannot be set after validation, and the model is hashable."""


VALIDATOR = "__schema_validator__"
"""The attribute a validator function carries: (kind, mode, fields)."""


def field_validator(*fields: str, mode: Mode = "after") -> Callable[[_F], _F]:
    """Decorate a classmethod that checks (and may change) these fields' values.

    ``before``: it gets the raw input; ``after``: the value once its type is checked.
    A ``ValueError`` it raises becomes a ``value_error`` at the field.
    """
    if not fields:
        raise TypeError("field_validator needs the names of the fields it checks")

    def mark(method: _F) -> _F:
        wrapped: Any = method if isinstance(method, classmethod) else classmethod(method)  # type: ignore[arg-type]
        setattr(wrapped.__func__, VALIDATOR, ("field", mode, fields))
        result: _F = wrapped
        return result

    return mark


def model_validator(*, mode: Mode) -> Callable[[_F], _F]:
    """Decorate a model check: ``after``, a method getting the validated model (returning
    it); ``before``, a classmethod getting the raw input (returning what to validate)."""

    def mark(method: _F) -> _F:
        marked: Any = method
        if mode == "before" and not isinstance(marked, classmethod):
            marked = classmethod(marked)
        target = marked.__func__ if isinstance(marked, classmethod) else marked
        setattr(target, VALIDATOR, ("model", mode, ()))
        result: _F = marked
        return result

    return mark
