# SPDX-License-Identifier: GPL-2.0-or-later
"""A baseline: a plain Textual app with the agent screen's widgets and no careline code.

The same tree as the idle agent screen (a status line; queue and history panes
beside the call, patient and script panes; the notes box; a footer of nine
keys), the same Textual widgets (two DataTables, a TextArea, an Input) in
round-bordered panes, and ten finished calls in the history. What an idle
console holds beyond this app is careline's own: its code, its libraries
(YAML, SQLite, phone numbers) and its state. ``bench.idle_memory`` reports the
console against it beside the minimal app.
Run: .venv/bin/python -m bench.baseline_layout (q quits)
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Input, Label, Static, TextArea

TITLE = "Call queue (layout baseline)"
"""The text the bench waits for: the app is up."""

CSS = """
#status { height: 1; background: $primary; }
#workspace { height: 1fr; }
#left, #right { width: 1fr; }
.pane { border: round $panel-lighten-2; padding: 0 1; height: 1fr; }
.pane-title { text-style: bold; color: $text-muted; }
#call-pane { height: auto; }
#bottom { height: auto; }
#notes-pane { height: 6; }
"""

KEYS = "q", "d", "s", "g", "v", "n", "w", "c", "question_mark"
"""Nine keys in the footer, as the idle agent screen shows."""


class LayoutBaseline(App[None]):
    """See the module."""

    CSS = CSS
    BINDINGS = [("q", "quit", "Quit"), *((key, f"notify('{key}')", key) for key in KEYS[1:])]

    def compose(self) -> ComposeResult:
        """The agent screen's tree, with its widgets' Textual classes."""
        yield Static("Ready", id="status")
        with Horizontal(id="workspace"):
            with Vertical(id="left"):
                with Vertical(classes="pane"):
                    yield Label(TITLE, classes="pane-title")
                    queue: DataTable[str] = DataTable()
                    queue.display = False
                    yield queue
                    yield Label("No calls waiting")
                with Vertical(classes="pane"):
                    yield Label("Call history", classes="pane-title")
                    yield DataTable(id="history")
            with Vertical(id="right"):
                with Vertical(id="call-pane", classes="pane"):
                    yield Static("No call\nReady for the next caller\n")
                with Vertical():
                    with VerticalScroll(classes="pane"):
                        yield Label("Patient", classes="pane-title")
                        yield Static("No patient on screen\n")
                    with Vertical(classes="pane"):
                        yield Label("Call script", classes="pane-title")
                        yield Label("")
                        yield Static("No script: a call's script shows here\n")
                        field = Input()
                        field.display = False
                        yield field
                        yield Label("")
        with Vertical(id="bottom"):
            with Vertical(id="notes-pane", classes="pane"):
                yield Label("Notes (n to type, Esc when done)", classes="pane-title")
                yield TextArea(soft_wrap=True, show_line_numbers=False)
            yield Footer()

    def on_mount(self) -> None:
        """Ten finished calls in the history, as a console that has taken some shows."""
        history: DataTable[str] = self.query_one("#history", DataTable)
        history.add_columns("Ended", "Caller", "Number", "Outcome", "Length")
        for n in range(10):
            history.add_row(f"09:{n:02d}", "Maria Lopez", f"+1415555{n:04d}", "answered", "0:42")
        history.focus()


if __name__ == "__main__":
    LayoutBaseline().run()
