# SPDX-License-Identifier: GPL-2.0-or-later
"""The monitor badge: which supervisors are on the agent's calls, under the status bar."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static


class MonitorBadge(Static):
    """The supervisors on the call, e.g. "Sam listening · Ann whispering": shown only while
    a supervisor the agent may see is on."""

    DEFAULT_CSS = """
    MonitorBadge { height: 1; width: 1fr; display: none; padding: 0 1;
                   background: $accent; color: $text; text-style: bold; }
    MonitorBadge.-shown { display: block; }
    """

    label: reactive[str] = reactive("")
    """Who is on and how, already made safe to show ("" hides the badge)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def watch_label(self, label: str) -> None:
        """Show who is on, or hide."""
        self.update(f"Supervisor on the call: {label}" if label else "")
        self.set_class(bool(label), "-shown")
