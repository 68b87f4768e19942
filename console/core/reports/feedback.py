# SPDX-License-Identifier: GPL-2.0-or-later
"""Survey answers as feedback: which answers are scores or comments (the
``measures:`` of the library's scripts), and reading them from an
interaction's answer log.

A survey counts where it was taken: the week, queue and agent of the survey
call (the interaction that recorded the answers). careline does not record
which earlier call a survey is about, so a post-call survey's score is not
moved to the agent of that call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from console.core.records import dataclass
from console.core.reports.figures import SurveyMeasure, SurveyScore
from console.core.scripts.models import Script

_SCALES: dict[str, tuple[int, int]] = {"csat": (1, 5), "nps": (0, 10)}


@dataclass(frozen=True, slots=True)
class MeasuredStep:
    """A script step whose answer the report reads."""

    script_id: str
    step_id: str
    measure: str
    """``csat``, ``nps`` or ``comment``."""


@dataclass(frozen=True, slots=True)
class Comment:
    """One free-text survey answer, as stored (PHI: redact before it leaves)."""

    week: date
    queue: str
    agent_id: str
    interaction_id: str
    at: str
    """When the survey was taken (UTC ISO text)."""
    text: str
    csat: int | None = None
    """The same survey's satisfaction answer, if given."""
    nps: int | None = None
    """The same survey's recommend answer, if given."""


def measured_steps(scripts: Iterable[Script]) -> tuple[MeasuredStep, ...]:
    """Every step of ``scripts`` that says what it measures."""
    return tuple(
        MeasuredStep(script.id, step.id, step.measures)
        for script in scripts
        for step in script.steps
        if step.measures is not None
    )


def _score(measure: str, value: object) -> int | None:
    """``value`` as a score on the measure's scale; None when it is not one (an
    answer stored by another script version, or tampered with)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != int(value):
        return None
    low, high = _SCALES[measure]
    return int(value) if low <= value <= high else None


@dataclass(frozen=True, slots=True)
class SurveyCall:
    """One interaction of a survey script, with where it counts."""

    week: date
    queue: str
    agent_id: str
    interaction_id: str
    at: str
    script_id: str
    answers: object
    """The stored answer log (``[{"question", "value", "at"}]``), unchecked."""


def read_survey(
    call: SurveyCall, steps: Iterable[MeasuredStep]
) -> tuple[list[SurveyScore], list[Comment]]:
    """The scores and comments ``call``'s answers hold: per measure the last answer in
    the log to any of its steps, if it is a score on the measure's scale; per comment
    step its last answer, if it is text. The hub's ``careline.report_scores`` reads the
    scores by the same rule."""
    wanted = {s.step_id: s.measure for s in steps if s.script_id == call.script_id}
    last: dict[str, object] = {}
    said: dict[str, object] = {}
    for entry in call.answers if isinstance(call.answers, list) else ():
        question = entry.get("question") if isinstance(entry, Mapping) else None
        if not isinstance(question, str) or question not in wanted:
            continue
        if wanted[question] == "comment":
            said[question] = entry.get("value")
        else:
            last[wanted[question]] = entry.get("value")
    scores: dict[SurveyMeasure, int] = {}
    for measure in ("csat", "nps"):
        if measure in last and (score := _score(measure, last[measure])) is not None:
            scores["csat" if measure == "csat" else "nps"] = score
    survey_scores = [
        SurveyScore(call.week, call.queue, call.agent_id, call.interaction_id, measure, value)
        for measure, value in scores.items()
    ]
    comments = [
        Comment(
            call.week,
            call.queue,
            call.agent_id,
            call.interaction_id,
            call.at,
            text,
            scores.get("csat"),
            scores.get("nps"),
        )
        for text in said.values()
        if isinstance(text, str) and text.strip()
    ]
    return survey_scores, comments
