# SPDX-License-Identifier: GPL-2.0-or-later
"""One line of text typed by the evaluator or the agent (a comment, a reply)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label

from console.dialogs.base import Dialog


class TextPrompt(Dialog[str | None]):
    """A labelled input: Enter gives the text (possibly empty), Esc gives None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="qa.text.cancel", tooltip="Keep as is")]

    DEFAULT_CSS = """
    TextPrompt > Vertical { width: 80; max-width: 98%; }
    """

    def __init__(self, label: str, value: str = "", max_length: int = 1000) -> None:
        super().__init__()
        self.label = label
        self.value = value
        self.max_length = max_length

    def compose(self) -> ComposeResult:
        """The question, the box, the keys."""
        with Vertical():
            yield Label(self.label, markup=False)
            yield Input(self.value, max_length=self.max_length, id="text")
            yield Label("Enter keeps it · Esc changes nothing", classes="hint", markup=False)

    def on_mount(self) -> None:
        """Typing starts at once."""
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _done(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Change nothing."""
        self.dismiss(None)
