# SPDX-License-Identifier: GPL-2.0-or-later
"""A yes/no question that must be answered before something irreversible."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from console.dialogs.base import Dialog


class ConfirmDialog(Dialog[bool]):
    """Asks a question; dismisses with True (y / Enter on Yes) or False (n / Escape)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Confirm"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="Cancel"),
    ]

    DEFAULT_CSS = """
    ConfirmDialog > Vertical { width: 60; padding: 1 2; border: thick $warning; }
    ConfirmDialog Horizontal { height: auto; align: right middle; margin-top: 1; }
    ConfirmDialog Button { margin-left: 2; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        """The question and two buttons."""
        with Vertical():
            yield Static(self.question, markup=False)
            with Horizontal():
                yield Button("No (n)", id="no")
                yield Button("Yes (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        """The safe choice has the focus."""
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """A button answers the question."""
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        """A key answers the question."""
        self.dismiss(answer)
