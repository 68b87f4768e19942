# SPDX-License-Identifier: GPL-2.0-or-later
"""The recording badge: REC, PAUSED, or why this call is not recorded, beside the call."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

LABELS = {
    "announcing": ("announcement playing…", "-waiting"),
    "awaiting_consent": ("REC? awaiting consent (R)", "-waiting"),
    "recording": ("● REC", "-rec"),
    "paused": ("‖ REC PAUSED (R resumes)", "-paused"),
    "held": ("‖ REC held: silence", "-paused"),
    "refused": ("not recorded: consent refused", "-off"),
    "failed": ("NOT RECORDED", "-failed"),
    "stopped": ("recording saved", "-off"),
}
"""What the badge says in each state, and its style class."""


class RecordingBadge(Static):
    """Whether the call shown is being recorded; hidden for a queue that is not recorded."""

    DEFAULT_CSS = """
    RecordingBadge { width: auto; height: 1; display: none; padding: 0 1; }
    RecordingBadge.-shown { display: block; }
    RecordingBadge.-rec { background: $error; color: $text; text-style: bold; }
    RecordingBadge.-paused { background: $warning; color: $text; text-style: bold; }
    RecordingBadge.-waiting { color: $warning; }
    RecordingBadge.-failed { color: $error; text-style: bold; }
    RecordingBadge.-off { color: $text-muted; }
    """

    state: reactive[str] = reactive("")
    """``recording``, ``paused``, ``held``, ``awaiting_consent``… or "" (not recorded)."""
    detail: reactive[str] = reactive("")
    """Why a recording failed, in words for the agent."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def _show(self) -> None:
        label, style = LABELS.get(self.state, ("", ""))
        if self.state == "failed" and self.detail:
            label = f"NOT RECORDED: {self.detail}"
        self.update(label)
        for name in {s for _, s in LABELS.values()}:
            self.set_class(name == style, name)
        self.set_class(bool(label), "-shown")

    def watch_state(self) -> None:
        """Show the state."""
        self._show()

    def watch_detail(self) -> None:
        """Show a failure's reason."""
        self._show()
