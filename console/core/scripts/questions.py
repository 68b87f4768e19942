# SPDX-License-Identifier: GPL-2.0-or-later
"""The questions a script step or a form field asks, and how each parses an answer.

Shared with the documents (:mod:`console.core.scripts.models`): the answer
and id types and the model base that forbids unknown fields.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from console.core.schema import BaseModel, ConfigDict, Field, field_validator, model_validator

Answer = bool | int | float | str | date | None
"""A parsed answer: yes/no → bool, number → int or float, date → date, choice/text → str."""

Scalar = bool | int | float | str
"""A value a condition compares an answer with."""

StepId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
"""A step, rule, field or disposition id: lower case, digits and underscores."""

DocumentId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
"""A script or form id: lower case, digits and hyphens."""

Line = Annotated[str, Field(max_length=200)]
"""A short single-line label."""


class AnswerError(ValueError):
    """An answer that does not fit its question; ``str()`` is the message for the agent."""


class FrozenModel(BaseModel):
    """A script or form part: unknown fields are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


class _QuestionBase(FrozenModel):
    prompt: Annotated[str, Field(max_length=500)] = ""
    """Short label shown next to the input (what the agent records), e.g. "Reason"."""
    required: bool = True
    """An answer is needed to advance; when false an empty answer is recorded as none."""
    help: Annotated[str, Field(max_length=500)] = ""
    """Extra guidance for the agent shown with the input."""

    def _empty(self) -> None:
        if self.required:
            raise AnswerError("an answer is required")


class YesNoQuestion(_QuestionBase):
    """A yes/no question; the answer is a bool."""

    kind: Literal["yes_no"]
    """Question kind."""

    def parse(self, raw: object, *, today: date | None = None) -> Answer:  # noqa: ARG002
        """``raw`` (bool, "yes"/"no"/"y"/"n") as a bool; raises :class:`AnswerError`."""
        if _is_blank(raw):
            self._empty()
            return None
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().casefold()
        if text in ("y", "yes", "true"):
            return True
        if text in ("n", "no", "false"):
            return False
        raise AnswerError("answer yes or no")


class ChoiceOption(FrozenModel):
    """One answer of a choice question."""

    value: Annotated[str, Field(min_length=1, max_length=64)]
    """Stored value and what branches compare with (quote yes/no/on/off in YAML)."""
    label: Line
    """What the agent sees."""


class ChoiceQuestion(_QuestionBase):
    """Pick one of a short list of options; the answer is the option's ``value``."""

    kind: Literal["choice"]
    """Question kind."""
    options: Annotated[list[ChoiceOption], Field(min_length=2, max_length=12)]
    """The options, in the order offered (the agent may type the number, value or label)."""

    def parse(self, raw: object, *, today: date | None = None) -> Answer:  # noqa: ARG002
        """The value of the option ``raw`` names (its value, label or 1-based number)."""
        if _is_blank(raw):
            self._empty()
            return None
        text = str(raw).strip()
        for number, option in enumerate(self.options, start=1):
            if text == option.value or text.casefold() == option.label.casefold():
                return option.value
            if text == str(number):
                return option.value
        listed = ", ".join(f"{n} {o.label}" for n, o in enumerate(self.options, start=1))
        raise AnswerError(f"choose one of: {listed}")


class TextQuestion(_QuestionBase):
    """Free text on one line, optionally checked against a pattern."""

    kind: Literal["text"]
    """Question kind."""
    min_length: Annotated[int, Field(ge=0, le=2000)] = 0
    """Fewest characters accepted (after trimming)."""
    max_length: Annotated[int, Field(ge=1, le=2000)] = 500
    """Most characters accepted."""
    pattern: str | None = None
    """Regular expression the whole answer must match, e.g. ``^[A-Z]{2}[0-9]{6}$``."""
    pattern_hint: Line = ""
    """Said to the agent when the pattern does not match, e.g. "two letters then six digits"."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    def parse(self, raw: object, *, today: date | None = None) -> Answer:  # noqa: ARG002
        """``raw`` trimmed, within the length limits and matching ``pattern``."""
        if _is_blank(raw):
            self._empty()
            return None
        text = str(raw).strip()
        if len(text) < self.min_length:
            raise AnswerError(f"enter at least {self.min_length} characters")
        if len(text) > self.max_length:
            raise AnswerError(f"enter at most {self.max_length} characters")
        if self.pattern is not None and re.fullmatch(self.pattern, text) is None:
            raise AnswerError(self.pattern_hint or "this does not look right; check the format")
        return text


class DateQuestion(_QuestionBase):
    """A calendar date, typed as YYYY-MM-DD."""

    kind: Literal["date"]
    """Question kind."""
    allowed: Literal["any", "past", "future"] = "any"
    """``past``: today or earlier (a date of birth); ``future``: today or later (a booking)."""

    def parse(self, raw: object, *, today: date | None = None) -> Answer:
        """``raw`` (a date or YYYY-MM-DD) as a date within ``allowed`` of ``today``."""
        if _is_blank(raw):
            self._empty()
            return None
        if isinstance(raw, datetime):
            value = raw.date()
        elif isinstance(raw, date):
            value = raw
        else:
            try:
                value = date.fromisoformat(str(raw).strip())
            except ValueError:
                raise AnswerError("enter a date as YYYY-MM-DD") from None
        # The agent's calendar day, not UTC's: "today" is where the call happens.
        today = today or datetime.now(UTC).astimezone().date()
        if self.allowed == "past" and value > today:
            raise AnswerError("the date cannot be in the future")
        if self.allowed == "future" and value < today:
            raise AnswerError("the date cannot be in the past")
        return value


class NumberQuestion(_QuestionBase):
    """A number, optionally whole and within a range."""

    kind: Literal["number"]
    """Question kind."""
    minimum: float | None = None
    """Smallest value accepted."""
    maximum: float | None = None
    """Largest value accepted."""
    integer: bool = False
    """Only whole numbers."""
    unit: Annotated[str, Field(max_length=20)] = ""
    """Shown after the input, e.g. "days" or "°F"."""

    @model_validator(mode="after")
    def _range(self) -> NumberQuestion:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is larger than maximum")
        return self

    def parse(self, raw: object, *, today: date | None = None) -> Answer:  # noqa: ARG002
        """``raw`` as an int (whole numbers) or float within the range."""
        if _is_blank(raw):
            self._empty()
            return None
        if isinstance(raw, bool):
            raise AnswerError("enter a number")
        try:
            value = float(str(raw).strip().replace(",", ""))
        except ValueError:
            raise AnswerError("enter a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise AnswerError("enter a number")
        if self.integer and not value.is_integer():
            raise AnswerError("enter a whole number")
        unit = f" {self.unit}" if self.unit else ""
        if self.minimum is not None and value < self.minimum:
            raise AnswerError(f"must be at least {_number(self.minimum)}{unit}")
        if self.maximum is not None and value > self.maximum:
            raise AnswerError(f"must be at most {_number(self.maximum)}{unit}")
        return int(value) if value.is_integer() else value


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


Question = Annotated[
    YesNoQuestion | ChoiceQuestion | TextQuestion | DateQuestion | NumberQuestion,
    Field(discriminator="kind"),
]
"""Any question kind, chosen by its ``kind`` field."""
