# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's first frame: the agent screen's panes, empty, while careline starts.

``careline run`` and ``careline demo`` paint this as soon as Textual is up, then read
the configuration, open the store and start the phone engine behind it
(:class:`console.app.CarelineApp` with a launcher). Each step is said in the queue
pane, where the first call will ring; the agent screen replaces this one when it is
ready. Only Textual's own widgets: this module is on the path to the first frame.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Label, Static


class StartupScreen(Screen[None]):
    """The agent screen's layout with what careline is doing in place of the calls."""

    class Step(Message):
        """What careline is doing now (posted from the launcher's thread)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text
            """Plain text, never markup."""

    DEFAULT_CSS = """
    StartupScreen #startup-status {
        height: 1;
        background: $primary;
        color: $text;
        padding: 0 1;
    }
    StartupScreen #startup-body {
        height: 1fr;
    }
    StartupScreen #startup-left, StartupScreen #startup-right {
        width: 1fr;
    }
    StartupScreen .pane {
        height: 1fr;
    }
    """

    def compose(self) -> ComposeResult:
        """Status bar; queue and history beside call, patient and guidance; footer."""
        yield Static("careline · starting", id="startup-status")
        with Horizontal(id="startup-body"):
            with Vertical(id="startup-left"):
                with Vertical(classes="pane"):
                    yield Label("Call queue", classes="pane-title")
                    yield Label("Starting…", id="startup-step", classes="empty")
                with Vertical(classes="pane"):
                    yield Label("Recent calls", classes="pane-title")
            with Vertical(id="startup-right"):
                with Vertical(classes="pane"):
                    yield Label("Patient", classes="pane-title")
                with Vertical(classes="pane"):
                    yield Label("Guidance", classes="pane-title")
        yield Footer()

    def on_startup_screen_step(self, message: Step) -> None:
        """Say what careline is doing now (as text: a step is never markup)."""
        self.query_one("#startup-step", Label).update(Text(message.text))
