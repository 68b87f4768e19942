# SPDX-License-Identifier: GPL-2.0-or-later
"""A short message to the patient's care team, typed by the agent (one line, editable)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label

from console.core.ehr.refills import MESSAGE_LIMIT
from console.dialogs.base import Dialog


class CareMessageDialog(Dialog[str | None]):
    """Why no refill can be requested, and a message to send instead: Enter sends the
    text as typed (dismissed with it), Esc sends nothing (None)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="care_message.cancel", tooltip="Send nothing")
    ]

    DEFAULT_CSS = """
    CareMessageDialog > Vertical { width: 80; max-width: 98%; }
    """

    def __init__(self, title: str, reason: str, draft: str) -> None:
        super().__init__()
        self.title_text = title
        self.reason = reason
        self.draft = draft

    def compose(self) -> ComposeResult:
        """The reason, the message box, how to send."""
        with Vertical():
            yield Label(self.title_text, markup=False)
            yield Label(self.reason, markup=False, id="reason")
            yield Input(self.draft, max_length=MESSAGE_LIMIT, id="message")
            yield Label(
                "Enter sends this message to the care team · Esc sends nothing",
                classes="hint",
                markup=False,
            )

    def on_mount(self) -> None:
        """The agent edits the message at once."""
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _send(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.notify("Type a message first, or Esc to send nothing.", severity="warning")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        """Send nothing."""
        self.dismiss(None)
