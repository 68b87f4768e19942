# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's side of the hub: start the sync worker, show its status.

Only when ``hub.dsn`` is set; psycopg is imported then and not before, so a
console without a hub never loads it. The worker runs as a Textual worker on
the app's loop (its I/O is async), is woken by every outbox write, and tells
the status bar its state: nothing when healthy and empty, the backlog while
it drains, and a highlighted warning when the hub is unreachable or has
refused records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from textual.app import App

from console.core.config import ConfigError, hub_password
from console.services import Services

if TYPE_CHECKING:
    from console.hub.sync import SyncStatus, SyncWorker


def sync_label(status: SyncStatus) -> tuple[str, bool]:
    """(Status-bar text, whether it needs the agent's attention) for ``status``."""
    if status.state == "off":
        return "", False
    age = ""
    if status.oldest_age_s is not None and status.backlog:
        age = f", oldest {_short(status.oldest_age_s)}"
    rejected = f" · {status.dead} rejected" if status.dead else ""
    if status.conflicts:
        # Loud: the hub holds other records under this workstation's keys (a
        # restored backup, a cloned disk); every such record waits until it is sorted out.
        rejected += f" · {status.conflicts} CONFLICT (cloned or restored store?)"
    if status.state in ("retrying", "offline"):
        return f"hub {status.state}: {status.backlog} queued{age}{rejected}", True
    if status.backlog:
        return f"syncing {status.backlog}{age}{rejected}", bool(status.dead)
    return f"hub ✓{rejected}", bool(status.dead)


def _short(seconds: float) -> str:
    span = timedelta(seconds=int(seconds))
    if span < timedelta(minutes=1):
        return f"{span.seconds}s"
    if span < timedelta(hours=1):
        return f"{span.seconds // 60}m"
    return f"{int(span.total_seconds() // 3600)}h"


def start_sync(
    app: App[Any], services: Services, show_sync: Callable[[tuple[str, bool]], None]
) -> SyncWorker | None:
    """Start the hub sync as a worker of ``app`` if a hub is configured; None otherwise
    (or on a config error). ``show_sync`` puts its state in the status bar."""
    config = services.config
    hub = config.hub
    if not hub.dsn:
        return None
    try:
        password = hub_password(config)
    except ConfigError as exc:
        app.notify(f"Hub sync not started: {exc}", severity="error", markup=False, timeout=15)
        return None
    from console.hub.sync import SyncWorker, hub_connector

    def show(status: SyncStatus) -> None:
        show_sync(sync_label(status))

    worker = SyncWorker(
        services.store,
        hub_connector(hub.dsn, password or None),
        region=config.sip.dial.region,
        clock=services.clock,
        on_status=show,
    )
    services.interactions.on_outbox = worker.wake
    app.run_worker(worker.run(), group="hub-sync", exit_on_error=False)
    return worker
