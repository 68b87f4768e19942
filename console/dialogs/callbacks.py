# SPDX-License-Identifier: GPL-2.0-or-later
"""The callbacks due: open callbacks by due time; Enter dials one, x records it as done."""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from console.core.interactions import Callback
from console.core.text import safe_text
from console.core.wrap_up import CallbackChoice, describe_due, overdue_by
from console.dialogs.base import Dialog

EMPTY = "No callbacks due."
"""Shown instead of the list when there is nothing open."""


_COLUMNS = f"{'':12}{'Due':17}{'Number':17}{'Owner':8}Reason"


def _cell(text: str, width: int) -> str:
    return text + " " * max(0, width - cell_len(text))


def callback_row(callback: Callback, now: datetime, tz: tzinfo | None = None) -> Text:
    """One line per callback: due (local), overdue marker, number, owner, reason.

    Number and reason come from callers and agents, so they are cleaned and
    shown as literal text.
    """
    # One line per callback even in a narrow terminal: cut the reason, never wrap.
    text = Text(no_wrap=True, overflow="ellipsis")
    late = overdue_by(callback.due_at, now)
    if callback.overdue or late:
        text.append(_cell(f"OVERDUE {late or '0m'}", 12), style="bold reverse red")
    else:
        text.append(" " * 12)
    text.append(_cell(describe_due(callback.due_at, now, tz), 17), style="bold")
    text.append(_cell(safe_text(callback.number, 16), 17))
    text.append(_cell(safe_text(callback.owner, 7), 8), style="dim")
    text.append(safe_text(callback.reason, 44))
    return text


class CallbacksDialog(Dialog[CallbackChoice | None]):
    """Open callbacks, soonest first; Enter dials, x marks done, Esc closes.

    Dismisses with a :class:`CallbackChoice`, or None on Esc.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Close", id="callbacks.cancel", tooltip="Close the list"),
        Binding(
            "x",
            "done",
            "Done",
            id="callbacks.done",
            tooltip="Record the highlighted callback as done (asks for the outcome)",
        ),
    ]

    DEFAULT_CSS = """
    CallbacksDialog > Vertical { width: 104; max-width: 100%; max-height: 100%; }
    CallbacksDialog OptionList { height: auto; max-height: 18; padding: 0; }
    CallbacksDialog OptionList, CallbacksDialog OptionList:focus { border: none; }
    CallbacksDialog #columns { color: $text-muted; }
    CallbacksDialog #empty { color: $text-muted; padding: 1 0; }
    """

    def __init__(self, callbacks: list[Callback], now: datetime, tz: tzinfo | None = None) -> None:
        """``callbacks`` as listed at ``now`` (UTC); times are shown in ``tz`` (None: local)."""
        super().__init__()
        self.now = now
        self.tz = tz
        self.callbacks = sorted(
            (callback for callback in callbacks if callback.status == "open"),
            key=lambda callback: callback.due_at,
        )

    def compose(self) -> ComposeResult:
        """Title, the list (or the empty message), the keys."""
        with Vertical():
            yield Label(f"Callbacks due ({len(self.callbacks)})", markup=False)
            if self.callbacks:
                yield Label(_COLUMNS, id="columns", markup=False)
                yield OptionList(
                    *(
                        Option(callback_row(callback, self.now, self.tz), id=str(index))
                        for index, callback in enumerate(self.callbacks)
                    ),
                    id="callbacks",
                )
                yield Label(
                    "Enter: dial  ·  x: done (record outcome)  ·  Esc: close",
                    classes="hint",
                    markup=False,
                )
            else:
                yield Label(EMPTY, id="empty", markup=False)
                yield Label("Esc: close", classes="hint", markup=False)

    def on_mount(self) -> None:
        """Highlight the most urgent callback."""
        if self.callbacks:
            options = self.query_one(OptionList)
            options.highlighted = 0
            options.focus()

    def _highlighted(self) -> Callback | None:
        if not self.callbacks:
            return None
        index = self.query_one(OptionList).highlighted
        return None if index is None else self.callbacks[index]

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(CallbackChoice("dial", self.callbacks[int(event.option.id or 0)]))

    def action_done(self) -> None:
        """Hand the highlighted callback back to be recorded as done."""
        callback = self._highlighted()
        if callback is not None:
            self.dismiss(CallbackChoice("done", callback))

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)
