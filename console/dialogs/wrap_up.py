"""After-call work: disposition, form fields, notes, follow-up and consent, against the clock.

The dialog never loses work: every change is handed to ``on_change`` as a
JSON-ready draft body (see :meth:`WrapUpDialog.draft_body`) that the caller
saves durably, and a dialog built with that body as ``draft`` shows exactly
the same wrap-up again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Label, Static, TextArea

from console.core.scripts.forms import FieldError, FollowUpTask, default_follow_up, validate_form
from console.core.scripts.models import (
    Answer,
    AnswerError,
    ChoiceQuestion,
    Form,
    FormField,
    YesNoQuestion,
)
from console.core.text import safe_text
from console.core.wrap_up import DUE_FORMATS, DueError, WrapUpResult, format_due_input, parse_due

WrapUpMode = Literal["optional", "mandatory", "timed"]
"""``optional``: Esc skips; ``mandatory``: a disposition is needed; ``timed``: and a deadline."""

DRAFT_SCHEMA = 1
"""The ``schema`` number of draft bodies, for telling old shapes apart later."""

MANDATORY_MESSAGE = "A disposition is required before the next call."
"""Shown when Esc is pressed and the wrap-up cannot be skipped."""

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


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    # The countdown alone is no change worth a durable write.
    return {**body, "remaining_seconds": None}


_PLACEHOLDERS = {"date": "YYYY-MM-DD", "number": "a number", "text": "type here"}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _choice_value(value: object) -> ChoiceValue:
    return value if isinstance(value, str | bool) else None


class WrapUpDialog(ModalScreen[WrapUpResult | None]):
    """The wrap-up form: a disposition by its hot key, fields, notes, follow-up, consent.

    Ctrl+S (or Enter outside a text box) saves when the form is valid. In
    ``timed`` mode a countdown runs and, at zero, what has been entered so far
    is handed back with ``expired=True``. Dismisses with a
    :class:`~console.core.wrap_up.WrapUpResult`, or None when skipped (Esc,
    ``optional`` mode only).
    """

    BINDINGS = [
        Binding(
            "ctrl+s", "save", "Save", priority=True, id="wrap_up.save", tooltip="Save the wrap-up"
        ),
        Binding(
            "enter",
            "save",
            "Save",
            show=False,
            id="wrap_up.save_enter",
            tooltip="Save the wrap-up (outside a text box)",
        ),
        Binding(
            "ctrl+f",
            "toggle_follow_up",
            "Follow-up",
            priority=True,
            id="wrap_up.follow_up",
            tooltip="Add or remove a follow-up callback",
        ),
        Binding(
            "ctrl+e",
            "extend",
            "More time",
            priority=True,
            id="wrap_up.extend",
            tooltip="Ask once for more wrap-up time (a reason is needed)",
        ),
        Binding("escape", "cancel", "Skip", id="wrap_up.cancel", tooltip="Skip the wrap-up"),
    ]

    DEFAULT_CSS = """
    WrapUpDialog { align: center middle; }
    WrapUpDialog > Vertical {
        width: 80; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    WrapUpDialog #header { height: 1; }
    WrapUpDialog #title { width: 1fr; text-style: bold; }
    WrapUpDialog #countdown { width: auto; color: $warning; text-style: bold; }
    WrapUpDialog #body { height: auto; max-height: 60vh; }
    WrapUpDialog .row { height: auto; }
    WrapUpDialog .row > Label { width: 18; color: $text-muted; }
    WrapUpDialog .row > Input { width: 1fr; }
    WrapUpDialog #notes { height: 4; }
    WrapUpDialog #follow-up-title { color: $text-muted; text-style: bold; }
    WrapUpDialog #message { width: 100%; color: $error; height: auto; max-height: 3; }
    WrapUpDialog .hint { width: 100%; color: $text-muted; }
    """

    def __init__(
        self,
        *,
        form: Form,
        title: str,
        values: Mapping[str, Answer] | None = None,
        notes: str = "",
        mode: WrapUpMode = "optional",
        seconds: int = 120,
        extension_seconds: int = 60,
        default_disposition: str = "",
        draft: Mapping[str, Any] | None = None,
        on_change: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], datetime] | None = None,
        tz: tzinfo | None = None,
    ) -> None:
        """Build the wrap-up for ``form``.

        ``values``: pre-filled field values (``prefill()``); ``notes``: notes from
        the call; ``draft``: a body from ``on_change`` to restore instead (it wins
        over ``values`` and ``notes``); ``clock``: the UTC time now; ``tz``: the
        zone due times are typed and shown in (None: the machine's).
        """
        super().__init__()
        self.form = form
        self.title_text = safe_text(title, 70)
        self.mode: WrapUpMode = mode
        self.extension_seconds = extension_seconds
        self.default_disposition = default_disposition
        self.on_change = on_change
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.tz = tz
        self._dismissed = False
        self._ready = False
        self._last_body: dict[str, Any] | None = None
        self._hot_keys = {d.key: d.id for d in form.dispositions}
        self._labels = self._error_labels()
        now = self.clock()

        body = _mapping(draft)
        initial = dict(values or {})
        fields = _mapping(body.get("fields")) if draft is not None else initial
        self._initial_fields: dict[str, object] = {f.id: fields.get(f.id) for f in form.fields}
        self._initial_notes = str(body.get("notes") or "") if draft is not None else notes
        disposition = body.get("disposition")
        self._initial_disposition = disposition if isinstance(disposition, str) else None
        consent = (
            body.get("feedback_consent") if draft is not None else initial.get("feedback_consent")
        )
        self._initial_consent = consent if isinstance(consent, bool) else None

        suggested = default_follow_up(form, now)
        follow_up = _mapping(body.get("follow_up"))
        self._follow_up_on = bool(follow_up.get("enabled", False))
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

        self.extended = bool(body.get("extended", False))
        """The one extension has been used."""
        reason = body.get("extension_reason")
        self.extension_reason: str | None = reason if isinstance(reason, str) else None
        """Why the agent asked for more time."""
        remaining = body.get("remaining_seconds")
        if not isinstance(remaining, int) or isinstance(remaining, bool):
            remaining = seconds
        self.deadline: datetime | None = (
            now + timedelta(seconds=max(0, remaining)) if mode == "timed" else None
        )
        """When the wrap-up time runs out (timed mode only)."""

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        """Header with countdown, the form (scrolling), messages and keys."""
        form = self.form
        with Vertical():
            with Horizontal(id="header"):
                yield Label(self.title_text, id="title", markup=False)
                yield Label("", id="countdown", markup=False)
            with VerticalScroll(id="body"):
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
                            yield Input(
                                self._initial_due, placeholder=DUE_FORMATS, id="due", compact=True
                            )
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
            with Horizontal(classes="row", id="extend-row"):
                yield Label("Why more time?", markup=False)
                yield Input(
                    placeholder="reason (Enter to confirm)", id="extend-reason", compact=True
                )
            yield Label("", id="message", markup=False)
            yield Label(self._hint(), classes="hint", markup=False)

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

    def _hint(self) -> str:
        keys = "ctrl+s save"
        if self.form.follow_up is not None:
            keys += "  ·  ctrl+f follow-up"
        if self.mode == "timed":
            keys += "  ·  ctrl+e more time"
        if self.mode == "optional":
            keys += "  ·  Esc skip"
        return keys

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

    def on_mount(self) -> None:
        """Show or hide the follow-up, start the countdown, focus the dispositions."""
        self.query_one("#extend-row").display = False
        self._show_follow_up(self._follow_up_on)
        self.query_one("#disposition", ChoiceBar).focus()
        if self.deadline is not None:
            self.tick()
            # Twice a second so the shown second never lags the clock by a whole one.
            self.set_interval(0.5, self.tick)
        # What was restored or pre-filled is not a change; only what the agent does is.
        self._last_body = _comparable(self.draft_body())
        self._ready = True

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

    def _follow_up_raw(self) -> dict[str, Any]:
        if self.form.follow_up is None:
            return {}
        owner = self.query_one("#owner", ChoiceBar).value
        return {
            "due": self.query_one("#due", Input).value,
            "owner": owner if isinstance(owner, str) else None,
            "reason": self.query_one("#reason", Input).value,
        }

    def _consent(self) -> bool | None:
        if self.form.feedback_consent is None:
            return None
        value = self.query_one("#consent", ChoiceBar).value
        return value if isinstance(value, bool) else None

    def remaining_seconds(self) -> int | None:
        """Whole seconds left (rounded up) in timed mode; None otherwise."""
        if self.deadline is None:
            return None
        return max(0, math.ceil((self.deadline - self.clock()).total_seconds()))

    def draft_body(self) -> dict[str, Any]:
        """Everything entered so far, as JSON-ready plain values (restorable via ``draft``).

        Keys: ``schema``, ``form_id``, ``form_version``, ``disposition`` (id or
        None), ``fields`` (field id → text typed, or yes/no/choice value),
        ``notes``, ``follow_up`` (``enabled``, ``due`` as typed, ``owner``,
        ``reason``; None when the form has none), ``feedback_consent`` (bool or
        None), ``remaining_seconds`` (None unless timed), ``extended``,
        ``extension_reason``.
        """
        follow_up: dict[str, Any] | None = None
        if self.form.follow_up is not None:
            follow_up = {"enabled": self._follow_up_on, **self._follow_up_raw()}
        return {
            "schema": DRAFT_SCHEMA,
            "form_id": self.form.id,
            "form_version": self.form.version,
            "disposition": self.disposition,
            "fields": {f.id: self._field_raw(f) for f in self.form.fields},
            "notes": self.query_one("#notes", TextArea).text,
            "follow_up": follow_up,
            "feedback_consent": self._consent(),
            "remaining_seconds": self.remaining_seconds(),
            "extended": self.extended,
            "extension_reason": self.extension_reason,
        }

    def _changed(self) -> None:
        if self._dismissed or not self._ready:
            return
        body = self.draft_body()
        comparable = _comparable(body)
        if comparable == self._last_body:
            return
        self._last_body = comparable
        if self.on_change is not None:
            self.on_change(body)

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "extend-reason":
            self._changed()

    @on(TextArea.Changed)
    def _notes_changed(self) -> None:
        self._changed()

    @on(ChoiceBar.Changed)
    def _choice_changed(self, event: ChoiceBar.Changed) -> None:
        if event.bar.id == "disposition" and isinstance(event.value, str):
            try:
                needs = self.form.disposition(event.value).requires_follow_up
            except KeyError:
                needs = False
            if needs and self.form.follow_up is not None and not self._follow_up_on:
                self._show_follow_up(True)
        self._changed()

    def on_key(self, event: events.Key) -> None:
        """A disposition's hot key chooses it (text boxes keep their letters)."""
        if isinstance(self.focused, Input | TextArea) or event.character is None:
            return
        disposition_id = self._hot_keys.get(event.character)
        if disposition_id is not None:
            event.stop()
            event.prevent_default()
            self.query_one("#disposition", ChoiceBar).value = disposition_id

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "extend-reason":
            self._confirm_extension(event.value)
        else:
            self.focus_next()

    # ---------------------------------------------------------------- actions
    def _show_follow_up(self, on: bool) -> None:
        if self.form.follow_up is None:
            return
        self._follow_up_on = on
        self.query_one("#follow-up").display = on
        self._changed()

    def action_toggle_follow_up(self) -> None:
        """Add the follow-up callback (focusing its due time) or remove it."""
        if self.form.follow_up is None:
            self._say("This form has no follow-up.")
            return
        self._show_follow_up(not self._follow_up_on)
        if self._follow_up_on:
            self.query_one("#due", Input).focus()

    def _values(self) -> tuple[dict[str, object], str | None]:
        """Form values for ``validate_form``, and the due-time error if it cannot be read."""
        values: dict[str, object] = {
            "disposition": self.disposition,
            "notes": self.query_one("#notes", TextArea).text,
        }
        for form_field in self.form.fields:
            values[form_field.id] = self._field_raw(form_field)
        consent = self._consent()
        if consent is not None:
            values["feedback_consent"] = consent
        due_error = None
        if self.form.follow_up is not None and self._follow_up_on:
            raw = self._follow_up_raw()
            due: datetime | None = None
            try:
                due = parse_due(raw["due"], self.clock(), self.tz)
            except DueError as exc:
                due_error = str(exc)
            values["follow_up"] = {
                "due": due,
                "owner": raw["owner"],
                "reason": str(raw["reason"]).strip(),
            }
        return values, due_error

    def _errors(self, values: Mapping[str, object], due_error: str | None) -> list[FieldError]:
        errors = validate_form(self.form, values, now=self.clock())
        if due_error is not None:
            errors = [e for e in errors if e.field != "follow_up.due"]
            errors.append(FieldError("follow_up.due", due_error))
        return errors

    def _result(
        self, values: Mapping[str, object], errors: list[FieldError], *, expired: bool
    ) -> WrapUpResult:
        wrong = {error.field for error in errors}
        fields: dict[str, Answer] = {}
        today = self.clock().date()
        for form_field in self.form.fields:
            if form_field.id in wrong:
                continue
            fields[form_field.id] = form_field.input.parse(values.get(form_field.id), today=today)
        follow_up = None
        raw = values.get("follow_up")
        if isinstance(raw, Mapping) and not any(name.startswith("follow_up") for name in wrong):
            follow_up = FollowUpTask(raw["due"], raw["owner"], raw["reason"])
        consent = values.get("feedback_consent")
        notes = str(values.get("notes") or "")[: self.form.notes.max_length]
        return WrapUpResult(
            disposition=self.disposition or self.default_disposition,
            fields=fields,
            notes=notes,
            follow_up=follow_up,
            feedback_consent=consent if isinstance(consent, bool) else None,
            expired=expired,
            extension_reason=self.extension_reason,
        )

    def _say(self, message: str) -> None:
        self.query_one("#message", Label).update(message)

    def _finish(self, result: WrapUpResult | None) -> None:
        if not self._dismissed:
            self._dismissed = True
            self.dismiss(result)

    def action_save(self) -> None:
        """Save when valid; otherwise list what is missing and go to the first problem."""
        if self._dismissed:
            return
        values, due_error = self._values()
        errors = self._errors(values, due_error)
        if errors:
            # One run of text so that several problems still fit in three lines.
            self._say(
                "; ".join(f"{self._labels.get(e.field, e.field)}: {e.message}" for e in errors)
            )
            self._focus_error(errors[0].field)
            return
        self._finish(self._result(values, errors, expired=False))

    def _focus_error(self, name: str) -> None:
        targets = {
            "disposition": "#disposition",
            "notes": "#notes",
            "feedback_consent": "#consent",
            "follow_up.due": "#due",
            "follow_up.owner": "#owner",
            "follow_up.reason": "#reason",
        }
        selector = targets.get(name, f"#field-{name}")
        if name == "follow_up" and self.form.follow_up is not None:
            self._show_follow_up(True)
            selector = "#due"
        matches = self.query(selector)
        if matches:
            matches.first().focus()

    def action_cancel(self) -> None:
        """Skip the wrap-up (optional mode); otherwise say a disposition is needed."""
        if self.mode == "optional":
            self._finish(None)
        else:
            self._say(MANDATORY_MESSAGE)

    def action_extend(self) -> None:
        """Ask for the reason for more time (once per wrap-up, timed mode only)."""
        if self.mode != "timed":
            self._say("There is no time limit to extend.")
        elif self.extended:
            self._say("The wrap-up time was already extended once.")
        else:
            self.query_one("#extend-row").display = True
            self.query_one("#extend-reason", Input).focus()
            self._say("Why do you need more time? Enter to confirm.")

    def _confirm_extension(self, reason: str) -> None:
        reason = " ".join(reason.split())
        if not reason:
            self._say("Give a reason to get more time.")
            return
        if self.extended or self.deadline is None:
            return
        self.extended = True
        self.extension_reason = reason[:200]
        self.deadline += timedelta(seconds=self.extension_seconds)
        self.query_one("#extend-row").display = False
        self.query_one("#disposition", ChoiceBar).focus()
        self._say(f"{self.extension_seconds} seconds added.")
        self.tick()
        self._changed()

    def tick(self) -> None:
        """Show the time left; when it has run out, hand back what is there (``expired``)."""
        left = self.remaining_seconds()
        if left is None or self._dismissed:
            return
        minutes, seconds = divmod(left, 60)
        self.query_one("#countdown", Label).update(f"Wrap-up {minutes}:{seconds:02d} left")
        if left <= 0:
            values, due_error = self._values()
            result = self._result(values, self._errors(values, due_error), expired=True)
            self._finish(result)
