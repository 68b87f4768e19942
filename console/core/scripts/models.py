# SPDX-License-Identifier: GPL-2.0-or-later
"""Typed models of call scripts and wrap-up forms (the YAML in ``scripts_library/``).

Every model forbids unknown fields, so a misspelt key is an error with its
line rather than a silently ignored instruction. The format is documented,
field by field, in ``docs/scripts.md``. Graph rules that span several fields
(targets exist, every step is reachable, loops have an exit, placeholders
are known) are the checker's job (:mod:`console.core.scripts.checker`), so
that one file yields every problem at once instead of the first only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from console.core.appointment_changes import ChangeKind
from console.core.schema import BeforeValidator, Field, model_validator
from console.core.scripts.questions import (
    Answer,
    AnswerError,
    ChoiceOption,
    ChoiceQuestion,
    DateQuestion,
    DocumentId,
    FrozenModel,
    Line,
    NumberQuestion,
    Question,
    Scalar,
    StepId,
    TextQuestion,
    YesNoQuestion,
)


class Urgency(StrEnum):
    """How urgent an interaction is; it can be raised, never lowered."""

    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        """0 for routine, 1 for urgent, 2 for emergency."""
        return _URGENCY_ORDER.index(self)

    def raised_to(self, other: Urgency) -> Urgency:
        """The higher of this urgency and ``other``: urgency never goes down."""
        return other if other.rank > self.rank else self


_URGENCY_ORDER = (Urgency.ROUTINE, Urgency.URGENT, Urgency.EMERGENCY)


class TransferKind(StrEnum):
    """Who a red flag sends the caller to."""

    EMERGENCY = "emergency"
    NURSE = "nurse"
    CRISIS = "crisis"


class Condition(FrozenModel):
    """A test on an answer: ``equals``, ``one_of``, or a number range."""

    question: StepId | None = None
    """Step whose answer is tested; in a branch it defaults to the branch's own step."""
    equals: Scalar | None = None
    """The answer is exactly this (yes/no answers compare with true/false)."""
    one_of: list[Scalar] | None = None
    """The answer is one of these."""
    at_least: float | None = None
    """A number answer is this or more."""
    at_most: float | None = None
    """A number answer is this or less."""

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [self.equals is not None, self.one_of is not None]
        if sum(tests) > 1:
            raise ValueError("use either equals or one_of, not both")
        if not any(tests) and self.at_least is None and self.at_most is None:
            raise ValueError("a condition needs equals, one_of, at_least or at_most")
        if any(tests) and (self.at_least is not None or self.at_most is not None):
            raise ValueError("at_least/at_most cannot be combined with equals or one_of")
        return self

    def matches(self, answer: Answer) -> bool:
        """Whether ``answer`` passes this test (an unanswered question never does)."""
        if answer is None:
            return False
        if self.equals is not None:
            return _same(answer, self.equals)
        if self.one_of is not None:
            return any(_same(answer, expected) for expected in self.one_of)
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            return False
        if self.at_least is not None and answer < self.at_least:
            return False
        return not (self.at_most is not None and answer > self.at_most)


def _same(answer: Answer, expected: Scalar) -> bool:
    # True == 1 in Python; a yes/no answer must not match a number or vice versa.
    if isinstance(answer, bool) or isinstance(expected, bool):
        return isinstance(answer, bool) and isinstance(expected, bool) and answer is expected
    if isinstance(answer, str) or isinstance(expected, str):
        return str(answer) == str(expected)
    return answer == expected


class Branch(FrozenModel):
    """Go to another step when the answer matches."""

    when: Condition
    """The test; the first branch that matches wins."""
    goto: StepId
    """Step to go to."""


class RedFlagRule(FrozenModel):
    """An answer that means the caller may be in danger: escalate at once."""

    id: StepId
    """Rule id, recorded with the interaction."""
    title: Line
    """Banner headline, e.g. "Possible stroke (FAST)"."""
    when: Annotated[list[Condition], Field(min_length=1)]
    """Raised when any of these matches; each names its ``question``."""
    urgency: Urgency = Urgency.EMERGENCY
    """What the interaction's urgency is raised to: ``urgent`` or ``emergency``."""
    transfer: TransferKind
    """Who to transfer to: emergency, nurse or crisis."""
    instruction: Annotated[str, Field(min_length=1, max_length=1000)]
    """What the agent must do now; placeholders allowed, e.g. ``{org.emergency_number}``."""
    say: Annotated[str, Field(max_length=1000)] = ""
    """What to tell the caller, word for word."""
    goto: StepId | None = None
    """Step the script continues at (e.g. a closing step); None: carry on as normal."""

    @model_validator(mode="after")
    def _questions_named(self) -> RedFlagRule:
        if self.urgency is Urgency.ROUTINE:
            raise ValueError("a red flag raises urgency to urgent or emergency, not routine")
        if any(condition.question is None for condition in self.when):
            raise ValueError("every condition of a red flag must name its question")
        return self


Measure = Literal["csat", "nps", "comment"]
"""What a survey step's answer measures: satisfaction 1-5, likelihood to recommend
0-10, or a free-text comment."""

_SCALES: dict[str, tuple[int, int]] = {"csat": (1, 5), "nps": (0, 10)}


def _check_measure(measure: str, question: Question | None) -> None:
    """A measured step asks exactly the scale its measure is read on."""
    if measure == "comment":
        if not isinstance(question, TextQuestion):
            raise ValueError("measures: comment needs a text question")
        return
    low, high = _SCALES[measure]
    if not (
        isinstance(question, NumberQuestion)
        and question.integer
        and question.minimum == low
        and question.maximum == high
    ):
        raise ValueError(
            f"measures: {measure} needs a whole-number question from {low} to {high} "
            f"(kind: number, minimum: {low}, maximum: {high}, integer: true)"
        )


class Step(FrozenModel):
    """One step of a script: what to say, at most one question, where to go next."""

    id: StepId
    """Step id, unique in the script; answers are recorded under it."""
    title: Line = ""
    """Short name for the outline and progress, e.g. "Confirm identity"."""
    say: Annotated[str, Field(max_length=2000)] = ""
    """What the agent says, with placeholders such as ``{patient.first_name}``."""
    note: Annotated[str, Field(max_length=2000)] = ""
    """Guidance for the agent only (not to be read out)."""
    question: Question | None = None
    """The question asked at this step; None: the agent just acknowledges and moves on."""
    branches: list[Branch] = []
    """Tested in order after the answer; the first match decides the next step."""
    next: StepId | None = None
    """Next step when no branch matches; default: the following step in the list."""
    end: bool = False
    """The script ends after this step (the last step in the list ends anyway)."""
    measures: Measure | None = None
    """What the answer measures for the quality reports (``careline report``): ``csat``
    (a whole number 1..5), ``nps`` (a whole number 0..10) or ``comment`` (text)."""

    @model_validator(mode="after")
    def _end_is_final(self) -> Step:
        if self.end and (self.next is not None or self.branches):
            raise ValueError("an end step cannot have next or branches")
        if self.branches and self.question is None:
            raise ValueError("branches need a question on the step")
        if self.measures is not None:
            _check_measure(self.measures, self.question)
        return self


class AppliesTo(FrozenModel):
    """Which calls a script or form is chosen for."""

    queues: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    """Queue names (X-Queue header or called user), e.g. ``appointments``."""
    dids: list[Annotated[str, Field(pattern=r"^\+?[0-9]{2,15}$")]] = []
    """Dialled numbers (E.164 or extension) the call came in on."""


class _LibraryDocument(FrozenModel):
    """What every library document starts with: kind, id, title, version, description."""

    kind: str
    """Document kind: ``script``, ``form`` or ``preparation`` (each narrows it to its own)."""
    id: DocumentId
    """Unique in the library among documents of its kind, e.g. ``appointment-scheduling``."""
    title: Line
    """Name the agent picks a script by; heading of a form's wrap-up screen."""
    version: Annotated[int, Field(ge=1)]
    """Raise it when the wording changes; recorded with every answer and wrap-up."""
    description: Annotated[str, Field(max_length=1000)] = ""
    """What the document is for."""


class Script(_LibraryDocument):
    """A call script: metadata, steps and red-flag rules."""

    kind: Literal["script"]
    """Document kind: ``script``."""
    applies_to: AppliesTo = AppliesTo()
    """Queues and DIDs it is chosen for automatically."""
    languages: Annotated[
        list[Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]],
        Field(min_length=1),
    ] = ["en"]
    """Languages the wording is in (BCP 47 codes such as ``en`` or ``es``)."""
    default: bool = False
    """Chosen when no script matches the call (at most one script in a library)."""
    start: StepId | None = None
    """First step; default: the first in ``steps``."""
    steps: Annotated[list[Step], Field(min_length=1)]
    """The steps."""
    red_flags: list[RedFlagRule] = []
    """Rules checked after every answer."""

    @property
    def start_id(self) -> str:
        """The id of the first step."""
        return self.start or self.steps[0].id

    def step(self, step_id: str) -> Step:
        """The step called ``step_id``; raises KeyError."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def successors(self, step: Step) -> list[str]:
        """Every step ``step`` can lead to (branches, next, red-flag jumps), in order."""
        if step.end:
            targets: list[str] = []
        else:
            targets = [branch.goto for branch in step.branches]
            following = self.default_next(step)
            if following is not None:
                targets.append(following)
        for rule in self.red_flags:
            if rule.goto is not None and any(c.question == step.id for c in rule.when):
                targets.append(rule.goto)
        return list(dict.fromkeys(targets))

    def default_next(self, step: Step) -> str | None:
        """Where ``step`` goes when no branch matches; None when it ends the script."""
        if step.end:
            return None
        if step.next is not None:
            return step.next
        index = self.steps.index(step)
        return self.steps[index + 1].id if index + 1 < len(self.steps) else None


class Disposition(FrozenModel):
    """How the call ended, picked with one key on the wrap-up screen."""

    id: StepId
    """Stored value, e.g. ``appointment_booked``."""
    label: Line
    """What the agent sees."""
    key: Annotated[str, Field(pattern=r"^[a-z0-9]$")]
    """Hot key: one lower-case letter or digit, unique in the form."""
    requires_follow_up: bool = False
    """A follow-up task must be filled in with this disposition."""
    prefill_when: list[ChangeKind] = []
    """Chosen at the start of the wrap-up when the call's last appointment change was one
    of these (``booked``, ``moved``, ``cancelled``, ``book_later``); the agent can change it."""


def _one_or_more(value: object) -> object:
    """``prefill_from: step`` is short for ``prefill_from: [step]``."""
    return [value] if isinstance(value, str) else value


PrefillSource = Annotated[str, Field(pattern=r"^(booking\.)?[a-z][a-z0-9_]*$", max_length=64)]
"""Where a form field's first value comes from: a script step id, or ``booking.<fact>``."""


class FormField(FrozenModel):
    """A field of a wrap-up form."""

    id: StepId
    """Field id (not ``disposition``, ``notes``, ``follow_up`` or ``feedback_consent``)."""
    label: Line
    """What the agent sees."""
    input: Question
    """The kind of value and its validation (same kinds as script questions)."""
    prefill_from: Annotated[list[PrefillSource], BeforeValidator(_one_or_more)] = []
    """Where the field's first value comes from: a script step id (its answer), or a
    fact of the appointment changed on the call (``booking.date``, ``booking.id``…, see
    :data:`console.core.scripts.forms.BOOKING_FACTS`); a list: the first with a value."""


class NotesSpec(FrozenModel):
    """The free-text notes box."""

    label: Line = "Notes"
    """What the agent sees."""
    required: bool = False
    """Notes must not be empty."""
    max_length: Annotated[int, Field(ge=1, le=20000)] = 4000
    """Most characters accepted."""


class FollowUpSpec(FrozenModel):
    """A follow-up task: a callback with a due time, an owner and a reason."""

    owners: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1)]
    """Who can own the task, e.g. ``me``, ``team``, ``nurse``; the first is the default."""
    default_due_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 24
    """Due time suggested, in hours from the end of the call."""
    max_due_days: Annotated[int, Field(ge=1, le=365)] = 30
    """A due time further out than this is refused (likely a typo)."""


class FeedbackConsentSpec(FrozenModel):
    """Whether the caller agreed to a post-call feedback survey."""

    label: Line = "Caller agrees to a feedback survey"
    """What the agent sees."""
    required: bool = True
    """A yes or no must be recorded."""
    prefill_from: StepId | None = None
    """Id of the script step whose yes/no answer pre-fills it."""


class Form(_LibraryDocument):
    """A wrap-up form filled in after the call."""

    kind: Literal["form"]
    """Document kind: ``form``."""
    scripts: list[DocumentId] = []
    """Scripts this form follows; empty with ``default: true``: every other script."""
    default: bool = False
    """Used when no form lists the call's script (at most one form in a library)."""
    dispositions: Annotated[list[Disposition], Field(min_length=1, max_length=10)]
    """How the call ended; keep the list short."""
    fields: list[FormField] = []
    """Further fields."""
    notes: NotesSpec = NotesSpec()
    """The notes box."""
    follow_up: FollowUpSpec | None = None
    """Follow-up tasks; None: the form has none."""
    feedback_consent: FeedbackConsentSpec | None = None
    """Feedback consent; None: not asked."""

    def disposition(self, disposition_id: str) -> Disposition:
        """The disposition called ``disposition_id``; raises KeyError."""
        for disposition in self.dispositions:
            if disposition.id == disposition_id:
                return disposition
        raise KeyError(disposition_id)


class Preparation(_LibraryDocument):
    """What a patient must do before an appointment of some types: read out after a booking."""

    kind: Literal["preparation"]
    """Document kind: ``preparation``."""
    services: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    """The services (appointment types) it is for, as the EHR names them (case is ignored)."""
    default: bool = False
    """Used after a booking whose service no preparation lists (at most one in a library)."""
    say: Annotated[str, Field(max_length=1000)] = ""
    """An opening sentence; placeholders allowed, e.g. ``{appointment.date}``."""
    fasting: Annotated[str, Field(max_length=1000)] = ""
    """Eating and drinking before the appointment."""
    documents: Annotated[str, Field(max_length=1000)] = ""
    """What to bring."""
    arrival: Annotated[str, Field(max_length=1000)] = ""
    """When to arrive and what to expect, e.g. "Please arrive by {appointment.arrive_by}"."""
    arrive_minutes_before: Annotated[int, Field(ge=0, le=240)] = 15
    """How early to arrive: ``{appointment.arrive_by}`` is the start minus this."""
    note: Annotated[str, Field(max_length=1000)] = ""
    """Guidance for the agent only (not to be read out)."""

    @model_validator(mode="after")
    def _something_to_say(self) -> Preparation:
        if not (self.say or self.fasting or self.documents or self.arrival):
            raise ValueError("a preparation needs say, fasting, documents or arrival")
        if not self.services and not self.default:
            raise ValueError("a preparation needs services, or default: true")
        return self

    def parts(self) -> tuple[tuple[str, str], ...]:
        """(heading, template) of each part to read out, in order; empty parts left out."""
        named = (
            ("", self.say),
            ("Fasting", self.fasting),
            ("Bring", self.documents),
            ("Arrival", self.arrival),
        )
        return tuple((heading, text) for heading, text in named if text)


Document = Script | Form | Preparation
"""A parsed YAML file of the library."""


__all__ = [
    "Answer",
    "AnswerError",
    "AppliesTo",
    "Branch",
    "ChoiceOption",
    "ChoiceQuestion",
    "Condition",
    "DateQuestion",
    "Disposition",
    "Document",
    "DocumentId",
    "FeedbackConsentSpec",
    "FollowUpSpec",
    "Form",
    "FormField",
    "Line",
    "NotesSpec",
    "NumberQuestion",
    "PrefillSource",
    "Preparation",
    "Question",
    "RedFlagRule",
    "Scalar",
    "Script",
    "Step",
    "StepId",
    "TextQuestion",
    "TransferKind",
    "Urgency",
    "YesNoQuestion",
]
