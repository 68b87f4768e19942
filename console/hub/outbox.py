# SPDX-License-Identifier: GPL-2.0-or-later
"""The local side of the hub sync: the outbox rows of this workstation's store.

Which rows go next and when they are due, marking them sent, parked (dead)
or backing off, and the counts the status bar shows. Plain SQL on the local
:class:`~console.core.store.Store`; nothing here talks to the hub.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from console.core.records import dataclass
from console.core.store import Store

OutboxRecord = tuple[Any, ...]
"""An unsent row as :meth:`LocalOutbox.head` reads it: ``seq, kind, entity_id,
payload, created_at, attempts, next_attempt_at``."""

_CHUNK = 500
"""Rows named in one statement: SQLite caps bound parameters per statement."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An outbox row the hub rejected (the payload is not shown: it may be PHI)."""

    seq: int
    kind: str
    entity_id: str
    dead_at: datetime
    reason: str


def stamp(moment: datetime) -> str:
    """``moment`` as the outbox stores times: UTC ISO 8601, milliseconds, ending in Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def records_json(rows: Sequence[OutboxRecord]) -> str:
    """The rows as the JSON array ``careline.ingest`` takes.

    Payloads are stored as checked JSON text: spliced in as they are, not
    parsed and serialised again.
    """
    return "[" + ",".join(_record_json(row) for row in rows) + "]"


def _record_json(row: OutboxRecord) -> str:
    seq, kind, entity_id, payload, created_at = row[:5]
    return (
        f'{{"source_seq":{int(seq)},"kind":{json.dumps(kind)},'
        f'"entity_id":{json.dumps(entity_id)},"payload":{payload},'
        f'"created_at":{json.dumps(created_at)}}}'
    )


class LocalOutbox:
    """The outbox of ``store`` as the sync works through it, ``batch`` rows at a time."""

    def __init__(self, store: Store, batch: int) -> None:
        self._store = store
        self._batch = batch
        self._source: str | None = None

    async def source_id(self) -> str:
        """This workstation's id: the hub names every record by it and the seq."""
        if self._source is None:
            rows = await self._store.fetch_all("SELECT id FROM workstation")
            self._source = str(rows[0][0])
        return self._source

    async def head(self) -> list[OutboxRecord]:
        """The first unsent, live rows, in seq order, at most one batch."""
        return await self._store.fetch_all(
            "SELECT seq, kind, entity_id, payload, created_at, attempts, next_attempt_at "
            "FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL ORDER BY seq LIMIT ?",
            (self._batch,),
        )

    @staticmethod
    def due(rows: Sequence[OutboxRecord], now: datetime) -> bool:
        """No row of ``rows`` (a :meth:`head`) is still backing off at ``now``."""
        waits = [str(row[6]) for row in rows if row[6] is not None]
        return not waits or max(waits) <= stamp(now)

    async def seconds_until_due(self, now: datetime) -> float | None:
        """Seconds until the head is due (0: now); None when nothing is waiting."""
        rows = await self._store.fetch_all(
            "SELECT max(next_attempt_at) FROM (SELECT next_attempt_at FROM outbox "
            "WHERE sent_at IS NULL AND dead_at IS NULL ORDER BY seq LIMIT ?)",
            (self._batch,),
        )
        rows_left = await self._store.fetch_all(
            "SELECT 1 FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL LIMIT 1"
        )
        if not rows_left:
            return None
        if not rows or rows[0][0] is None:
            return 0.0
        wait = (datetime.fromisoformat(str(rows[0][0])) - now).total_seconds()
        return max(0.0, wait)

    async def settle(self, sent: Iterable[int], dead: dict[int, str], now: datetime) -> None:
        """Mark delivered rows sent and rejected ones dead, in one local transaction."""
        at = stamp(now)
        async with self._store.transaction() as db:
            seqs = sorted(sent)
            for start in range(0, len(seqs), _CHUNK):
                chunk = seqs[start : start + _CHUNK]
                await db.execute(
                    "UPDATE outbox SET sent_at = ?, next_attempt_at = NULL, last_error = NULL "
                    f"WHERE sent_at IS NULL AND seq IN ({', '.join('?' * len(chunk))})",
                    (at, *chunk),
                )
            await db.executemany(
                "UPDATE outbox SET dead_at = ?, last_error = ?, attempts = attempts + 1 "
                "WHERE seq = ? AND sent_at IS NULL",
                [(at, reason, seq) for seq, reason in sorted(dead.items())],
            )

    async def back_off(self, rows: Sequence[OutboxRecord], retry_at: datetime, error: str) -> None:
        """Count a failed try on ``rows`` and hold them until ``retry_at``."""
        seqs = [int(row[0]) for row in rows]
        async with self._store.transaction() as db:
            for start in range(0, len(seqs), _CHUNK):
                chunk = seqs[start : start + _CHUNK]
                await db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, "
                    f"last_error = ? WHERE sent_at IS NULL AND seq IN "
                    f"({', '.join('?' * len(chunk))})",
                    (stamp(retry_at), error, *chunk),
                )

    async def dead_letters(self) -> list[DeadLetter]:
        """The parked rows, oldest first."""
        rows = await self._store.fetch_all(
            "SELECT seq, kind, entity_id, dead_at, coalesce(last_error, '') FROM outbox "
            "WHERE dead_at IS NOT NULL ORDER BY seq"
        )
        return [
            DeadLetter(int(seq), str(kind), str(entity), datetime.fromisoformat(at), str(reason))
            for seq, kind, entity, at, reason in rows
        ]

    async def revive(self, seqs: Iterable[int] | None = None) -> int:
        """Put parked rows (all, or those of ``seqs``) back in line with a fresh
        backoff; returns how many."""
        async with self._store.transaction() as db:
            sql = (
                "UPDATE outbox SET dead_at = NULL, attempts = 0, next_attempt_at = NULL, "
                "last_error = NULL WHERE dead_at IS NOT NULL AND sent_at IS NULL"
            )
            if seqs is None:
                cursor = await db.execute(sql)
                count = cursor.rowcount
                await cursor.close()
            else:
                count = 0
                for seq in sorted(set(seqs)):
                    cursor = await db.execute(sql + " AND seq = ?", (int(seq),))
                    count += cursor.rowcount
                    await cursor.close()
        return count


async def outbox_counts(store: Store) -> tuple[int, str | None, int, int]:
    """(backlog, oldest unsent created_at, parked rows, parked conflicts)."""
    rows = await store.fetch_all(
        "SELECT count(*), min(created_at), "
        "(SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL AND sent_at IS NULL), "
        "(SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL AND sent_at IS NULL "
        " AND last_error LIKE 'conflict%') "
        "FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL"
    )
    backlog, oldest, dead, conflicts = rows[0]
    return int(backlog), (str(oldest) if oldest is not None else None), int(dead), int(conflicts)
