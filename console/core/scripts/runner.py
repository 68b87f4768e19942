# SPDX-License-Identifier: GPL-2.0-or-later
"""Running a call script during a call: the state behind the guidance pane.

A :class:`ScriptRun` walks one script for one call. The agent answers the
current step (one key: :meth:`ScriptRun.answer`), goes back to revise
(:meth:`ScriptRun.back`), and sees where they are (:attr:`ScriptRun.progress`).
Every answer is recorded with a UTC timestamp, also the ones later revised,
so the interaction keeps what was said. Red-flag rules are checked after
every answer; a red flag raises the urgency at once, and urgency is never
lowered — not by going back, not by switching scripts.

Plain Python on purpose: the UI shows this state, the store persists
:meth:`ScriptRun.to_record`, and tests drive it without a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from console.core.records import dataclass
from console.core.scripts.models import (
    Answer,
    AnswerError,
    RedFlagRule,
    Script,
    Step,
    TransferKind,
    Urgency,
)
from console.core.scripts.placeholders import ANSWER_PREFIX, render


def utc_now() -> datetime:
    """The current time in UTC (the clock a run uses unless given another)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class AnswerRecord:
    """One answer as given, with when; revised answers stay in the log."""

    step_id: str
    """The step answered."""
    value: Answer
    """The parsed answer (None for a step without a question, or a skipped optional one)."""
    at: datetime
    """When it was given (UTC)."""


@dataclass(frozen=True)
class RaisedRedFlag:
    """A red flag raised during the call: what the banner shows."""

    rule: RedFlagRule
    """The rule that matched."""
    step_id: str
    """The step whose answer raised it."""
    at: datetime
    """When (UTC)."""
    instruction: str
    """What the agent must do now, placeholders filled (plain text)."""
    say: str
    """What to tell the caller, placeholders filled (plain text; may be empty)."""

    @property
    def title(self) -> str:
        """Banner headline."""
        return self.rule.title

    @property
    def transfer(self) -> TransferKind:
        """Who to transfer to: emergency, nurse or crisis."""
        return self.rule.transfer

    @property
    def urgency(self) -> Urgency:
        """The urgency this red flag calls for."""
        return self.rule.urgency


@dataclass(frozen=True)
class Progress:
    """Where the agent is: step ``position`` of about ``total``."""

    position: int
    """1-based number of the current step along the path taken."""
    total: int
    """Steps on the path so far plus the longest way from here to an end (an estimate)."""
    finished: bool
    """The script has ended."""

    @property
    def fraction(self) -> float:
        """0.0 at the first step, 1.0 when finished."""
        if self.finished:
            return 1.0
        return (self.position - 1) / self.total if self.total else 0.0

    def __str__(self) -> str:
        return "done" if self.finished else f"step {self.position} of ~{self.total}"


@dataclass(frozen=True)
class Outcome:
    """What happened after an answer."""

    step: Step | None
    """The new current step; None when the script has ended."""
    red_flags: tuple[RaisedRedFlag, ...]
    """Red flags this answer raised (show the banner at once when not empty)."""

    @property
    def finished(self) -> bool:
        """The script has ended."""
        return self.step is None


@dataclass
class _Visit:
    step_id: str
    answered: bool = False
    value: Answer = None


class ScriptRun:
    """One script being run for one call.

    ``context`` holds the placeholder values (``"patient.first_name"``,
    ``"org.emergency_number"``…; see
    :data:`console.core.scripts.placeholders.PLACEHOLDERS`); missing ones
    read as neutral words. ``urgency`` and ``red_flags`` carry over from a
    previous run of the same call (see :meth:`switch_to`).
    """

    def __init__(
        self,
        script: Script,
        context: Mapping[str, object] | None = None,
        *,
        urgency: Urgency = Urgency.ROUTINE,
        red_flags: Iterable[RaisedRedFlag] = (),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.script = script
        """The script being run."""
        self.context: dict[str, object] = dict(context or {})
        """Placeholder values for this call."""
        self._clock = clock
        self._urgency = urgency
        self._red_flags = list(red_flags)
        self._visits = [_Visit(script.start_id)]
        self._log: list[AnswerRecord] = []
        self._finished = False
        self.started_at = clock()
        """When the run started (UTC)."""
        self._longest: dict[str, int] = {}

    # -- where we are -----------------------------------------------------------

    @property
    def current(self) -> Step:
        """The step shown now (the last step once the script has ended)."""
        return self.script.step(self._visits[-1].step_id)

    @property
    def finished(self) -> bool:
        """The script has ended; :meth:`back` reopens its last step."""
        return self._finished

    @property
    def path(self) -> tuple[str, ...]:
        """Ids of the steps visited to get here, the current one last."""
        return tuple(visit.step_id for visit in self._visits)

    @property
    def can_go_back(self) -> bool:
        """:meth:`back` would do something."""
        return self._finished or len(self._visits) > 1

    @property
    def current_answer(self) -> Answer:
        """The answer the current step had before the agent went back to it (to edit)."""
        return self._visits[-1].value

    @property
    def progress(self) -> Progress:
        """Step n of about m, along the path taken plus the longest way on."""
        position = len(self._visits)
        if self._finished:
            return Progress(position, position, True)
        return Progress(position, position - 1 + self._longest_from(self.current.id), False)

    # -- what to say ------------------------------------------------------------

    def text(self, template: str) -> str:
        """``template`` with placeholders filled from the context and answers (plain text)."""
        values: dict[str, object] = dict(self.context)
        for step_id, value in self.answers.items():
            values[ANSWER_PREFIX + step_id] = value
        return render(template, values)

    def say(self) -> str:
        """What the agent says at the current step (plain text)."""
        return self.text(self.current.say)

    def note(self) -> str:
        """Agent-only guidance at the current step (plain text)."""
        return self.text(self.current.note)

    # -- answers ----------------------------------------------------------------

    @property
    def answers(self) -> dict[str, Answer]:
        """Answers on the path taken, by step id (questions only; the latest visit wins)."""
        asked = {step.id for step in self.script.steps if step.question is not None}
        return {v.step_id: v.value for v in self._visits if v.answered and v.step_id in asked}

    @property
    def log(self) -> tuple[AnswerRecord, ...]:
        """Every answer given, in order, including ones later revised."""
        return tuple(self._log)

    def answer(self, raw: object = None, *, today: date | None = None) -> Outcome:
        """Answer the current step and advance.

        ``raw`` is what the agent entered (text, a bool, a number, a date);
        a step without a question takes None ("done, next"). Raises
        :class:`AnswerError` with a message for the agent when the answer
        does not fit, or when the script has already ended.
        """
        if self._finished:
            raise AnswerError("the script has ended; go back to change an answer")
        step = self.current
        value = step.question.parse(raw, today=today) if step.question is not None else None
        at = self._clock()
        visit = self._visits[-1]
        visit.answered, visit.value = True, value
        self._log.append(AnswerRecord(step.id, value, at))
        raised = self._check_red_flags(step, value, at)
        following = self._next(step, value, raised)
        if following is None:
            self._finished = True
            return Outcome(None, raised)
        self._visits.append(_Visit(following))
        return Outcome(self.current, raised)

    def back(self) -> bool:
        """Go back one step to revise it; False when already at the start.

        The revised step's earlier answer stays available as
        :attr:`current_answer`. Red flags and urgency stay as they are.
        """
        if self._finished:
            self._finished = False
        elif len(self._visits) > 1:
            self._visits.pop()
        else:
            return False
        self._visits[-1].answered = False
        return True

    def _next(self, step: Step, value: Answer, raised: tuple[RaisedRedFlag, ...]) -> str | None:
        for flag in raised:
            if flag.rule.goto is not None:
                return flag.rule.goto
        answers = self.answers
        for branch in step.branches:
            asked = branch.when.question
            subject = value if asked in (None, step.id) else answers.get(asked or step.id)
            if branch.when.matches(subject):
                return branch.goto
        return self.script.default_next(step)

    # -- red flags and urgency --------------------------------------------------

    @property
    def red_flags(self) -> tuple[RaisedRedFlag, ...]:
        """Red flags raised so far, oldest first."""
        return tuple(self._red_flags)

    @property
    def urgency(self) -> Urgency:
        """The interaction's urgency: routine, urgent or emergency."""
        return self._urgency

    def raise_urgency(self, level: Urgency) -> Urgency:
        """Raise the urgency to ``level`` (a lower level changes nothing); the new urgency."""
        self._urgency = self._urgency.raised_to(level)
        return self._urgency

    def _check_red_flags(
        self, step: Step, value: Answer, at: datetime
    ) -> tuple[RaisedRedFlag, ...]:
        already = {flag.rule.id for flag in self._red_flags}
        raised = []
        for rule in self.script.red_flags:
            if rule.id in already:
                continue
            if any(c.question == step.id and c.matches(value) for c in rule.when):
                flag = RaisedRedFlag(
                    rule, step.id, at, self.text(rule.instruction), self.text(rule.say)
                )
                raised.append(flag)
                self._red_flags.append(flag)
                self.raise_urgency(rule.urgency)
        return tuple(raised)

    # -- switching and recording ------------------------------------------------

    def switch_to(self, script: Script) -> ScriptRun:
        """A run of ``script`` for the same call, keeping urgency and red flags."""
        return ScriptRun(
            script,
            self.context,
            urgency=self._urgency,
            red_flags=self._red_flags,
            clock=self._clock,
        )

    def to_record(self) -> dict[str, Any]:
        """This run as plain JSON-ready values, for the interaction store."""
        return {
            "script_id": self.script.id,
            "script_version": self.script.version,
            "started_at": self.started_at.isoformat(),
            "path": list(self.path),
            "finished": self._finished,
            "urgency": self._urgency.value,
            "answers": {k: _plain(v) for k, v in self.answers.items()},
            "log": [
                {"step_id": r.step_id, "value": _plain(r.value), "at": r.at.isoformat()}
                for r in self._log
            ],
            "red_flags": [
                {
                    "id": f.rule.id,
                    "title": f.title,
                    "step_id": f.step_id,
                    "transfer": f.transfer.value,
                    "urgency": f.urgency.value,
                    "at": f.at.isoformat(),
                }
                for f in self._red_flags
            ],
        }

    def _longest_from(self, step_id: str) -> int:
        """Steps on the longest loop-free way from ``step_id`` to an end, itself included."""
        if step_id not in self._longest:
            self._longest_walk(step_id, set())
        return self._longest.get(step_id, 1)

    def _longest_walk(self, step_id: str, on_stack: set[str]) -> int:
        if step_id in self._longest:
            return self._longest[step_id]
        on_stack.add(step_id)
        best = 0
        for target in self.script.successors(self.script.step(step_id)):
            if target not in on_stack:  # a loop back does not make the way longer
                best = max(best, self._longest_walk(target, on_stack))
        on_stack.discard(step_id)
        self._longest[step_id] = best + 1
        return best + 1


def _plain(value: Answer) -> bool | int | float | str | None:
    return value.isoformat() if isinstance(value, date) else value


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def select_script(
    scripts: Iterable[Script],
    *,
    queue: str | None = None,
    did: str | None = None,
    language: str | None = None,
) -> Script | None:
    """The script for a call: matched by DID, then queue, else the default script.

    A DID match beats a queue match; among equals, one in the caller's
    ``language`` (primary subtag: ``es-MX`` matches ``es``) wins, then the
    first in library order. With no match the library's ``default: true``
    script is used (in the shipped library: ``general-information``); None
    when there is none either. The agent can always switch to another.
    """
    wanted = (language or "").split("-")[0].casefold()
    best: tuple[int, Script] | None = None
    for script in scripts:
        score = 0
        if did and _digits(did) and _digits(did) in {_digits(d) for d in script.applies_to.dids}:
            score += 40
        if queue and queue.casefold() in {q.casefold() for q in script.applies_to.queues}:
            score += 20
        if score == 0 and script.default:
            score = 10
        if score == 0:
            continue
        if wanted and wanted in {lang.split("-")[0].casefold() for lang in script.languages}:
            score += 1  # language only breaks ties: a DID match always beats a queue match
        if best is None or score > best[0]:
            best = (score, script)
    return None if best is None else best[1]
