# SPDX-License-Identifier: GPL-2.0-or-later
"""The wrap-up form: disposition, form fields, notes, follow-up and consent.

:class:`WrapUpForm` shows a :class:`~console.core.scripts.models.Form` as
widgets and reads back what the agent entered, as draft values and as values
for validation; the wrap-up dialog around it owns the clock, the countdown,
saving and skipping. Changes reach the dialog as the ``Changed`` messages of
the inputs, the notes and the :class:`ChoiceBar` widgets, bubbling up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Input, Label, Static, TextArea

from console.core.scripts.forms import FieldError, default_follow_up, validate_form
from console.core.scripts.models import (
    Answer,
    AnswerError,
    ChoiceQuestion,
    Form,
    FormField,
    YesNoQuestion,
)
from console.core.text import safe_text
from console.core.wrap_up import DUE_FORMATS, DueError, format_due_input, parse_due

ChoiceValue = str | bool | None
"""What a :class:`ChoiceBar` holds: an option value, yes/no, or nothing yet."""


def _same(a: ChoiceValue, b: ChoiceValue) -> bool:
    # True == 1 and "1" != 1: compare types too so yes/no never matches anything else.
    return type(a) is type(b) and a == b


class ChoiceBar(Static, can_focus=True):
    """A one-line pick among a few options; Left/Right or Space move the choice."""

    BINDINGS = [
        Binding(
            "right,space",
            "step(1)",
            "Next",
            show=False,
            id="wrap_up.choice.next",
            tooltip="Choose the next option",
        ),
        Binding(
            "left",
            "step(-1)",
            "Previous",
            show=False,
            id="wrap_up.choice.previous",
            tooltip="Choose the previous option",
        ),
    ]

    DEFAULT_CSS = """
    ChoiceBar { width: 1fr; height: auto; }
    ChoiceBar:focus { background: $boost; }
    """

    value: reactive[ChoiceValue] = reactive[ChoiceValue](None, init=False)
    """The chosen option's value; None: nothing chosen yet."""

    class Changed(Message):
        """The choice changed (by key or by the dialog)."""

        def __init__(self, bar: ChoiceBar, value: ChoiceValue) -> None:
            super().__init__()
            self.bar = bar
            """The bar that changed."""
            self.value = value
            """Its new value."""

        @property
        def control(self) -> ChoiceBar:
            """The bar that changed."""
            return self.bar

    def __init__(
        self,
        options: Sequence[tuple[ChoiceValue, str]],
        value: ChoiceValue = None,
        *,
        allow_none: bool = False,
        id: str | None = None,
    ) -> None:
        """``options`` as (value, label); ``allow_none``: stepping can come back to no choice."""
        super().__init__(id=id, markup=False)
        self.options = list(options)
        self.allow_none = allow_none
        self.set_reactive(ChoiceBar.value, value if self.has(value) else None)

    def has(self, value: ChoiceValue) -> bool:
        """Whether ``value`` is one of the options."""
        return any(_same(value, option) for option, _ in self.options)

    def render(self) -> Text:
        """Every option, the chosen one highlighted; labels are literal text."""
        text = Text()
        for index, (value, label) in enumerate(self.options):
            if index:
                text.append("  ")
            chosen = _same(value, self.value)
            text.append(safe_text(label, 40), style="bold reverse" if chosen else "")
        if self.value is None:
            text.append("  (not set)", style="dim italic")
        return text

    def watch_value(self, value: ChoiceValue) -> None:
        """Tell the dialog."""
        self.post_message(self.Changed(self, value))

    def action_step(self, step: int) -> None:
        """Choose the next (1) or previous (-1) option."""
        values: list[ChoiceValue] = [value for value, _ in self.options]
        if self.allow_none:
            values.insert(0, None)
        current = next((i for i, value in enumerate(values) if _same(value, self.value)), None)
        if current is None:
            self.value = values[0] if step > 0 else values[-1]
        else:
            self.value = values[(current + step) % len(values)]


def _input_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_PLACEHOLDERS = {"date": "YYYY-MM-DD", "number": "a number", "text": "type here"}

_ERROR_TARGETS = {
    "disposition": "#disposition",
    "notes": "#notes",
    "feedback_consent": "#consent",
    "follow_up.due": "#due",
    "follow_up.owner": "#owner",
    "follow_up.reason": "#reason",
}
"""The widget to focus for a problem with a field that is not one of the form's own."""


def as_mapping(value: object) -> Mapping[str, Any]:
    """``value`` when it is a mapping (as a draft's parts should be), else an empty one."""
    return value if isinstance(value, Mapping) else {}


def _choice_value(value: object) -> ChoiceValue:
    return value if isinstance(value, str | bool) else None


class WrapUpForm(VerticalScroll):
    """The wrap-up form's widgets, scrolling: disposition, fields, notes, follow-up, consent.

    Built from pre-filled values (the disposition among them) or from a saved
    draft (which wins). A disposition that requires a follow-up shows the
    follow-up; so does a callback the call promised (``follow_up_reason``).
    """

    def __init__(
        self,
        form: Form,
        *,
        values: Mapping[str, Answer] | None,
        notes: str,
        draft: Mapping[str, Any] | None,
        now: datetime,
        tz: tzinfo | None,
        follow_up_reason: str = "",
        id: str | None = None,
    ) -> None:
        """Show ``form`` with ``values`` and ``notes``, or with the form parts of ``draft``.

        ``now`` and ``tz`` place the suggested follow-up's due time;
        ``follow_up_reason``: the follow-up starts on, with this reason (not over a draft).
        """
        super().__init__(id=id)
        self.form = form
        self.tz = tz
        self.hot_keys = {d.key: d.id for d in form.dispositions}
        """Disposition id by its hot key."""
        self._labels = self._error_labels()

        body = as_mapping(draft)
        initial = dict(values or {})
        fields = as_mapping(body.get("fields")) if draft is not None else initial
        self._initial_fields: dict[str, object] = {f.id: fields.get(f.id) for f in form.fields}
        self._initial_notes = str(body.get("notes") or "") if draft is not None else notes
        disposition = body.get("disposition") if draft is not None else initial.get("disposition")
        self._initial_disposition = disposition if isinstance(disposition, str) else None
        consent = (
            body.get("feedback_consent") if draft is not None else initial.get("feedback_consent")
        )
        self._initial_consent = consent if isinstance(consent, bool) else None

        suggested = default_follow_up(form, now)
        follow_up = as_mapping(body.get("follow_up"))
        if draft is None and follow_up_reason and form.follow_up is not None:
            follow_up = {"enabled": True, "reason": follow_up_reason}
        self.follow_up_on = bool(follow_up.get("enabled", False))
        """The follow-up callback is part of the wrap-up (and shown)."""
        self._initial_due = (
            str(follow_up["due"])
            if "due" in follow_up
            else (format_due_input(suggested.due, tz) if suggested else "")
        )
        owner = follow_up.get("owner")
        self._initial_owner = owner if isinstance(owner, str) else None
        if self._initial_owner is None and suggested is not None:
            self._initial_owner = suggested.owner
        self._initial_reason = str(follow_up.get("reason") or "")

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        """Disposition, the form's fields, notes, the follow-up and consent."""
        form = self.form
        with Horizontal(classes="row"):
            yield Label("Disposition", markup=False)
            yield ChoiceBar(
                [(d.id, f"{d.key} {d.label}") for d in form.dispositions],
                self._initial_disposition,
                id="disposition",
            )
        for form_field in form.fields:
            with Horizontal(classes="row"):
                yield Label(safe_text(form_field.label, 17), markup=False)
                yield self._field_widget(form_field)
        yield Label(safe_text(form.notes.label, 40), markup=False)
        yield TextArea(self._initial_notes, id="notes", compact=True)
        if form.follow_up is not None:
            with Vertical(id="follow-up"):
                yield Label("Follow-up (ctrl+f to remove)", id="follow-up-title")
                with Horizontal(classes="row"):
                    yield Label("Due", markup=False)
                    yield Input(self._initial_due, placeholder=DUE_FORMATS, id="due", compact=True)
                with Horizontal(classes="row"):
                    yield Label("Owner", markup=False)
                    yield ChoiceBar(
                        [(owner, owner) for owner in form.follow_up.owners],
                        self._initial_owner,
                        id="owner",
                    )
                with Horizontal(classes="row"):
                    yield Label("Reason", markup=False)
                    yield Input(
                        self._initial_reason,
                        placeholder="why the callback",
                        id="reason",
                        compact=True,
                    )
        if form.feedback_consent is not None:
            with Horizontal(classes="row"):
                yield Label(safe_text(form.feedback_consent.label, 17), markup=False)
                yield ChoiceBar(
                    [(True, "yes"), (False, "no")],
                    self._initial_consent,
                    allow_none=not form.feedback_consent.required,
                    id="consent",
                )

    def _field_widget(self, form_field: FormField) -> Widget:
        question = form_field.input
        value = self._initial_fields.get(form_field.id)
        widget_id = f"field-{form_field.id}"
        if isinstance(question, YesNoQuestion):
            if isinstance(value, str):
                try:
                    value = question.parse(value)
                except AnswerError:
                    value = None
            return ChoiceBar(
                [(True, "yes"), (False, "no")],
                _choice_value(value),
                allow_none=not question.required,
                id=widget_id,
            )
        if isinstance(question, ChoiceQuestion):
            return ChoiceBar(
                [(option.value, option.label) for option in question.options],
                _choice_value(value),
                allow_none=not question.required,
                id=widget_id,
            )
        hint = question.help or _PLACEHOLDERS.get(question.kind, "")
        return Input(_input_text(value), placeholder=hint[:60], id=widget_id, compact=True)

    def _error_labels(self) -> dict[str, str]:
        labels = {
            "disposition": "Disposition",
            "notes": safe_text(self.form.notes.label, 30),
            "follow_up": "Follow-up",
            "follow_up.due": "Follow-up due",
            "follow_up.owner": "Follow-up owner",
            "follow_up.reason": "Follow-up reason",
            "feedback_consent": "Feedback consent",
        }
        labels.update({f.id: safe_text(f.label, 30) for f in self.form.fields})
        return labels

    # ------------------------------------------------------------------ state
    def _field_raw(self, form_field: FormField) -> str | bool | None:
        widget = self.query_one(f"#field-{form_field.id}")
        if isinstance(widget, ChoiceBar):
            return widget.value
        assert isinstance(widget, Input)
        return widget.value

    @property
    def disposition(self) -> str | None:
        """The disposition chosen so far."""
        value = self.query_one("#disposition", ChoiceBar).value
        return value if isinstance(value, str) else None

    @property
    def notes(self) -> str:
        """The notes as typed."""
        return self.query_one("#notes", TextArea).text

    def _follow_up_raw(self) -> dict[str, Any]:
        if self.form.follow_up is None:
            return {}
        owner = self.query_one("#owner", ChoiceBar).value
        return {
            "due": self.query_one("#due", Input).value,
            "owner": owner if isinstance(owner, str) else None,
            "reason": self.query_one("#reason", Input).value,
        }

    @property
    def consent(self) -> bool | None:
        """The feedback consent given so far; None when not given or not asked."""
        if self.form.feedback_consent is None:
            return None
        value = self.query_one("#consent", ChoiceBar).value
        return value if isinstance(value, bool) else None

    def draft_parts(self) -> dict[str, Any]:
        """What is entered so far, as JSON-ready plain values (the form's part of a draft).

        Keys: ``disposition`` (id or None), ``fields`` (field id → text typed,
        or yes/no/choice value), ``notes``, ``follow_up`` (``enabled``, ``due``
        as typed, ``owner``, ``reason``; None when the form has none),
        ``feedback_consent`` (bool or None).
        """
        follow_up: dict[str, Any] | None = None
        if self.form.follow_up is not None:
            follow_up = {"enabled": self.follow_up_on, **self._follow_up_raw()}
        return {
            "disposition": self.disposition,
            "fields": {f.id: self._field_raw(f) for f in self.form.fields},
            "notes": self.notes,
            "follow_up": follow_up,
            "feedback_consent": self.consent,
        }

    def values(self, clock: Callable[[], datetime]) -> tuple[dict[str, object], str | None]:
        """Form values for ``validate_form``, and the due-time error if it cannot be read.

        ``clock`` (the UTC time now) is asked only when a follow-up due time is read.
        """
        values: dict[str, object] = {"disposition": self.disposition, "notes": self.notes}
        for form_field in self.form.fields:
            values[form_field.id] = self._field_raw(form_field)
        consent = self.consent
        if consent is not None:
            values["feedback_consent"] = consent
        due_error = None
        if self.form.follow_up is not None and self.follow_up_on:
            raw = self._follow_up_raw()
            due: datetime | None = None
            try:
                due = parse_due(raw["due"], clock(), self.tz)
            except DueError as exc:
                due_error = str(exc)
            values["follow_up"] = {
                "due": due,
                "owner": raw["owner"],
                "reason": str(raw["reason"]).strip(),
            }
        return values, due_error

    def errors(
        self, values: Mapping[str, object], due_error: str | None, now: datetime
    ) -> list[FieldError]:
        """What is wrong with ``values`` (from :meth:`values`), the due-time error included."""
        errors = validate_form(self.form, values, now=now)
        if due_error is not None:
            errors = [e for e in errors if e.field != "follow_up.due"]
            errors.append(FieldError("follow_up.due", due_error))
        return errors

    def describe(self, errors: Sequence[FieldError]) -> str:
        """The problems as one run of text, each named by its field's label."""
        return "; ".join(f"{self._labels.get(e.field, e.field)}: {e.message}" for e in errors)

    # ---------------------------------------------------------------- changes
    @on(ChoiceBar.Changed)
    def _choice_changed(self, event: ChoiceBar.Changed) -> None:
        # A disposition that needs a callback brings the follow-up up; the
        # message goes on up to the dialog, which then sees it shown.
        if event.bar.id == "disposition" and isinstance(event.value, str):
            try:
                needs = self.form.disposition(event.value).requires_follow_up
            except KeyError:
                needs = False
            if needs and self.form.follow_up is not None and not self.follow_up_on:
                self.show_follow_up(True)

    def show_follow_up(self, on: bool) -> bool:
        """Show (and include) the follow-up or hide it; False when the form has none."""
        if self.form.follow_up is None:
            return False
        self.follow_up_on = on
        self.query_one("#follow-up").display = on
        return True

    def choose(self, disposition_id: str) -> None:
        """Choose a disposition (by its hot key, say)."""
        self.query_one("#disposition", ChoiceBar).value = disposition_id

    def focus_error(self, name: str) -> None:
        """Focus the widget of the field ``name`` names (as :class:`FieldError` does)."""
        selector = _ERROR_TARGETS.get(name, f"#field-{name}")
        if name == "follow_up" and self.form.follow_up is not None:
            selector = "#due"
        matches = self.query(selector)
        if matches:
            matches.first().focus()
