# SPDX-License-Identifier: GPL-2.0-or-later
"""The wallboard's keys for listening in: 1 listen, 2 whisper, 3 barge, x leave.

:class:`MonitorKeys` is mixed into :class:`console.floor_view.app.SupervisorApp`;
the work is :class:`console.floor_view.monitor.FloorMonitor`'s. The keys act on the
agent row under the cursor; on the agent already joined they switch mode.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from textual.app import App
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from console.core.phone import PhoneError
from console.floor_view.figures import AgentRow
from console.floor_view.monitor import FloorMonitor, MonitorError
from console.floor_view.stats import FloorState
from sip.monitor_terms import MODES

MONITOR_BINDINGS: list[BindingType] = [
    Binding(
        "1",
        "monitor('listen')",
        "Listen",
        id="supervise.listen",
        tooltip="Listen to the selected agent's call (nobody hears you)",
    ),
    Binding(
        "2",
        "monitor('whisper')",
        "Whisper",
        id="supervise.whisper",
        tooltip="Speak to the selected agent only (the patient does not hear you)",
    ),
    Binding(
        "3",
        "monitor('barge')",
        "Barge",
        id="supervise.barge",
        tooltip="Speak to the agent and the patient",
    ),
    Binding("x", "leave", "Leave", id="supervise.leave", tooltip="Leave the agent's call"),
]
"""The keys, for the app's ``BINDINGS``."""
MONITOR_HELP = "1 2 3  listen, whisper, barge into the agent's call (on it: switch)  x  leave\n"
"""Their line in the wallboard's help."""

log = logging.getLogger(__name__)


if TYPE_CHECKING:
    _App = App[int]
else:
    _App = object  # a mixin at run time; type-checked as the app it is mixed into


class MonitorKeys(_App):
    """Actions and the status line of listening in (a mixin of the wallboard app)."""

    monitor: FloorMonitor | None = None
    """The supervisor's phone for listening in (None: this wallboard cannot)."""

    # What the wallboard app provides besides the App's own.
    floor: FloorState
    _clock: Callable[[], datetime]

    def mount_monitor(self) -> None:
        """Hide the status line until there is something to say; follow the monitor."""
        self.query_one("#monitor-line").display = False
        if self.monitor is not None:
            self.monitor.on_change = self._monitor_changed

    async def close_monitor(self) -> None:
        """Stop the supervisor's phone (the wallboard closes)."""
        if self.monitor is not None:
            await self.monitor.close()

    def monitor_key_applies(self, action: str) -> bool | None:
        """Whether a listening-in key applies now (None: not one of them)."""
        if action == "monitor":
            return self.monitor is not None
        if action == "leave":
            return self.monitor is not None and self.monitor.live() is not None
        return None

    def action_monitor(self, mode: str) -> None:
        """Join the selected agent's call in ``mode``, or switch to it (1, 2, 3)."""
        agent = self._selected_agent()
        wanted = next((known for known in MODES if known == mode), None)
        if self.monitor is None or agent is None or wanted is None:
            return
        # In a worker: the first key starts a phone, and the wallboard must not freeze.
        # Not exclusive: cancelling a join mid-call would leave its leg behind; the
        # monitor itself lets one leg join at a time (a key while joining sets its mode).
        self.run_worker(self._monitor_step(self.monitor.join(agent, wanted)), group="monitor")

    def action_leave(self) -> None:
        """Leave the agent's call (x)."""
        if self.monitor is not None:
            self.run_worker(self._monitor_step(self.monitor.leave()), group="monitor")

    async def _monitor_step(self, step: Awaitable[None]) -> None:
        try:
            await step
        except MonitorError as exc:
            self.notify(str(exc), severity="warning", markup=False)
        except PhoneError as exc:  # the phone went away under the key
            self.notify(f"Your phone: {exc}", severity="warning", markup=False)
        except Exception as exc:  # a grant that could not be made: the wallboard stays up
            log.warning("listening in failed: %s", type(exc).__name__)
            self.notify(
                f"Could not listen in ({type(exc).__name__}): is monitoring set up?",
                severity="error",
                markup=False,
            )

    def _selected_agent(self) -> AgentRow | None:
        table = self.query_one("#agents", DataTable)
        if not table.row_count:
            return None
        cell = table.get_row_at(table.cursor_row)[0]
        key = getattr(cell, "row_key", None)
        rows = self.floor.agent_rows(self._clock())
        return next((row for row in rows if row.agent_id == key), None)

    def _monitor_changed(self) -> None:
        line = self.query_one("#monitor-line", Static)
        text = self.monitor.status() if self.monitor is not None else ""
        line.update(text)
        line.display = bool(text)
        self.refresh_bindings()
