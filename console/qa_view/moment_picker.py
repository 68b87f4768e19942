# SPDX-License-Identifier: GPL-2.0-or-later
"""Jumping to a moment of the recording: its timeline as a list, a digit or Enter picks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from console.core.recordings.playback import Moment
from console.core.text import safe_text
from console.dialogs.base import Dialog


def _digits() -> list[BindingType]:
    return [
        Binding(str(n), f"pick({n})", f"Moment {n}", show=False, id=f"qa.moment.{n}")
        for n in range(10)
    ]


class MomentPicker(Dialog[float | None]):
    """The timeline's moments (pauses, holds, transfer steps, red flags): the one picked's
    offset in seconds, the start for ``s``, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="qa.moment.cancel", tooltip="Keep playing"),
        Binding("s", "start", "From the start", id="qa.moment.start", tooltip="From 00:00"),
        *_digits(),
    ]
    DEFAULT_CSS = """
    MomentPicker > Vertical { width: 70; max-width: 98%; max-height: 80%; }
    MomentPicker OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, moments: Sequence[Moment]) -> None:
        super().__init__()
        self.moments = list(moments)

    def compose(self) -> ComposeResult:
        """The moments, numbered as ``careline recordings play`` numbers them."""
        with Vertical():
            yield Label("Play from which moment?", markup=False)
            yield OptionList(
                *(
                    Option(Text(f"[{n}] {safe_text(moment.label(), 60)}"), id=str(n))
                    for n, moment in enumerate(self.moments)
                ),
                id="moments",
            )
            yield Label(
                "a digit or Enter plays from it · s from the start · Esc cancels",
                classes="hint",
                markup=False,
            )

    def on_mount(self) -> None:
        """The list has the keys."""
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a moment."""
        self.action_pick(event.option_index)

    def action_pick(self, index: int) -> None:
        """Moment ``index`` (a digit), if the timeline has it."""
        if 0 <= index < len(self.moments):
            self.dismiss(self.moments[index].seconds)

    def action_start(self) -> None:
        """From the start."""
        self.dismiss(0.0)

    def action_cancel(self) -> None:
        """Nothing changes."""
        self.dismiss(None)
