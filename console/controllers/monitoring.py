"""Supervisors on the agent's calls, on the agent's screen: grants checked, legs shown and audited.

The engine asks about every monitor request (``monitor.request``); this controller
checks its grant (:class:`~console.core.monitoring.MonitorDesk` with local grant
files, or the hub's) and tells the engine to accept or refuse, then keeps the
:class:`~console.widgets.monitor_badge.MonitorBadge` saying who is listening,
whispering or barging in.
"""

from __future__ import annotations

from typing import Any

from console.controllers.base import Context, Controller
from console.core.audit import AuditLog
from console.core.events import AnyEvent
from console.core.monitor_events import MonitorChanged, MonitorEnded, MonitorRequested
from console.core.monitor_grants import LocalGrants, supervisor_uids
from console.core.monitoring import GrantBook, MonitorDesk
from console.core.phone import PhoneError
from console.widgets.monitor_badge import MonitorBadge


class MonitorFlow(Controller):
    """Decides monitor requests and shows who is on the agent's calls."""

    def __init__(self, context: Context, grants: GrantBook | None = None) -> None:
        """``grants``: where grants are checked (default: the configured grant files)."""
        super().__init__(context)
        services = self.services
        config = services.config.monitoring
        if grants is None and config.grant_dir is not None:
            grants = LocalGrants(
                config.grant_dir,
                supervisor_uids(config.supervisor_accounts),
                services.config.agent.id,
                clock=services.clock,
            )
        self.monitors = MonitorDesk(
            grants,
            AuditLog(services.store, clock=services.clock),
            services.config.agent.id,
            show_listen=config.show_listen,
        )

    async def phone_event(self, event: AnyEvent) -> None:
        """Decide a request; follow a leg that connects, switches or ends."""
        if isinstance(event, MonitorRequested):
            live = [call.id for call in self.queue.calls() if call.state == "active"]
            try:
                await self.monitors.decide(event, live, self._command)
            except PhoneError as exc:  # the engine refuses it by itself after a while
                self.screen.notify(f"A supervisor's request failed: {exc}", severity="warning")
        elif isinstance(event, MonitorChanged | MonitorEnded):
            await self.monitors.apply(event)
            self.screen.query_one(MonitorBadge).label = self.monitors.label()

    async def _command(self, name: str, **args: Any) -> dict[str, Any]:
        return await self.services.phone.command(name, **args)
