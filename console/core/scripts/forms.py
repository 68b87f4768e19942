# SPDX-License-Identifier: GPL-2.0-or-later
"""Wrap-up forms: choosing one, pre-filling it from the script, validating it.

Form values are a flat mapping: ``"disposition"`` (a disposition id),
``"notes"`` (text), ``"feedback_consent"`` (bool), ``"follow_up"`` (a
:class:`FollowUpTask` or a mapping with ``due``, ``owner`` and ``reason``)
and one entry per form field id. Field values may be raw input (text) or
already parsed; validation parses them the same way a script answer is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo

from console.core.appointment_changes import AppointmentChange
from console.core.records import dataclass
from console.core.scripts.models import (
    Answer,
    AnswerError,
    ChoiceQuestion,
    DateQuestion,
    Form,
    Question,
    TextQuestion,
    YesNoQuestion,
)

REASON_MAX = 200

BOOKING_PREFIX = "booking."
"""``prefill_from: booking.<fact>`` takes a fact of the appointment changed on the call."""


@dataclass(frozen=True)
class BookingFact:
    """A fact of the call's appointment a form field may be pre-filled with."""

    description: str
    """What the value is, for the docs and the checker."""
    fits: tuple[type[Question], ...]
    """The input kinds it can fill (the checker refuses the others)."""


_TEXT: tuple[type[Question], ...] = (TextQuestion,)
_NAMED: tuple[type[Question], ...] = (TextQuestion, ChoiceQuestion)
BOOKING_FACTS: dict[str, BookingFact] = {
    "booking.date": BookingFact("the appointment's day (local)", (DateQuestion, TextQuestion)),
    "booking.time": BookingFact("its start time, HH:MM (local)", _TEXT),
    "booking.id": BookingFact("the EHR's Appointment id", _TEXT),
    "booking.service": BookingFact("the service (appointment type)", _NAMED),
    "booking.clinician": BookingFact("the clinician", _TEXT),
    "booking.location": BookingFact("the location", _TEXT),
    "booking.change": BookingFact("booked, moved or cancelled", _NAMED),
}
"""Every ``booking.<fact>``; each comes from the call's last change to an appointment."""


@dataclass(frozen=True)
class FieldError:
    """A wrap-up value that is missing or wrong."""

    field: str
    """Field id, or ``disposition``, ``notes``, ``feedback_consent``, ``follow_up.due``…"""
    message: str
    """What is wrong, for the agent."""

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class FollowUpTask:
    """A callback to make: when, by whom, why."""

    due: datetime
    """When it is due (timezone-aware)."""
    owner: str
    """One of the form's ``follow_up.owners``."""
    reason: str
    """Why, in a line."""


def select_form(forms: Iterable[Form], script_id: str | None = None) -> Form | None:
    """The form that follows ``script_id``: one listing it, else the default form."""
    fallback = None
    for form in forms:
        if script_id is not None and script_id in form.scripts:
            return form
        if form.default and fallback is None:
            fallback = form
    return fallback


def booking_facts(
    changes: Sequence[AppointmentChange], tz: tzinfo | None = None
) -> dict[str, Answer]:
    """The ``booking.<fact>`` values of the call's last change to an appointment (local
    day and time in ``tz``; None: the machine's zone); empty when it changed none."""
    last = next((c for c in reversed(changes) if c.appointment_id), None)
    if last is None:
        return {}
    facts: dict[str, Answer] = {
        "booking.id": last.appointment_id,
        "booking.change": last.change,
        "booking.service": last.service or None,
        "booking.clinician": last.clinician or None,
        "booking.location": last.location or None,
    }
    if last.start is not None:
        local = last.start.astimezone(tz) if tz is not None else last.start.astimezone()
        facts["booking.date"] = local.date()
        facts["booking.time"] = local.strftime("%H:%M")
    return facts


def prefill(
    form: Form,
    answers: Mapping[str, Answer],
    changes: Sequence[AppointmentChange] = (),
    *,
    tz: tzinfo | None = None,
) -> dict[str, Answer]:
    """Initial form values from script answers (``ScriptRun.answers``) and the call's
    appointment changes, by field id (and ``disposition``).

    A field takes the first of its ``prefill_from`` sources that has a value
    which also fits the field (a script choice the form does not offer is left
    for the agent); ``feedback_consent`` is filled the same way. The disposition
    is the one whose ``prefill_when`` names the call's last appointment change.
    """
    sources: dict[str, Answer] = {**answers, **booking_facts(changes, tz)}
    values: dict[str, Answer] = {}
    for form_field in form.fields:
        for source in form_field.prefill_from:
            if sources.get(source) is None:
                continue
            try:
                values[form_field.id] = form_field.input.parse(sources[source])
            except AnswerError:
                continue
            break
    if changes:
        last = changes[-1].change
        chosen = next((d.id for d in form.dispositions if last in d.prefill_when), None)
        if chosen is not None:
            values["disposition"] = chosen
    consent = form.feedback_consent
    if consent is not None and consent.prefill_from is not None:
        answer = answers.get(consent.prefill_from)
        if isinstance(answer, bool):
            values["feedback_consent"] = answer
    return values


def default_follow_up(form: Form, now: datetime | None = None) -> FollowUpTask | None:
    """A follow-up task with the form's suggested due time and first owner (reason empty)."""
    if form.follow_up is None:
        return None
    now = now or datetime.now(UTC)
    due = now + timedelta(hours=form.follow_up.default_due_hours)
    return FollowUpTask(due, form.follow_up.owners[0], "")


def validate_form(
    form: Form, values: Mapping[str, object], *, now: datetime | None = None
) -> list[FieldError]:
    """Everything missing or wrong in ``values`` for ``form``; empty when it can be saved."""
    now = now or datetime.now(UTC)
    errors: list[FieldError] = []
    disposition_id = values.get("disposition")
    needs_follow_up = False
    if _blank(disposition_id):
        errors.append(FieldError("disposition", "choose a disposition"))
    else:
        try:
            needs_follow_up = form.disposition(str(disposition_id)).requires_follow_up
        except KeyError:
            errors.append(FieldError("disposition", f"unknown disposition {disposition_id!r}"))
    for form_field in form.fields:
        try:
            form_field.input.parse(values.get(form_field.id), today=now.date())
        except AnswerError as exc:
            errors.append(FieldError(form_field.id, str(exc)))
    notes = values.get("notes")
    notes_text = "" if notes is None else str(notes)
    if form.notes.required and not notes_text.strip():
        errors.append(FieldError("notes", "notes are required"))
    elif len(notes_text) > form.notes.max_length:
        errors.append(FieldError("notes", f"at most {form.notes.max_length} characters"))
    consent = form.feedback_consent
    if consent is not None:
        question = YesNoQuestion(kind="yes_no", required=consent.required)
        try:
            question.parse(values.get("feedback_consent"))
        except AnswerError:
            errors.append(FieldError("feedback_consent", "record yes or no"))
    errors += _follow_up_errors(form, values.get("follow_up"), needs_follow_up, now)
    return errors


def _follow_up_errors(form: Form, raw: object, needed: bool, now: datetime) -> list[FieldError]:
    if raw is None:
        return (
            [FieldError("follow_up", "this disposition needs a follow-up task")] if needed else []
        )
    if form.follow_up is None:
        return [FieldError("follow_up", "this form has no follow-up tasks")]
    due: object
    owner: object
    reason: object
    if isinstance(raw, FollowUpTask):
        due, owner, reason = raw.due, raw.owner, raw.reason
    elif isinstance(raw, Mapping):
        due, owner, reason = raw.get("due"), raw.get("owner"), raw.get("reason")
    else:
        return [FieldError("follow_up", "expected a due time, an owner and a reason")]
    errors = []
    if isinstance(due, str):
        try:
            due = datetime.fromisoformat(due)
        except ValueError:
            due = None
    if not isinstance(due, datetime) or due.tzinfo is None:
        errors.append(FieldError("follow_up.due", "enter a due date and time"))
    elif due <= now:
        errors.append(FieldError("follow_up.due", "the due time must be in the future"))
    elif due > now + timedelta(days=form.follow_up.max_due_days):
        days = form.follow_up.max_due_days
        errors.append(FieldError("follow_up.due", f"the due time must be within {days} days"))
    if owner not in form.follow_up.owners:
        errors.append(
            FieldError("follow_up.owner", "choose one of: " + ", ".join(form.follow_up.owners))
        )
    if _blank(reason):
        errors.append(FieldError("follow_up.reason", "give a reason"))
    elif len(str(reason)) > REASON_MAX:
        errors.append(FieldError("follow_up.reason", f"at most {REASON_MAX} characters"))
    return errors


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
