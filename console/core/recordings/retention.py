# SPDX-License-Identifier: GPL-2.0-or-later
"""Retention: a recording older than its queue's ``retention_days`` is deleted, and audited.

Run by the console at start and every hour, and by ``careline recordings purge``.
The file goes first, then the row is marked ``deleted`` (kept, with when: the
interaction still shows a recording existed) and a ``record_delete`` audit row
is written. A file already gone counts as deleted; one the disk refuses to
delete stays listed and is tried again next time.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

from console.core.audit import AuditLog, utc_stamp
from console.core.records import dataclass
from console.core.store import Store

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600
"""How often a running console deletes what is past its retention."""


@dataclass(frozen=True, slots=True)
class Purged:
    """What one purge did."""

    deleted: list[str]
    """Call ids whose recordings were deleted."""
    failed: list[str]
    """Call ids whose files could not be deleted (tried again next time)."""


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


async def purge(store: Store, audit: AuditLog, agent_id: str, now: datetime) -> Purged:
    """Delete every recording past its retention at ``now`` (aware, UTC)."""
    rows = await store.fetch_all(
        "SELECT call_id, file, started_at, retention_days FROM recordings "
        "WHERE state <> 'deleted' ORDER BY started_at"
    )
    deleted: list[str] = []
    failed: list[str] = []
    for call_id, file, started_at, days in rows:
        started = datetime.fromisoformat(str(started_at).replace("Z", "+00:00"))
        if started + timedelta(days=int(days)) > now:
            continue
        try:
            await asyncio.to_thread(_unlink, Path(file))
        except OSError as exc:
            log.warning("a recording past its retention could not be deleted: %s", exc.strerror)
            failed.append(str(call_id))
            continue
        async with store.transaction() as db:
            await db.execute(
                "UPDATE recordings SET state = 'deleted', deleted_at = ? WHERE call_id = ?",
                (utc_stamp(now), call_id),
            )
        await audit.append(agent_id, "record_delete", "recording", "ok", None, at=now)
        deleted.append(str(call_id))
    return Purged(deleted, failed)
