# SPDX-License-Identifier: GPL-2.0-or-later
"""Where the hub sync stands, as the status bar shows it: state, backlog, parked rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from console.core.records import dataclass
from console.core.store import Store
from console.hub.outbox import outbox_counts

SyncState = Literal["off", "ok", "retrying", "offline"]
"""``off``: no hub configured; ``ok``: the last contact worked; ``retrying``:
the last try failed, the worker backs off; ``offline``: several tries in a row
failed (:data:`OFFLINE_AFTER`)."""
OFFLINE_AFTER = 3
"""Consecutive failed tries after which the state is ``offline``, not ``retrying``."""


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """Where the sync stands, for the status bar (no patient data, no password)."""

    state: SyncState
    backlog: int
    """Outbox rows not yet delivered and not dead."""
    oldest_age_s: float | None
    """Age in seconds of the oldest of those rows; None when there are none."""
    dead: int
    """Rows the hub rejected, parked until retried."""
    last_ok: datetime | None
    """When the hub last answered (UTC); None if never since start."""
    last_error: str | None
    """The last failure, short; None after a success."""
    conflicts: int = 0
    """Of the parked rows, those the hub holds a different record for under the same
    key (a restored backup or a cloned workstation): never "duplicate", always shown."""


def state_after(failures: int) -> SyncState:
    """The state of a hub sync after ``failures`` failed tries in a row."""
    if failures == 0:
        return "ok"
    return "retrying" if failures < OFFLINE_AFTER else "offline"


async def outbox_status(
    store: Store,
    *,
    state: SyncState = "off",
    clock: Callable[[], datetime] | None = None,
    last_ok: datetime | None = None,
    last_error: str | None = None,
) -> SyncStatus:
    """The outbox backlog as a :class:`SyncStatus` (``off`` by default: for a
    console with no hub configured)."""
    now = (clock or utcnow)()
    backlog, oldest, dead, conflicts = await outbox_counts(store)
    return SyncStatus(state, backlog, _age(oldest, now), dead, last_ok, last_error, conflicts)


def utcnow() -> datetime:
    """The time now, in UTC (the sync's default clock)."""
    return datetime.now(UTC)


def _age(oldest: str | None, now: datetime) -> float | None:
    if oldest is None:
        return None
    return max(0.0, (now - datetime.fromisoformat(oldest)).total_seconds())
