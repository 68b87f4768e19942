"""Wrap-up forms: choosing one, pre-filling it from the script, validating it.

Form values are a flat mapping: ``"disposition"`` (a disposition id),
``"notes"`` (text), ``"feedback_consent"`` (bool), ``"follow_up"`` (a
:class:`FollowUpTask` or a mapping with ``due``, ``owner`` and ``reason``)
and one entry per form field id. Field values may be raw input (text) or
already parsed; validation parses them the same way a script answer is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from console.core.scripts.models import Answer, AnswerError, Form, YesNoQuestion

REASON_MAX = 200


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


def prefill(form: Form, answers: Mapping[str, Answer]) -> dict[str, Answer]:
    """Initial form values from script answers (``ScriptRun.answers``), by field id.

    A field is filled only when the step it names was answered and the
    answer also fits the field (a script choice the form does not offer is
    left for the agent). ``feedback_consent`` is filled the same way.
    """
    values: dict[str, Answer] = {}
    for form_field in form.fields:
        source = form_field.prefill_from
        if source is None or answers.get(source) is None:
            continue
        try:
            values[form_field.id] = form_field.input.parse(answers[source])
        except AnswerError:
            continue
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
