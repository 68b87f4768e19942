# SPDX-License-Identifier: GPL-2.0-or-later
"""Calibration: several evaluators score the same call; how far apart they are, per question.

Each scored question's answers are put on one scale (yes 1, no 0, a mark
as its fraction of the scale); the spread is the highest minus the lowest,
0 (all agree) to 1 (opposite answers). "N/A" and unanswered are shown but
left out of the spread; a question where some said N/A and others did not is
a disagreement too (``na_split``).
"""

from __future__ import annotations

from collections.abc import Sequence

from console.core.quality.evaluations import Evaluation
from console.core.quality.scoring import NA, YES
from console.core.records import dataclass
from console.core.scripts.evaluation_forms import EvaluationForm, ScaleItem, TextItem, YesNoItem


@dataclass(frozen=True, slots=True)
class ItemSpread:
    """How the evaluators answered one question."""

    item_id: str
    text: str
    answers: tuple[tuple[str, str | None], ...]
    """(evaluator, stored answer) in evaluator order."""
    spread: float
    """0 (agreement) to 1 (opposite ends); 0 with fewer than two scored answers."""
    na_split: bool
    """Some answered N/A and some did not."""


def _fraction(item: YesNoItem | ScaleItem, value: str) -> float:
    if isinstance(item, YesNoItem):
        return 1.0 if value == YES else 0.0
    return (int(value) - item.min) / (item.max - item.min)


def spread(form: EvaluationForm, evaluations: Sequence[Evaluation]) -> list[ItemSpread]:
    """The spread of every scored question of ``form`` over ``evaluations`` (of one call)."""
    ordered = sorted(evaluations, key=lambda e: e.evaluator)
    out = []
    for item in form.questions:
        if isinstance(item, TextItem):
            continue
        answers = tuple((e.evaluator, e.values().get(item.id)) for e in ordered)
        scored = [_fraction(item, v) for _, v in answers if v is not None and v != NA]
        nas = sum(1 for _, v in answers if v == NA)
        out.append(
            ItemSpread(
                item.id,
                item.text,
                answers,
                round(max(scored) - min(scored), 2) if len(scored) > 1 else 0.0,
                0 < nas < len([v for _, v in answers if v is not None]),
            )
        )
    return out


def score_spread(evaluations: Sequence[Evaluation]) -> float:
    """Highest minus lowest submitted score (0 with fewer than two)."""
    scores = [e.score for e in evaluations if e.score is not None]
    return round(max(scores) - min(scores), 1) if len(scores) > 1 else 0.0
