# SPDX-License-Identifier: GPL-2.0-or-later
"""What every controller is given: the screen it works on, the services, the desk.

Controllers never import the agent screen or the App: the screen is a Textual
:class:`~textual.screen.Screen` (queries, toasts, workers, timers) and
:class:`AgentHost` names the two things of the agent screen's own that they use.
Controllers that need each other get each other in their constructor; the
screen mediates everything else through messages (``console/messages.py``).
"""

from __future__ import annotations

from typing import Any, Protocol

from textual.screen import Screen

from console.core.calls import CallQueue, LiveCall
from console.core.desk import Desk
from console.core.records import dataclass
from console.services import Services
from console.widgets.call_queue import CallQueueTable


class AgentHost(Protocol):
    """The agent screen's own methods that controllers use."""

    async def refresh_history(self) -> None:
        """Reload the recent-calls pane from the store."""
        ...

    def send_command(self, cmd: str, **args: Any) -> None:
        """Send an engine command in the background; a failure is shown, not raised."""
        ...


@dataclass(frozen=True, slots=True)
class Context:
    """Handed to every controller by the agent screen."""

    screen: Screen[Any]
    host: AgentHost
    services: Services
    desk: Desk


class Controller:
    """Base of the agent screen's controllers."""

    def __init__(self, context: Context) -> None:
        self.screen = context.screen
        """The screen, for Textual's API (query, notify, workers, timers)."""
        self.host = context.host
        self.services = context.services
        self.desk = context.desk
        self.queue: CallQueue = context.desk.queue
        """The live calls (the desk's queue: one object for the console's life)."""

    def selected_call(self) -> LiveCall | None:
        """The call selected in the queue table."""
        selected = self.screen.query_one(CallQueueTable).selected_call_id()
        return self.queue.get(selected) if selected else None
