# SPDX-License-Identifier: GPL-2.0-or-later
"""What validation reports: :class:`ValidationError`, a list of errors in pydantic's shape.

Each error is a dict with ``type`` (pydantic's error type, e.g. ``int_parsing``),
``loc`` (the path to the value: keys, list indexes, a discriminated union's tag),
``msg`` (pydantic's wording, e.g. "Input should be a valid integer"), ``input``
(the value refused) and, for some types, ``ctx`` (the constraint, e.g. ``{"le": 5}``).
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

Loc = tuple[str | int, ...]
"""Where a value is: keys, list indexes and union tags from the document's top."""


class ErrorDetails(TypedDict):
    """One validation error, as pydantic's ``ValidationError.errors()`` gives it."""

    type: str
    """The error type, e.g. ``missing``, ``extra_forbidden``, ``string_too_long``."""
    loc: Loc
    """Where the value is."""
    msg: str
    """What is wrong, in pydantic's words."""
    input: Any
    """The value refused (for ``missing``: the mapping the field is missing from)."""
    ctx: NotRequired[dict[str, Any]]
    """The constraint or the detail the message was built from."""


def error(
    errors: list[ErrorDetails],
    kind: str,
    loc: Loc,
    msg: str,
    value: object,
    ctx: dict[str, Any] | None = None,
) -> None:
    """Add one error to ``errors``."""
    details: ErrorDetails = {"type": kind, "loc": loc, "msg": msg, "input": value}
    if ctx is not None:
        details["ctx"] = ctx
    errors.append(details)


class ValidationError(ValueError):
    """Every problem found validating one value against a model, not only the first."""

    def __init__(self, title: str, errors: list[ErrorDetails]) -> None:
        super().__init__(title, errors)
        self.title = title
        """The model validated (its class name)."""
        self._errors = errors

    def errors(self) -> list[ErrorDetails]:
        """The errors, in the order of the model's fields (a copy)."""
        return [details.copy() for details in self._errors]

    def error_count(self) -> int:
        """How many errors."""
        return len(self._errors)

    def __str__(self) -> str:
        # Like pydantic's: a header, then each location and message. The input is shown
        # shortened, never in full: it may be huge or nested deep (reprlib stops early).
        from reprlib import Repr

        short = Repr()
        short.maxlevel, short.maxstring, short.maxother = 3, 60, 60
        count = len(self._errors)
        lines = [f"{count} validation error{'s' if count != 1 else ''} for {self.title}"]
        for details in self._errors:
            value = details["input"]
            lines.append(".".join(str(part) for part in details["loc"]) or "(whole input)")
            lines.append(
                f"  {details['msg']} [type={details['type']}, input_value={short.repr(value)}, "
                f"input_type={type(value).__name__}]"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.title!r}, {self.error_count()} errors)"
