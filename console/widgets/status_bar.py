"""The status bar: who is working, whether the phone works, how busy it is."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from console.core.text import safe_text


class StatusBar(Static):
    """One line across the top: agent, phone state, call count, clock."""

    agent_name: reactive[str] = reactive("")
    """The signed-in agent's name."""
    online: reactive[bool] = reactive(False)
    """True while the phone engine is connected."""
    detail: reactive[str] = reactive("starting")
    """Why the phone is offline, or where it listens when online."""
    calls: reactive[int] = reactive(0)
    """Live calls at the engine."""
    capacity: reactive[int] = reactive(4)
    """Most calls the engine can hold at once."""
    clock: reactive[str] = reactive("")
    """Local wall-clock time, HH:MM."""

    def on_mount(self) -> None:
        """Start the minute clock (one redraw a minute, not a second)."""
        self._tick()
        self.set_interval(15, self._tick)

    def _tick(self) -> None:
        self.clock = datetime.now().astimezone().strftime("%H:%M")

    def watch_online(self, online: bool) -> None:
        """Colour the bar by phone state."""
        self.set_class(not online, "-offline")

    def render(self) -> Text:
        """Literal text only: the agent name comes from config, the detail from the engine."""
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(" careline ", style="bold")
        line.append(f" {safe_text(self.agent_name, 30)} ")
        if self.online:
            line.append(" ● phone online ", style="bold")
            line.append(safe_text(self.detail, 30))
        else:
            line.append(" ○ phone offline ", style="bold reverse")
            line.append(" " + safe_text(self.detail, 60))
        line.append(f"  calls {self.calls}/{self.capacity}  {self.clock}")
        return line
