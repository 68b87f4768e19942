# SPDX-License-Identifier: GPL-2.0-or-later
"""Supervisors on the agent's calls, on the agent's screen: grants checked, legs shown and audited.

The engine asks about every monitor request (``monitor.request``); this controller
checks its grant (:class:`~console.core.monitoring.MonitorDesk` with local grant
files, or the hub's) and tells the engine to accept or refuse, then keeps the
:class:`~console.widgets.monitor_badge.MonitorBadge` saying who is listening,
whispering or barging in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from console.controllers.base import Context, Controller
from console.core.audit import AuditLog
from console.core.config import CarelineConfig, ConfigError, hub_password
from console.core.events import AnyEvent, Hello
from console.core.monitor_events import MonitorChanged, MonitorEnded, MonitorRequested
from console.core.monitor_grants import LocalGrants, supervisor_uids
from console.core.monitoring import GrantBook, MonitorDesk
from console.core.phone import PhoneError
from console.core.store import Store
from console.widgets.monitor_badge import MonitorBadge

log = logging.getLogger(__name__)


class MonitorFlow(Controller):
    """Decides monitor requests and shows who is on the agent's calls."""

    def __init__(self, context: Context, grants: GrantBook | None = None) -> None:
        """``grants``: where grants are checked (default: the configured grant files)."""
        super().__init__(context)
        services = self.services
        config = services.config.monitoring
        self.monitors = MonitorDesk(
            grants or grant_book(services.config, services.clock, services.store),
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
                self.screen.notify(
                    f"A supervisor's request failed: {exc}", severity="warning", markup=False
                )
        elif isinstance(event, MonitorChanged | MonitorEnded):
            await self.monitors.apply(event)
            self.screen.query_one(MonitorBadge).label = self.monitors.label()
        elif isinstance(event, Hello):  # (re)connected: who is on already, from the engine
            self.screen.run_worker(self._restore(), group="monitor-restore", exclusive=True)

    async def _restore(self) -> None:
        try:
            status = await self._command("status")
        except PhoneError:
            return  # offline again: the next hello asks again
        self.monitors.restore(status.get("monitors"))
        self.screen.query_one(MonitorBadge).label = self.monitors.label()

    async def _command(self, name: str, **args: Any) -> dict[str, Any]:
        return await self.services.phone.command(name, **args)


def grant_book(
    config: CarelineConfig, clock: Callable[[], datetime], store: Store
) -> GrantBook | None:
    """Where this console checks grants: the hub's when one is configured, else the local
    grant files (``monitoring.grant_dir``; the ones let in are remembered in ``store``),
    else nowhere (every request is refused)."""
    if config.hub.dsn:
        from console.hub.connection import hub_connector  # psycopg: only with a hub
        from console.hub.monitor_grants import HubGrants

        try:
            secret = hub_password(config)
        except ConfigError:
            log.warning("no hub password: monitor requests are refused")
            return None
        return HubGrants(hub_connector(config.hub.dsn, secret or None), config.agent.id)
    monitoring = config.monitoring
    if monitoring.grant_dir is None:
        return None
    return LocalGrants(
        monitoring.grant_dir,
        supervisor_uids(monitoring.supervisor_accounts),
        config.agent.id,
        clock=clock,
        store=store,
    )
