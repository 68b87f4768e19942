# SPDX-License-Identifier: GPL-2.0-or-later
"""From a field's type to the function that checks a value of it (pydantic's lax mode).

Single values are :mod:`console.core.schema.scalars`' checkers; here are the
containers and the choices: ``list[T]`` (from a list or a tuple), ``dict[K, V]``,
unions (a member of the value's exact type first, then the first member that takes
it), discriminated unions, nested models, and ``Annotated`` constraints and
``BeforeValidator``.

The checks follow the type, never the input: a value nested deeper than its type is
refused where the type ends, so hostile input cannot exhaust the stack here. A list's
``max_length`` is checked before its items, so a huge list is one error, not millions.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from datetime import time
from enum import Enum
from pathlib import PurePath
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from console.core.schema.errors import ErrorDetails, Loc, error
from console.core.schema.fields import BeforeValidator, Constraints, FieldInfo
from console.core.schema.scalars import (
    FAIL,
    Checker,
    anything,
    apply_validator,
    bool_checker,
    bounded,
    enum_checker,
    float_checker,
    int_checker,
    literal_checker,
    lookup,
    none_checker,
    path_checker,
    plural,
    short,
    str_checker,
    time_checker,
)

_NONE = type(None)
_MODEL = "__schema_validate__"
"""The class method a model validates with (how a checker knows a model class)."""


def _merged(infos: list[FieldInfo]) -> FieldInfo:
    constraints: Constraints = {}
    for info in infos:
        constraints.update(info.constraints)
    return FieldInfo(**constraints)


def unwrap(hint: Any) -> tuple[Any, FieldInfo, list[BeforeValidator]]:
    """``Annotated[T, Field(...), BeforeValidator(...)]`` as T, its constraints, its validators."""
    infos: list[FieldInfo] = []
    befores: list[BeforeValidator] = []
    while get_origin(hint) is Annotated:
        for extra in hint.__metadata__:
            if isinstance(extra, FieldInfo):
                infos.append(extra)
            elif isinstance(extra, BeforeValidator):
                befores.append(extra)
            else:
                raise TypeError(f"unsupported Annotated metadata {extra!r}")
        hint = hint.__origin__
    return hint, _merged(infos), befores


def compile_type(hint: Any, where: str) -> Checker:
    """The checker of ``hint`` (``where`` names the field, for a mistake in the model)."""
    base, info, befores = unwrap(hint)
    # The last one listed sees the input first, as in pydantic.
    return with_validators(_compile_base(base, info, where), tuple(b.func for b in befores[::-1]))


def with_validators(
    check: Checker,
    before: tuple[Callable[[Any], Any], ...] = (),
    after: tuple[Callable[[Any], Any], ...] = (),
) -> Checker:
    """``check`` with validators: ``before`` ones (in order) turn the input into what it
    checks, ``after`` ones (in order) check what it made."""
    if not before and not after:
        return check

    def validated(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        for validator in before:
            value = apply_validator(validator, value, loc, errors)
            if value is FAIL:
                return FAIL
        value = check(value, loc, errors)
        for validator in after:
            if value is FAIL:
                return FAIL
            value = apply_validator(validator, value, loc, errors)
        return value

    return validated


def _refuse(info: FieldInfo, where: str, *names: str) -> None:
    for name in names:
        if info.constraints.get(name) is not None:
            raise TypeError(f"{where}: {name} does not apply to this type")


def _compile_base(base: Any, info: FieldInfo, where: str) -> Checker:
    origin = get_origin(base)
    numbers, lengths = ("ge", "gt", "le", "lt"), ("min_length", "max_length")
    every = (*numbers, *lengths, "pattern")
    if origin is Union or origin is types.UnionType:
        _refuse(info, where, *every)
        discriminator = info.constraints.get("discriminator")
        if discriminator is not None:
            return _discriminated(get_args(base), discriminator, where)
        return _union(get_args(base), where)
    _refuse(info, where, "discriminator")
    if origin is Literal:
        _refuse(info, where, *every)
        return literal_checker(list(get_args(base)))
    if origin is list:
        _refuse(info, where, *numbers, "pattern")
        return _list(compile_type(get_args(base)[0], where), info)
    if origin is dict:
        _refuse(info, where, *numbers, "pattern")
        key, item = get_args(base)
        return _dict(compile_type(key, where), compile_type(item, where), info)
    if base is Any:
        _refuse(info, where, *every)
        return anything
    if not isinstance(base, type):
        raise TypeError(f"{where}: no validation for {base!r}")
    if base is int or base is float:
        _refuse(info, where, *lengths, "pattern")
        return bounded(int_checker if base is int else float_checker, info)
    if base is str:
        _refuse(info, where, *numbers)
        return str_checker(info)
    _refuse(info, where, *every)  # the other types take no constraint
    if hasattr(base, _MODEL):
        validate: Checker = getattr(base, _MODEL)
        return validate
    if issubclass(base, Enum):
        return enum_checker(base)
    if issubclass(base, PurePath):
        return path_checker(base)
    plain = {_NONE: none_checker, bool: bool_checker, time: time_checker}.get(base)
    if plain is not None:
        return plain
    raise TypeError(f"{where}: no validation for {base!r}")


def _list(item: Checker, info: FieldInfo) -> Checker:
    low, high = info.constraints.get("min_length"), info.constraints.get("max_length")

    def check(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        if not isinstance(value, list | tuple):
            error(errors, "list_type", loc, "Input should be a valid list", value)
            return FAIL
        count = len(value)
        if high is not None and count > high:  # before the items: a huge list is one error
            message = (
                f"List should have at most {plural(high, 'item')} after validation, not {count}"
            )
            ctx = {"field_type": "List", "max_length": high, "actual_length": count}
            error(errors, "too_long", loc, message, value, ctx)
            return FAIL
        kept = []
        failed = False
        for index, entry in enumerate(value):
            result = item(entry, (*loc, index), errors)
            if result is FAIL:
                failed = True
            else:
                kept.append(result)
        if failed:
            return FAIL
        if low is not None and count < low:
            message = (
                f"List should have at least {plural(low, 'item')} after validation, not {count}"
            )
            ctx = {"field_type": "List", "min_length": low, "actual_length": count}
            error(errors, "too_short", loc, message, value, ctx)
            return FAIL
        return kept

    return check


def _dict(key: Checker, item: Checker, info: FieldInfo) -> Checker:
    low, high = info.constraints.get("min_length"), info.constraints.get("max_length")

    def check(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        if not isinstance(value, dict):
            error(errors, "dict_type", loc, "Input should be a valid dictionary", value)
            return FAIL
        count = len(value)
        for bound, broken, word in ((high, "too_long", "most"), (low, "too_short", "least")):
            if bound is not None and (count > bound if word == "most" else count < bound):
                message = (
                    f"Dictionary should have at {word} {plural(bound, 'item')} after "
                    f"validation, not {count}"
                )
                ctx = {
                    "field_type": "Dictionary",
                    f"{'max' if word == 'most' else 'min'}_length": bound,
                    "actual_length": count,
                }
                error(errors, broken, loc, message, value, ctx)
                return FAIL
        kept = {}
        failed = False
        for name, entry in value.items():
            checked_key = key(name, (*loc, name, "[key]"), errors)
            checked = item(entry, (*loc, name), errors)
            if checked_key is FAIL or checked is FAIL:
                failed = True
            else:
                kept[checked_key] = checked
        return FAIL if failed else kept

    return check


def _label(hint: Any) -> str:
    base = unwrap(hint)[0]
    return str(getattr(base, "__name__", None) or base)


def _union(members: tuple[Any, ...], where: str) -> Checker:
    nullable = _NONE in members
    rest = [member for member in members if member is not _NONE]
    checks = [(_label(member), compile_type(member, where)) for member in rest]
    if len(checks) == 1:
        [(_, only)] = checks

        def optional(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
            return None if value is None else only(value, loc, errors)

        return optional
    # pydantic's smart mode: a member of the value's exact type first, then the first
    # member (in order) that takes it.
    exact = {
        unwrap(member)[0]: check
        for member, (_, check) in zip(rest, checks, strict=True)
        if unwrap(member)[0] in (bool, int, float, str)
    }

    def union(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        if value is None and nullable:
            return None
        first = exact.get(type(value))
        if first is not None:
            result = first(value, loc, [])
            if result is not FAIL:
                return result
        found: list[ErrorDetails] = []
        for label, check in checks:
            result = check(value, (*loc, label), found)
            if result is not FAIL:
                return result
        errors.extend(found)
        return FAIL

    return union


def _discriminated(members: tuple[Any, ...], field: str, where: str) -> Checker:
    table: dict[tuple[type, Any], Any] = {}
    tags: list[Any] = []
    for member in members:
        if not hasattr(member, _MODEL):
            raise TypeError(f"{where}: a discriminated union is of models, not {member!r}")
        hint = unwrap(get_type_hints(member, include_extras=True)[field])[0]
        if get_origin(hint) is not Literal:
            raise TypeError(f"{where}: {member.__name__}.{field} must be a Literal")
        for tag in get_args(hint):
            table[(type(tag), tag)] = member
            tags.append(tag)
    models = tuple(table.values())
    listed = ", ".join(repr(tag) for tag in tags)

    def check(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        if isinstance(value, models):
            return value
        if not isinstance(value, dict):
            message = "Input should be a valid dictionary or object to extract fields from"
            error(errors, "model_attributes_type", loc, message, value)
            return FAIL
        if field not in value:
            message = f"Unable to extract tag using discriminator '{field}'"
            error(
                errors, "union_tag_not_found", loc, message, value, {"discriminator": f"'{field}'"}
            )
            return FAIL
        tag = value[field]
        model = lookup(table, tag)
        if model is FAIL:
            shown = short(tag)
            message = (
                f"Input tag '{shown}' found using '{field}' does not match any of the "
                f"expected tags: {listed}"
            )
            ctx = {"discriminator": f"'{field}'", "tag": shown, "expected_tags": listed}
            error(errors, "union_tag_invalid", loc, message, value, ctx)
            return FAIL
        return getattr(model, _MODEL)(value, (*loc, tag), errors)

    return check
