# SPDX-License-Identifier: GPL-2.0-or-later
"""The help screen: every key, what it does, and its id for remapping."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from console.dialogs.base import Dialog
from console.widgets.key_help import KeyHelp
from console.widgets.measured_table import MeasuredTable


class HelpScreen(Dialog[None]):
    """A table of keys; Esc or ? closes it."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close", tooltip="Close help"),
    ]

    DEFAULT_CSS = """
    HelpScreen > Vertical { width: 100; max-width: 98%; max-height: 95%; }
    HelpScreen DataTable { height: auto; max-height: 30; }
    """

    def __init__(self, rows: list[KeyHelp]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        """Title, the key table, how to remap."""
        with Vertical():
            yield Label(
                "careline keys — every action is also in the command palette (Ctrl+P)", markup=False
            )
            yield MeasuredTable(cursor_type="row", zebra_stripes=True)
            yield Label(
                "Remap a key in your config: keymap: {call.hold: f5}  ·  Esc closes",
                classes="hint",
                markup=False,
            )

    def on_mount(self) -> None:
        """Fill the table."""
        table = self.query_one(DataTable)
        table.add_columns(*map(Text, ("Key", "Action", "Id (for keymap)", "What it does")))
        for row in self.rows:
            table.add_row(
                Text(row.keys, style="bold"),
                Text(row.description),
                Text(row.binding_id, style="dim"),
                Text(row.tooltip),
            )
        table.focus()

    def action_close(self) -> None:
        """Close help."""
        self.dismiss(None)
