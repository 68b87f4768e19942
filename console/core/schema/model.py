# SPDX-License-Identifier: GPL-2.0-or-later
""":class:`BaseModel`: typed fields, validated when the model is built from a mapping.

A model class reads its annotations once, the first time it validates anything
(``typing.get_type_hints``, so later classes of the same module may be named), and
compiles one checker per field (:mod:`console.core.schema.checkers`). Validation
collects every error of every field (and of nested models and list items) before
raising one :class:`ValidationError`; model validators run only on a model whose
fields all passed.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping
from datetime import date, time
from enum import Enum
from pathlib import PurePath
from typing import (
    Annotated,
    Any,
    ClassVar,
    Literal,
    Self,
    dataclass_transform,
    get_origin,
    get_type_hints,
)

from console.core.records import dataclass
from console.core.schema.checkers import compile_type, with_validators
from console.core.schema.errors import ErrorDetails, Loc, ValidationError, error
from console.core.schema.fields import MISSING, VALIDATOR, ConfigDict, Field, FieldInfo
from console.core.schema.scalars import FAIL, Checker, apply_validator

_SHARED = (type(None), bool, int, float, str, bytes, PurePath, time, date, Enum, frozenset)
"""Defaults that cannot change, so every instance may share them (others are copied)."""


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    check: Checker
    default: Any
    factory: Callable[[], Any] | None
    copied: bool

    def missing(self) -> Any:
        """The default for an instance (``MISSING``: the field is required)."""
        if self.factory is not None:
            return self.factory()
        return copy.deepcopy(self.default) if self.copied else self.default


@dataclass(frozen=True, slots=True)
class _Schema:
    fields: tuple[_Field, ...]
    names: frozenset[str]
    forbid: bool
    frozen: bool
    before: tuple[Callable[[Any], Any], ...]
    after: tuple[Callable[[Any], Any], ...]


def _shared(value: object) -> bool:
    if isinstance(value, tuple):
        return all(_shared(item) for item in value)
    if isinstance(value, BaseModel):
        return type(value)._schema().frozen
    return isinstance(value, _SHARED)


def _build(cls: type[BaseModel]) -> _Schema:
    config: dict[str, Any] = {}
    validators: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    for klass in reversed(cls.__mro__):
        config.update(klass.__dict__.get("model_config", {}))
        for name, attr in klass.__dict__.items():
            function = attr.__func__ if isinstance(attr, classmethod | staticmethod) else attr
            marker = getattr(function, VALIDATOR, None)
            if marker is not None:
                validators[name] = marker
            elif name in validators:  # overridden by a plain attribute
                del validators[name]
    unknown = set(config) - {"extra", "frozen"}
    if unknown or config.get("extra", "ignore") not in ("ignore", "forbid"):
        raise TypeError(f"{cls.__name__}: unsupported model_config {config}")
    hints = get_type_hints(cls, include_extras=True)
    names = [n for n, h in hints.items() if not n.startswith("_") and get_origin(h) is not ClassVar]
    field_before: dict[str, list[Callable[[Any], Any]]] = {name: [] for name in names}
    field_after: dict[str, list[Callable[[Any], Any]]] = {name: [] for name in names}
    model_before: list[Callable[[Any], Any]] = []
    model_after: list[Callable[[Any], Any]] = []
    for attr, (kind, mode, targets) in validators.items():
        bound = getattr(cls, attr)
        if kind == "model":
            (model_before if mode == "before" else model_after).append(bound)
            continue
        for target in targets:
            if target not in field_before:
                raise TypeError(f"{cls.__name__}.{attr} validates {target!r}, not a field")
            (field_before if mode == "before" else field_after)[target].append(bound)
    fields = []
    for name in names:
        hint = hints[name]
        default = getattr(cls, name, MISSING)
        factory = None
        if isinstance(default, FieldInfo):  # ``name: T = Field(...)``
            default, factory, hint = (
                default.default,
                default.constraints.get("default_factory"),
                Annotated[hint, default],
            )
        check = with_validators(
            compile_type(hint, f"{cls.__name__}.{name}"),
            tuple(reversed(field_before[name])),  # pydantic: the last defined runs first
            tuple(field_after[name]),
        )
        fields.append(
            _Field(
                name,
                check,
                default,
                factory,
                default is not MISSING and not _shared(default),
            )
        )
    return _Schema(
        tuple(fields),
        frozenset(names),
        config.get("extra") == "forbid",
        bool(config.get("frozen", False)),
        tuple(model_before),
        tuple(model_after),
    )


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(Field, FieldInfo))
class BaseModel:
    """A model: its annotated fields are checked when it is built, from keywords or with
    :meth:`model_validate`; a bad value raises :class:`ValidationError` listing every error.

    ``model_config = ConfigDict(extra="forbid", frozen=True)`` refuses unknown keys and
    freezes the instance (then it is hashable). Type checkers are told every model is
    frozen: careline has no other kind.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict()

    @classmethod
    def _schema(cls) -> _Schema:
        schema: _Schema | None = cls.__dict__.get("__schema__")
        if schema is None:
            schema = _build(cls)
            type.__setattr__(cls, "__schema__", schema)
        return schema

    @classmethod
    def __schema_validate__(cls, value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        """``value`` as an instance of this model, or FAIL with its errors added."""
        if isinstance(value, cls):
            return value
        schema = cls._schema()
        for before in schema.before:
            value = apply_validator(before, value, loc, errors)
            if value is FAIL:
                return FAIL
        if not isinstance(value, dict):
            message = f"Input should be a valid dictionary or instance of {cls.__name__}"
            error(errors, "model_type", loc, message, value, {"class_name": cls.__name__})
            return FAIL
        found = len(errors)
        values: dict[str, Any] = {}
        for field in schema.fields:
            name = field.name
            if name not in value:
                default = field.missing()
                if default is MISSING:
                    error(errors, "missing", (*loc, name), "Field required", value)
                else:
                    values[name] = default
                continue
            checked = field.check(value[name], (*loc, name), errors)
            if checked is not FAIL:
                values[name] = checked
        for key in value if schema.forbid else ():
            if not isinstance(key, str):
                # YAML makes keys of null, numbers, dates: refused as pydantic does, and
                # named as text in the location, which callers join into a field name.
                part = key if type(key) is int else repr(key)
                error(errors, "invalid_key", (*loc, part), "Keys should be strings", key)
            elif key not in schema.names:
                message = "Extra inputs are not permitted"
                error(errors, "extra_forbidden", (*loc, key), message, value[key])
        if len(errors) > found:
            return FAIL
        model = cls.__new__(cls)
        object.__setattr__(model, "__dict__", values)
        for after in schema.after:
            checked = apply_validator(after, model, loc, errors, reported=value)
            if checked is FAIL:
                return FAIL
            model = checked if isinstance(checked, cls) else model
        return model

    def __init__(self, /, **data: Any) -> None:
        errors: list[ErrorDetails] = []
        model = type(self).__schema_validate__(data, (), errors)
        if model is FAIL:
            raise ValidationError(type(self).__name__, errors)
        object.__setattr__(self, "__dict__", model.__dict__)

    @classmethod
    def model_validate(cls, obj: Any) -> Self:
        """``obj`` (a mapping, or an instance kept as it is) as this model; raises
        :class:`ValidationError` with every error."""
        errors: list[ErrorDetails] = []
        model = cls.__schema_validate__(obj, (), errors)
        if model is FAIL:
            raise ValidationError(cls.__name__, errors)
        assert isinstance(model, cls)
        return model

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update``'s fields replaced. Like pydantic's, the update is not
        validated: give values of the fields' types."""
        values = copy.deepcopy(self.__dict__) if deep else dict(self.__dict__)
        if update:
            unknown = set(update) - type(self)._schema().names
            if unknown:
                raise ValueError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
            values.update(update)
        model = type(self).__new__(type(self))
        object.__setattr__(model, "__dict__", values)
        return model

    def model_dump(self, *, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The fields as a dict, nested models as dicts; ``mode="json"``: only JSON types
        (paths and times as strings, enums as their values, NaN and infinities as None)."""
        dumped = _dump(self, mode == "json")
        assert isinstance(dumped, dict)
        return dumped

    def model_dump_json(self, *, indent: int | None = None) -> str:
        """The fields as JSON (compact, or indented by ``indent``)."""
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(
            self.model_dump(mode="json"), indent=indent, separators=separators, ensure_ascii=False
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if type(self)._schema().frozen:
            details: ErrorDetails = {
                "type": "frozen_instance",
                "loc": (name,),
                "msg": "Instance is frozen",
                "input": value,
            }
            raise ValidationError(type(self).__name__, [details])
        if name not in type(self)._schema().names:
            raise ValueError(f'"{type(self).__name__}" object has no field "{name}"')
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if type(self)._schema().frozen:
            raise TypeError(f"{type(self).__name__} is frozen")
        object.__delattr__(self, name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        if not type(self)._schema().frozen:
            raise TypeError(f"unhashable type: {type(self).__name__!r} (not frozen)")
        return hash(tuple(self.__dict__.values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


def _dump(value: Any, as_json: bool) -> Any:
    if isinstance(value, BaseModel):
        return {name: _dump(item, as_json) for name, item in value.__dict__.items()}
    if isinstance(value, list | tuple):
        dumped = [_dump(item, as_json) for item in value]
        return dumped if as_json or isinstance(value, list) else tuple(dumped)
    if isinstance(value, dict):
        return {
            (_dump(key, True) if as_json else key): _dump(item, as_json)
            for key, item in value.items()
        }
    if not as_json:
        return value
    if isinstance(value, Enum):
        return _dump(value.value, True)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, time | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
