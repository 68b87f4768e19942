# SPDX-License-Identifier: GPL-2.0-or-later
"""The status bar: who is working, in what state, whether the phone works, how busy it is."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from console.core.agent_state import AgentState
from console.core.text import safe_text

_STATE_LABEL = {
    "available": "Ready",
    "not_ready": "Not ready",
    "wrap_up": "Wrap-up",
    "offline": "Offline",
    "outbound": "Outbound",
}


def time_in_state(seconds: float) -> str:
    """Minutes in the current state: ``7m``, ``1h05m``."""
    minutes = max(0, int(seconds // 60))
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


class StatusBar(Static):
    """One line across the top: agent, state and time in it, phone, registration, calls, clock."""

    agent_name: reactive[str] = reactive("")
    """The signed-in agent's name."""
    state: reactive[AgentState] = reactive(AgentState)
    """Phone, availability and registration facts."""
    calls: reactive[int] = reactive(0)
    """Live calls at the engine."""
    clock: reactive[str] = reactive("")
    """Local wall-clock time, HH:MM."""
    sync: reactive[tuple[str, bool]] = reactive(("", False))
    """Hub sync summary (text, needs attention); empty text: no hub configured."""
    storage: reactive[str] = reactive("")
    """What the local store is refusing to save, in words ("": everything is saved)."""

    def __init__(
        self, *, clock: Callable[[], datetime] | None = None, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.now = clock or (lambda: datetime.now(UTC))
        self._shown = Text()
        """The line as last rendered."""

    def on_mount(self) -> None:
        """Tick every 15 s: the clock and the time-in-state (minutes) need no more."""
        self._tick()
        self.set_interval(15, self._tick)

    def _tick(self) -> None:
        # The clock repaints when it changes; the minutes in the state, when the line
        # they are in reads differently (not every 15 s: most ticks change nothing).
        self.clock = self.now().astimezone().strftime("%H:%M")
        if self._line() != self._shown:
            self.refresh()

    def watch_state(self, old: AgentState, state: AgentState) -> None:
        """Colour the bar by what matters most: offline phone, then not ready.

        A failed registration (with its reason) and a call refused for a reason
        the agent must know about (e.g. it could not be encrypted) also pop up
        once, in full: the bar itself has room for the start of the reason only.
        """
        if state.registration == "failed" and (
            old.registration != "failed" or old.registration_detail != state.registration_detail
        ):
            self.notify(
                f"Your phone is not registered: {state.registration_detail}",
                title="Registration failed",
                severity="error",
                markup=False,
                timeout=15,
            )
        if state.refusal_notice and state.last_turned_away_at != old.last_turned_away_at:
            # Who called is PHI: named only while this screen is on top (not under the lock).
            self.notify(
                state.refusal_notice
                if self.app.screen is self.screen
                else f"A call was refused: {state.last_turned_away}.",
                title="Call refused",
                severity="error",
                markup=False,
                timeout=15,
            )
        # The phone's details on hover: the library it runs (engine-reported, shown literally).
        self.tooltip = Text(state.library) if state.library else None
        self.set_class(not state.phone_online or state.registration == "failed", "-offline")
        self.set_class(state.phone_online and state.availability != "available", "-not-ready")

    def watch_storage(self, storage: str) -> None:
        """Unsaved records colour the bar like an offline phone: both lose work."""
        self.set_class(bool(storage), "-unsaved")

    # Online/detail kept as properties for callers that only know about the phone.
    @property
    def online(self) -> bool:
        """True while the phone engine is connected."""
        return self.state.phone_online

    def render(self) -> Text:
        """Literal text only: names come from config, details from the engine."""
        self._shown = self._line()
        return self._shown

    def _line(self) -> Text:
        """The bar's line as it reads now."""
        s = self.state
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(" careline ", style="bold")
        line.append(f" {safe_text(self.agent_name, 24)} ")
        label = _STATE_LABEL.get(s.shown_availability, s.availability)
        if s.reason and s.shown_availability != "outbound":
            label += f": {safe_text(s.reason, 20)}"
        if s.since is not None:
            label += f" {time_in_state((self.now() - s.since).total_seconds())}"
        line.append(f" {label} ", style="bold reverse")
        if s.phone_online:
            line.append(" ● phone online ")
        else:
            line.append(" ○ phone offline ", style="bold")
            line.append(safe_text(s.phone_detail, 50) + " ")
        if self.storage:
            line.append(f" NOT SAVED: {safe_text(self.storage, 60)} ", style="bold reverse")
        if s.registration == "failed" and s.registration_detail:
            # The gist (the words before " (" or ": "); the whole reason is in the toast.
            gist = re.split(r" \(|: ", s.registration_detail, maxsplit=1)[0]
            line.append(f" not registered: {safe_text(gist, 40)} ", style="bold reverse")
        elif s.registration not in ("none", ""):
            line.append(f" reg: {safe_text(s.registration, 14)} ")
        audio, attention = s.audio_label()
        if audio and s.phone_online:
            line.append(f" {safe_text(audio, 30)} ", style="bold reverse" if attention else "")
        sync, alarm = self.sync
        if sync:
            line.append(f" {safe_text(sync, 40)} ", style="bold reverse" if alarm else "")
        line.append(f" calls {self.calls}/{s.queue_capacity}  {self.clock} ")
        return line
