# SPDX-License-Identifier: GPL-2.0-or-later
"""After-call work: disposition, form fields, notes, follow-up and consent, against the clock.

The dialog never loses work: every change is handed to ``on_change`` as a
JSON-ready draft body (see :meth:`WrapUpDialog.draft_body`) that the caller
saves durably, and a dialog built with that body as ``draft`` shows exactly
the same wrap-up again. The form itself is a
:class:`~console.widgets.wrap_up_form.WrapUpForm`; this module adds the
clock, the one extension, saving and skipping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, TextArea

from console.core.scripts.forms import FieldError, FollowUpTask
from console.core.scripts.models import Answer, Form
from console.core.text import safe_text
from console.core.wrap_up import WrapUpResult
from console.dialogs.base import Dialog
from console.widgets.wrap_up_form import ChoiceBar, ChoiceValue, WrapUpForm, as_mapping

WrapUpMode = Literal["optional", "mandatory", "timed"]
"""``optional``: Esc skips; ``mandatory``: a disposition is needed; ``timed``: and a deadline."""

DRAFT_SCHEMA = 1
"""The ``schema`` number of draft bodies, for telling old shapes apart later."""

MANDATORY_MESSAGE = "A disposition is required before the next call."
"""Shown when Esc is pressed and the wrap-up cannot be skipped."""


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    # The countdown alone is no change worth a durable write.
    return {**body, "remaining_seconds": None}


class WrapUpDialog(Dialog[WrapUpResult | None]):
    """The wrap-up form: a disposition by its hot key, fields, notes, follow-up, consent.

    Ctrl+S (or Enter outside a text box) saves when the form is valid. In
    ``timed`` mode a countdown runs and, at zero, what has been entered so far
    is handed back with ``expired=True``. Dismisses with a
    :class:`~console.core.wrap_up.WrapUpResult`, or None when skipped (Esc,
    ``optional`` mode only).
    """

    # Ctrl+S is not a priority binding: a priority key is acted on as it arrives, ahead
    # of the keys typed before it that the focused box has not handled yet, and saved
    # the form without its last letters or its new disposition.
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="wrap_up.save", tooltip="Save the wrap-up"),
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
    WrapUpDialog > Vertical { width: 80; max-width: 100%; max-height: 100%; }
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
        follow_up_reason: str = "",
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

        ``values``: pre-filled field values and disposition (``prefill()``);
        ``follow_up_reason``: a callback the call promised, pre-filled with the
        form's suggested due time and owner; ``notes``: notes from the call;
        ``draft``: a body from ``on_change`` to restore instead (it wins over
        ``values`` and ``notes``); ``clock``: the UTC time now; ``tz``: the zone
        due times are typed and shown in (None: the machine's).
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
        now = self.clock()
        body = as_mapping(draft)
        self.entry = WrapUpForm(
            form,
            values=values,
            notes=notes,
            draft=draft,
            now=now,
            tz=tz,
            follow_up_reason=follow_up_reason,
            id="body",
        )
        """The form's widgets."""

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
        with Vertical():
            with Horizontal(id="header"):
                yield Label(self.title_text, id="title", markup=False)
                yield Label("", id="countdown", markup=False)
            yield self.entry
            with Horizontal(classes="row", id="extend-row"):
                yield Label("Why more time?", markup=False)
                yield Input(
                    placeholder="reason (Enter to confirm)", id="extend-reason", compact=True
                )
            yield Label("", id="message", markup=False)
            yield Label(self._hint(), classes="hint", markup=False)

    def _hint(self) -> str:
        keys = "ctrl+s save"
        if self.form.follow_up is not None:
            keys += "  ·  ctrl+f follow-up"
        if self.mode == "timed":
            keys += "  ·  ctrl+e more time"
        if self.mode == "optional":
            keys += "  ·  Esc skip"
        return keys

    def on_mount(self) -> None:
        """Show or hide the follow-up, start the countdown, focus the dispositions."""
        self.query_one("#extend-row").display = False
        self._show_follow_up(self.entry.follow_up_on)
        self.query_one("#disposition", ChoiceBar).focus()
        if self.deadline is not None:
            self.tick()
            # Twice a second so the shown second never lags the clock by a whole one.
            self.set_interval(0.5, self.tick)
        # What was restored or pre-filled is not a change; only what the agent does is.
        self._last_body = _comparable(self.draft_body())
        self._ready = True

    # ------------------------------------------------------------------ state
    @property
    def disposition(self) -> str | None:
        """The disposition chosen so far."""
        return self.entry.disposition

    def remaining_seconds(self) -> int | None:
        """Whole seconds left (rounded up) in timed mode; None otherwise."""
        if self.deadline is None:
            return None
        return max(0, math.ceil((self.deadline - self.clock()).total_seconds()))

    def draft_body(self) -> dict[str, Any]:
        """Everything entered so far, as JSON-ready plain values (restorable via ``draft``).

        Keys: ``schema``, ``form_id``, ``form_version``, the form's parts
        (:meth:`WrapUpForm.draft_parts`: ``disposition``, ``fields``,
        ``notes``, ``follow_up``, ``feedback_consent``), ``remaining_seconds``
        (None unless timed), ``extended``, ``extension_reason``.
        """
        return {
            "schema": DRAFT_SCHEMA,
            "form_id": self.form.id,
            "form_version": self.form.version,
            **self.entry.draft_parts(),
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
    @on(ChoiceBar.Changed)
    def _form_changed(self) -> None:
        self._changed()

    def on_key(self, event: events.Key) -> None:
        """A disposition's hot key chooses it (text boxes keep their letters)."""
        if isinstance(self.focused, Input | TextArea) or event.character is None:
            return
        disposition_id = self.entry.hot_keys.get(event.character)
        if disposition_id is not None:
            event.stop()
            event.prevent_default()
            self.entry.choose(disposition_id)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "extend-reason":
            self._confirm_extension(event.value)
        else:
            self.focus_next()

    # ---------------------------------------------------------------- actions
    def _show_follow_up(self, on: bool) -> None:
        if self.entry.show_follow_up(on):
            self._changed()

    def action_toggle_follow_up(self) -> None:
        """Add the follow-up callback (focusing its due time) or remove it."""
        if self.form.follow_up is None:
            self._say("This form has no follow-up.")
            return
        self._show_follow_up(not self.entry.follow_up_on)
        if self.entry.follow_up_on:
            # At once, not on the next frame (Widget.focus): ctrl+f is a priority key, and
            # the due time typed with it must not reach the disposition's hot keys.
            self.set_focus(self.query_one("#due", Input))

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
        values, due_error = self.entry.values(self.clock)
        errors = self.entry.errors(values, due_error, self.clock())
        if errors:
            # One run of text so that several problems still fit in three lines.
            self._say(self.entry.describe(errors))
            self._focus_error(errors[0].field)
            return
        self._finish(self._result(values, errors, expired=False))

    def _focus_error(self, name: str) -> None:
        if name == "follow_up":
            self._show_follow_up(True)
        self.entry.focus_error(name)

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
            self.set_focus(self.query_one("#extend-reason", Input))  # at once, as for ctrl+f
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
            values, due_error = self.entry.values(self.clock)
            errors = self.entry.errors(values, due_error, self.clock())
            result = self._result(values, errors, expired=True)
            self._finish(result)


__all__ = [
    "DRAFT_SCHEMA",
    "MANDATORY_MESSAGE",
    "ChoiceBar",
    "ChoiceValue",
    "WrapUpDialog",
    "WrapUpMode",
]
