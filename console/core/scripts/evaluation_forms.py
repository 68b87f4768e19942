# SPDX-License-Identifier: GPL-2.0-or-later
"""Evaluation forms: the YAML documents of ``scripts_library/evaluations/`` (``kind: evaluation``).

A supervisor scores a call against a form: sections with a weight each (the
weights add up to 100), and in each section questions — yes/no (with "not
applicable"), a scale, or free text (never scored). A yes/no question may be
an automatic fail: answered "no", the whole call fails whatever the score. A
question may name the automatic check (:class:`AutomaticCheck`) that answers
it from what careline stored about the call; the evaluator sees the answer
pre-filled and may change it. Cross-field rules (weights, unique ids) are the
checker's (:mod:`console.core.scripts.evaluation_check`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from console.core.schema import Field
from console.core.scripts.models import Line, _LibraryDocument
from console.core.scripts.questions import FrozenModel, StepId

MAX_SECTIONS = 20
"""Most sections of a form: a scorecard longer than this is not read, only clicked."""
MAX_QUESTIONS = 60
"""Most questions of one section."""


class AutomaticCheck(StrEnum):
    """A check careline computes per call from its stored facts; each passes when the agent
    did the right thing (a question naming it is pre-filled yes on pass, no on fail, N/A
    when it does not apply)."""

    VERIFIED_BEFORE_DETAILS = "verified_before_details"
    """No patient detail was viewed on the call before the caller was verified (a failure
    should be impossible: the console refuses it; it is flagged loudly)."""
    RED_FLAG_TRANSFER = "red_flag_transfer"
    """A red flag raised on the call was followed by a transfer within the form's
    ``red_flag_transfer_seconds``."""
    SCRIPT_COMPLETED = "script_completed"
    """The call's script was worked to an end."""
    HOLD_WITHIN_LIMIT = "hold_within_limit"
    """The caller was on hold no longer than ``long_hold_seconds`` in all."""
    WRAP_UP_WITHIN_LIMIT = "wrap_up_within_limit"
    """The wrap-up was saved within ``wrap_up_seconds`` of the call's end."""
    DISPOSITION_MATCHES = "disposition_matches"
    """The disposition fits what the script answers and the call say (an emergency is
    escalated or transferred, a booking is recorded as one, …)."""


class Thresholds(FrozenModel):
    """The limits the automatic checks and the call selection measure against."""

    red_flag_transfer_seconds: Annotated[int, Field(ge=1, le=3600)] = 120
    """Longest time from a red flag to the transfer that answers it."""
    long_hold_seconds: Annotated[int, Field(ge=1, le=7200)] = 120
    """Longest total hold on one call."""
    wrap_up_seconds: Annotated[int, Field(ge=1, le=7200)] = 120
    """Longest time from the call's end to the saved wrap-up."""
    long_call_seconds: Annotated[int, Field(ge=1, le=86400)] = 900
    """A call talked longer than this is a long call (chosen for review)."""


class _ItemBase(FrozenModel):
    id: StepId
    """Unique in the form; the answer's key."""
    text: Annotated[str, Field(min_length=1, max_length=300)]
    """The question the evaluator answers."""
    help: Annotated[str, Field(max_length=500)] = ""
    """What a good answer looks like."""


class YesNoItem(_ItemBase):
    """Did the agent do it: yes (full points), no (none), or not applicable (left out)."""

    kind: Literal["yes_no"]
    """Question kind."""
    weight: Annotated[float, Field(ge=0, le=100)] = 1
    """Points within its section (relative to the section's other questions)."""
    allow_na: bool = True
    """"Not applicable" may be answered; it leaves the question out of the score."""
    auto_fail: bool = False
    """Answered "no", the whole call fails (score 0), whatever else was answered."""
    automatic: AutomaticCheck | None = None
    """The automatic check that pre-fills this question."""


class ScaleItem(_ItemBase):
    """How well, from ``min`` (no points) to ``max`` (full points)."""

    kind: Literal["scale"]
    """Question kind."""
    weight: Annotated[float, Field(ge=0, le=100)] = 1
    """Points within its section."""
    min: Annotated[int, Field(ge=0, le=10)] = 1
    """Lowest mark."""
    max: Annotated[int, Field(ge=1, le=10)] = 5
    """Highest mark (more than ``min``)."""
    allow_na: bool = True
    """"Not applicable" may be answered."""


class TextItem(_ItemBase):
    """A comment for the agent; never scored."""

    kind: Literal["text"]
    """Question kind."""
    required: bool = False
    """The evaluation cannot be submitted without it."""
    max_length: Annotated[int, Field(ge=1, le=4000)] = 1000
    """Longest answer."""


Item = Annotated[YesNoItem | ScaleItem | TextItem, Field(discriminator="kind")]
"""One question of a form."""
ScoredItem = YesNoItem | ScaleItem
"""A question that carries points."""


class Section(FrozenModel):
    """A group of questions with a share of the score."""

    id: StepId
    """Unique in the form."""
    title: Line
    """Heading the evaluator sees."""
    weight: Annotated[float, Field(ge=0, le=100)]
    """Share of the score, in percent; the sections' weights add up to 100."""
    questions: Annotated[list[Item], Field(min_length=1, max_length=MAX_QUESTIONS)]
    """The questions, in the order asked."""


class EvaluationForm(_LibraryDocument):
    """A quality evaluation form (a scorecard) for calls."""

    kind: Literal["evaluation"]
    """Document kind: ``evaluation``."""
    default: bool = False
    """The form ``careline qa`` uses when none is named (at most one in a library)."""
    pass_threshold: Annotated[float, Field(ge=0, le=100)] = 80
    """Lowest passing score."""
    thresholds: Thresholds = Thresholds()
    """Limits of the automatic checks and of the call selection."""
    sections: Annotated[list[Section], Field(min_length=1, max_length=MAX_SECTIONS)]
    """The sections, in order."""

    @property
    def questions(self) -> tuple[Item, ...]:
        """Every question, in form order."""
        return tuple(item for section in self.sections for item in section.questions)

    def question(self, item_id: str) -> Item:
        """The question called ``item_id``; raises KeyError."""
        for item in self.questions:
            if item.id == item_id:
                return item
        raise KeyError(item_id)
