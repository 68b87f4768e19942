# SPDX-License-Identifier: GPL-2.0-or-later
"""The red-flag banner: an emergency on the call, impossible to miss."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from console.core.scripts.runner import RaisedRedFlag
from console.core.text import safe_text

_WIDE = 400


class RedFlagBanner(Static):
    """Every red flag raised on the current call, newest first, with what to do now.

    Hidden while there is none. Its text comes from the script (instruction,
    what to say) and the configuration (target name): plain text only.
    """

    DEFAULT_CSS = """
    RedFlagBanner {
        display: none;
        height: auto;
        max-height: 12;
        background: $error;
        color: $text;
        text-style: bold;
        padding: 0 1;
        border: heavy $warning;
    }
    RedFlagBanner.-raised { display: block; }
    """

    flags: reactive[tuple[RaisedRedFlag, ...]] = reactive((), layout=True)
    """Red flags raised on the call in progress, oldest first."""
    target: reactive[str] = reactive("", layout=True)
    """Name of the directory entry ``e`` transfers to; empty when none is configured."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)

    def watch_flags(self, flags: tuple[RaisedRedFlag, ...]) -> None:
        """Shown only while there is a red flag."""
        self.set_class(bool(flags), "-raised")

    def render(self) -> Text:
        """Headline with the escalation key first (it must never be cut), then what to do."""
        text = Text()
        if not self.flags:
            return text
        latest = self.flags[-1]
        text.append(f"⚠ RED FLAG: {safe_text(latest.title, _WIDE)}")
        if self.target:
            text.append(f" — press e to transfer to {safe_text(self.target, 60)}")
        else:
            text.append(" — no transfer target configured: follow the instruction")
        for flag in reversed(self.flags):
            if flag is not latest:
                text.append(f"\n⚠ also: {safe_text(flag.title, _WIDE)}")
            text.append(f"\n{flag.instruction.strip()}", style="not bold")
            if flag.say.strip():
                text.append("\nSay: ", style="bold")
                text.append(flag.say.strip(), style="not bold")
        return text
