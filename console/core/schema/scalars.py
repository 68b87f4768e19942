# SPDX-License-Identifier: GPL-2.0-or-later
"""The checkers of single values: strings, numbers, booleans, paths, times, literals, enums.

A checker is ``check(value, loc, errors)``: it returns the value to keep (converted
where pydantic's lax mode converts) or :data:`FAIL` after adding its errors to
``errors``. What each type takes:

- ``str``: a string only (never a number or a bool).
- ``int``: an int, a float without a fraction, a string of digits; not a bool (pydantic
  takes ``True`` as 1; a setting written ``true`` where a number belongs is a mistake).
- ``float``: an int, a float or a numeric string; not a bool. NaN and infinities pass
  only where no bound is set (a bound refuses them, as pydantic's does).
- ``bool``: a bool, 0 or 1, and yes/no, on/off, true/false, y/n, t/f, 1/0 as strings.
- ``Path``: a string or a path. ``datetime.time``: a time or ``HH:MM[:SS[.ffffff]]``.
- ``Literal`` and enums: one of their values, of the same type (``480`` is not ``"480"``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from datetime import time
from enum import Enum
from os import PathLike
from pathlib import PurePath
from typing import Any

from console.core.schema.errors import ErrorDetails, Loc, error
from console.core.schema.fields import FieldInfo


class _Fail:
    def __repr__(self) -> str:
        return "FAIL"


FAIL: Any = _Fail()
"""What a checker returns for a value it refused (after adding its errors)."""

Checker = Callable[[Any, Loc, list[ErrorDetails]], Any]

_TRUE = frozenset(("1", "on", "t", "true", "y", "yes"))
_FALSE = frozenset(("0", "off", "f", "false", "n", "no"))
_INT_TEXT = re.compile(r"[+-]?[0-9]+(?:\.0*)?")
_TIME_TEXT = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9])(?:\.([0-9]{1,6}))?)?")


def short(value: object) -> str:
    """``str(value)`` for a scalar; a shortened repr for anything else (never deep)."""
    if isinstance(value, str | int | float | None):
        text = str(value)
        return text if len(text) <= 80 else text[:77] + "..."
    from reprlib import Repr

    shortened = Repr()
    shortened.maxlevel, shortened.maxstring, shortened.maxother = 3, 60, 60
    return shortened.repr(value)


def expected(values: list[object]) -> str:
    """``'a', 'b' or 'c'``: pydantic's way of listing what a value should be."""
    shown = [repr(value) for value in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def apply_validator(
    validator: Callable[[Any], Any],
    value: Any,
    loc: Loc,
    errors: list[ErrorDetails],
    reported: object = None,
) -> Any:
    """What ``validator`` makes of ``value``, or FAIL with its ``ValueError`` (or failed
    assertion) added as pydantic reports it, with ``reported`` (default: ``value``) as the
    input. Other exceptions are bugs: they propagate."""
    try:
        return validator(value)
    except (ValueError, AssertionError) as exc:
        value_error(errors, loc, value if reported is None else reported, exc)
        return FAIL


def value_error(errors: list[ErrorDetails], loc: Loc, value: object, exc: Exception) -> None:
    """A validator's ``ValueError`` (or failed assertion) as pydantic reports it."""
    if isinstance(exc, AssertionError):
        error(errors, "assertion_error", loc, f"Assertion failed, {exc}", value, {"error": exc})
    else:
        error(errors, "value_error", loc, f"Value error, {exc}", value, {"error": exc})


def anything(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:  # noqa: ARG001
    """Any value, as it is."""
    return value


def none_checker(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
    """None only."""
    if value is None:
        return None
    error(errors, "none_required", loc, "Input should be None", value)
    return FAIL


def bool_checker(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
    """A bool, 0 or 1, or one of the words for yes and no."""
    if value is True or value is False:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value in (0, 1):
            return value == 1
        if isinstance(value, int):
            error(errors, "bool_parsing", loc, _BOOL_PARSING, value)
            return FAIL
    elif isinstance(value, str):
        text = value.lower()  # no stripping: pydantic refuses " true "
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        error(errors, "bool_parsing", loc, _BOOL_PARSING, value)
        return FAIL
    error(errors, "bool_type", loc, "Input should be a valid boolean", value)
    return FAIL


_BOOL_PARSING = "Input should be a valid boolean, unable to interpret input"


_INT_FROM_FLOAT_LIMIT = 2.0**63
"""A whole float this large is refused as an int, as pydantic does (1e308 is no count)."""


def int_checker(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
    """An int, a whole float or a string of digits; not a bool."""
    if type(value) is int:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            error(errors, "finite_number", loc, "Input should be a finite number", value)
        elif not value.is_integer():
            message = "Input should be a valid integer, got a number with a fractional part"
            error(errors, "int_from_float", loc, message, value)
        elif abs(value) >= _INT_FROM_FLOAT_LIMIT:
            message = "Unable to parse input string as an integer, exceeded maximum size"
            error(errors, "int_parsing_size", loc, message, value)
        else:
            return int(value)
        return FAIL
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return _from_text(value, _int_text, loc, errors, "int", "integer")


def float_checker(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
    """A number or a numeric string, as a float; not a bool."""
    if type(value) is float:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            error(errors, "finite_number", loc, "Input should be a finite number", value)
            return FAIL
    return _from_text(value, _float_text, loc, errors, "float", "number")


def _int_text(text: str) -> int:
    if not _INT_TEXT.fullmatch(text):
        raise ValueError(text)
    return int(text.partition(".")[0])  # a ValueError past Python's 4300 digits


def _float_text(text: str) -> float:
    if not text.isascii() or "_" in text:  # float() takes other digits, and 1_0
        raise ValueError(text)
    return float(text)


def _from_text(
    value: Any,
    parse: Callable[[str], Any],
    loc: Loc,
    errors: list[ErrorDetails],
    kind: str,
    what: str,
) -> Any:
    """A string ``parse`` reads, or the error pydantic gives (``int_parsing``, ``float_type``…)."""
    if isinstance(value, str):
        try:
            return parse(value.strip())
        except ValueError:
            article = "an" if what[0] in "aeiou" else "a"
            message = f"Input should be a valid {what}, unable to parse string as {article} {what}"
            error(errors, f"{kind}_parsing", loc, message, value)
            return FAIL
    error(errors, f"{kind}_type", loc, f"Input should be a valid {what}", value)
    return FAIL


_BOUNDS: tuple[
    tuple[str, str, str, Callable[[Any, Any], Any]], ...
] = (  # pydantic's order; the first one broken is reported
    ("le", "less_than_equal", "less than or equal to", operator.le),
    ("lt", "less_than", "less than", operator.lt),
    ("ge", "greater_than_equal", "greater than or equal to", operator.ge),
    ("gt", "greater_than", "greater than", operator.gt),
)


def bounded(convert: Checker, info: FieldInfo) -> Checker:
    """``convert`` (the int or float checker) followed by ``info``'s bounds."""
    bounds = [
        (name, bound, kind, words, holds)
        for name, kind, words, holds in _BOUNDS
        if (bound := info.constraints.get(name)) is not None
    ]
    if not bounds:
        return convert

    def check(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        number = convert(value, loc, errors)
        if number is FAIL:
            return FAIL
        for name, bound, kind, words, holds in bounds:
            if not holds(number, bound):  # NaN holds no bound
                error(errors, kind, loc, f"Input should be {words} {bound}", value, {name: bound})
                return FAIL
        return number

    return check


def _dollar_is_the_end(pattern: str) -> str:
    """``pattern`` with each ``$`` anchor made ``\\Z``: in pydantic's (Rust's) regular
    expressions ``$`` is the end of the text; in Python's it also matches before a final
    newline, which would let ``"X-Queue\\n"`` pass as a header name."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]" or out[-1] == "["
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
    return "".join(out)


def str_checker(info: FieldInfo) -> Checker:
    """A string within ``info``'s lengths, matching its pattern."""
    low, high = info.constraints.get("min_length"), info.constraints.get("max_length")
    pattern = info.constraints.get("pattern")
    matcher = re.compile(_dollar_is_the_end(pattern)).search if pattern is not None else None

    def check(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        if not isinstance(value, str):
            error(errors, "string_type", loc, "Input should be a valid string", value)
            return FAIL
        text = value if type(value) is str else str.__str__(value)
        if low is not None and len(text) < low:
            message = f"String should have at least {plural(low, 'character')}"
            error(errors, "string_too_short", loc, message, value, {"min_length": low})
            return FAIL
        if high is not None and len(text) > high:
            message = f"String should have at most {plural(high, 'character')}"
            error(errors, "string_too_long", loc, message, value, {"max_length": high})
            return FAIL
        if matcher is not None and matcher(text) is None:
            message = f"String should match pattern '{pattern}'"
            error(errors, "string_pattern_mismatch", loc, message, value, {"pattern": pattern})
            return FAIL
        return text

    return check


def path_checker(cls: type[PurePath]) -> Checker:
    """A string or a path, as ``cls``."""

    def check(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        if isinstance(value, cls):
            return value
        if isinstance(value, str | PathLike):
            try:
                return cls(value)
            except (TypeError, ValueError):
                pass
        error(errors, "path_type", loc, f"Input is not a valid path for {cls}", value)
        return FAIL

    return check


def time_checker(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
    """A time, or a string ``HH:MM[:SS[.ffffff]]``."""
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        found = _TIME_TEXT.fullmatch(value)
        if found:
            hour, minute, second, fraction = found.groups()
            micro = int((fraction or "0").ljust(6, "0"))
            return time(int(hour), int(minute), int(second or 0), micro)
        message = "Input should be in a valid time format, expected HH:MM or HH:MM:SS"
        error(errors, "time_parsing", loc, message, value)
        return FAIL
    # YAML reads an unquoted 21:00 as the number 1260 (base 60): say how to write it.
    message = "Input should be a valid time"
    if isinstance(value, int) and not isinstance(value, bool):
        message += ' (in quotes, e.g. "21:00")'
    error(errors, "time_type", loc, message, value)
    return FAIL


def keyed(values: list[Any]) -> dict[tuple[type, Any], Any]:
    """``values`` by (type, value): ``True`` and ``1`` are not the same key."""
    return {(type(value), value): value for value in values}


def lookup(table: dict[tuple[type, Any], Any], value: Any) -> Any:
    """What ``table`` (by type and value) holds for ``value``, or FAIL."""
    try:
        found = table.get((type(value), value), FAIL)
    except TypeError:  # unhashable: a list or a mapping is never one of the values
        return FAIL
    if found is FAIL and type(value) is float and value.is_integer():
        found = table.get((int, int(value)), FAIL)  # pydantic takes 480.0 for 480
    return found


def literal_checker(values: list[Any]) -> Checker:
    """One of ``values`` (a ``Literal``'s), of the same type."""
    table = keyed(values)
    message = f"Input should be {expected(values)}"
    ctx = {"expected": expected(values)}

    def check(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        found = lookup(table, value)
        if found is FAIL:
            error(errors, "literal_error", loc, message, value, dict(ctx))
        return found

    return check


def enum_checker(cls: type[Enum]) -> Checker:
    """A member of ``cls``, or the value of one."""
    members = list(cls)
    table = {(type(m.value), m.value): m for m in members}
    message = f"Input should be {expected([m.value for m in members])}"
    ctx = {"expected": expected([m.value for m in members])}

    def check(value: Any, loc: Loc, errors: list[ErrorDetails]) -> Any:
        if isinstance(value, cls):
            return value
        found = lookup(table, value)
        if found is FAIL:
            error(errors, "enum", loc, message, value, dict(ctx))
        return found

    return check
