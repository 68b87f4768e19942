# SPDX-License-Identifier: GPL-2.0-or-later
"""The score of an evaluation: weighted sections, N/A left out, automatic fails.

A yes/no question scores 1 for yes and 0 for no; a scale question
``(mark - min) / (max - min)``; "N/A" and unanswered questions are left out
of both sides. A section's result is its questions' weighted mean; the score
is the sections' weighted mean (sections with nothing applicable left out),
times 100. An automatic-fail question answered "no" makes the score 0 and
the call a fail.
"""

from __future__ import annotations

from collections.abc import Mapping

from console.core.records import dataclass
from console.core.scripts.evaluation_forms import (
    EvaluationForm,
    Item,
    ScaleItem,
    TextItem,
    YesNoItem,
)

YES, NO, NA = "yes", "no", "na"
"""A yes/no question's stored answers."""


class EvaluationAnswerError(ValueError):
    """An answer that does not fit its question; the message is for the evaluator."""


@dataclass(frozen=True, slots=True)
class Score:
    """What a set of answers comes to under a form."""

    score: float
    """0 to 100, rounded to one decimal."""
    passed: bool
    """At least the form's pass threshold and no automatic fail."""
    auto_failed: bool
    """An automatic-fail question was answered "no"."""
    unanswered: tuple[str, ...]
    """Questions still to answer before the evaluation can be submitted."""


def check_answer(item: Item, value: str | None) -> str | None:
    """``value`` as stored for ``item`` ("yes"/"no"/"na", the mark, the text), or None for
    no answer; raises :class:`EvaluationAnswerError`."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if isinstance(item, TextItem):
        if len(text) > item.max_length:
            raise EvaluationAnswerError(f"at most {item.max_length} characters")
        return text
    lowered = text.casefold()
    if lowered in ("na", "n/a"):
        if not item.allow_na:
            raise EvaluationAnswerError("this question always applies")
        return NA
    if isinstance(item, YesNoItem):
        if lowered in ("y", "yes"):
            return YES
        if lowered in ("n", "no"):
            return NO
        raise EvaluationAnswerError("answer yes, no or N/A")
    try:
        mark = int(text)
    except ValueError:
        raise EvaluationAnswerError(f"a mark from {item.min} to {item.max}") from None
    if not item.min <= mark <= item.max:
        raise EvaluationAnswerError(f"a mark from {item.min} to {item.max}")
    return str(mark)


def _points(item: YesNoItem | ScaleItem, value: str) -> float:
    if isinstance(item, YesNoItem):
        return 1.0 if value == YES else 0.0
    return (int(value) - item.min) / (item.max - item.min)


def score(form: EvaluationForm, answers: Mapping[str, str | None]) -> Score:
    """The score of ``answers`` (stored values by question id) under ``form``."""
    total = weights = 0.0
    auto_failed = False
    unanswered: list[str] = []
    for section in form.sections:
        got = possible = 0.0
        for item in section.questions:
            value = answers.get(item.id)
            if isinstance(item, TextItem):
                if item.required and not value:
                    unanswered.append(item.id)
                continue
            if value is None:
                unanswered.append(item.id)
                continue
            if value == NA:
                continue
            if isinstance(item, YesNoItem) and item.auto_fail and value == NO:
                auto_failed = True
            got += item.weight * _points(item, value)
            possible += item.weight
        if possible > 0:
            total += section.weight * got / possible
            weights += section.weight
    result = 0.0 if auto_failed or weights == 0 else round(100 * total / weights, 1)
    passed = not auto_failed and weights > 0 and result >= form.pass_threshold
    return Score(result, passed, auto_failed, tuple(unanswered))
