# SPDX-License-Identifier: GPL-2.0-or-later
"""Per-worklist progress for supervisors: done, remaining, reached, confirmed, opted out.

Counted from the floor's worklist items: with a hub, the hub's
(``careline.worklist_items``, every console's work, as far as the login's row-level
security shows it: all of them to a supervisor); without, this machine's local store.
The same query counts both. Counts only, no patient data, so a progress line may go
to a wallboard, a pipe or a log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime

from console.core.records import dataclass
from console.core.store import Store

REACHED = ("confirmed", "rescheduled", "cancelled", "opted_out")
"""Outcomes of a call in which the patient was spoken to (a voicemail, busy, no answer or
a wrong number did not reach them)."""

_PROGRESS = f"""
SELECT list_id,
       count(*) FILTER (WHERE state = 'done'),
       count(*) FILTER (WHERE state IN ('pending', 'claimed')),
       count(*) FILTER (WHERE outcome IN ({", ".join(f"'{o}'" for o in REACHED)})),
       count(*) FILTER (WHERE outcome = 'confirmed'),
       count(*) FILTER (WHERE outcome = 'opted_out' OR block_reason = 'opted_out'),
       count(*) FILTER (WHERE state = 'blocked')
FROM {{table}} GROUP BY list_id ORDER BY list_id
"""
LOCAL_PROGRESS_SQL = _PROGRESS.format(table="worklist_items")
"""Each list's counts in a local store."""
HUB_PROGRESS_SQL = _PROGRESS.format(table="careline.worklist_items")
"""Each list's counts on the hub."""


@dataclass(frozen=True, slots=True)
class WorklistProgress:
    """One worklist's progress, as a supervisor reads it."""

    list_id: str
    done: int
    """Items with an outcome (or no attempts left)."""
    remaining: int
    """Items still to call: pending or held by a console now."""
    reached: int
    """Done items in which the patient was spoken to (:data:`REACHED`)."""
    confirmed: int
    opted_out: int
    """Items of patients who opted out, on this call or before (never called again)."""
    blocked: int
    """Items never offered: opted out, no number given, or past their due day."""

    def json_line(self, at: datetime) -> str:
        """One ``queue tail --json`` line: ``kind`` ``worklist_progress`` and the counts."""
        stamp = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record = {"at": stamp, "kind": "worklist_progress", **asdict(self)}
        return json.dumps(record, separators=(",", ":"), ensure_ascii=True)

    def cells(self) -> tuple[str, ...]:
        """The wallboard row: list, done, remaining, reached, confirmed, opted out."""
        return (
            self.list_id,
            str(self.done),
            str(self.remaining),
            str(self.reached),
            str(self.confirmed),
            str(self.opted_out),
        )


async def local_progress(store: Store) -> list[WorklistProgress]:
    """Every worklist in ``store`` with its counts, by list id."""
    return progress_of(await store.fetch_all(LOCAL_PROGRESS_SQL))


def progress_of(rows: Iterable[Sequence[object]]) -> list[WorklistProgress]:
    """The rows of :data:`LOCAL_PROGRESS_SQL` or :data:`HUB_PROGRESS_SQL` as progress."""
    return [WorklistProgress(str(row[0]), *(int(str(v)) for v in row[1:])) for row in rows]
