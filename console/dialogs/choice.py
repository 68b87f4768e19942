# SPDX-License-Identifier: GPL-2.0-or-later
"""A small modal list: pick one of a few labelled values, or Esc for none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from console.dialogs.base import Dialog

T = TypeVar("T")


class ChoicePicker(Dialog[T | None], Generic[T]):
    """Dismisses with the chosen value, or None on Esc. Labels are plain text (or a
    ``Text`` already styled); the list starts on ``highlight``."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice.cancel", tooltip="Change nothing")]

    DEFAULT_CSS = """
    ChoicePicker > Vertical { width: 56; }
    ChoicePicker OptionList { height: auto; max-height: 14; }
    """

    def __init__(
        self, title: str, choices: Sequence[tuple[T, str | Text]], *, highlight: int = 0
    ) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.highlight = highlight

    def compose(self) -> ComposeResult:
        """The title and the choices."""
        with Vertical():
            yield Label(self.title_text, markup=False)
            yield OptionList(
                *[Option(label, id=str(i)) for i, (_, label) in enumerate(self.choices)],
                markup=False,
            )

    def on_mount(self) -> None:
        """Start on the highlighted choice."""
        listing = self.query_one(OptionList)
        listing.highlighted = self.highlight
        listing.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[int(event.option.id or 0)][0])

    def action_cancel(self) -> None:
        """Change nothing."""
        self.dismiss(None)
