# SPDX-License-Identifier: GPL-2.0-or-later
"""The hub sync: delivers the local outbox to the hub and pulls what agents need.

Plain asyncio, no Textual. :class:`SyncWorker` runs beside the UI on the same
event loop; every database call awaits (aiosqlite's thread for the local store,
psycopg's async connection for the hub) and batches are bounded, so it never
holds the loop for long.

Delivery. Unsent outbox rows go to ``careline.ingest(source, records)`` in
``seq`` order, a batch per hub transaction. The hub names every record by
(this workstation's id, outbox seq) and answers ``stored``, ``duplicate``
(the same record is already there: delivered), ``rejected: <reason>`` or
``conflict: <reason>`` for each. Only after the hub has committed are the
local rows marked sent, so a crash between the two re-sends the batch and the
hub answers ``duplicate``: exactly one copy.

Conflict. The hub holds a different record under the same key (a store
restored from backup or a cloned workstation numbers new rows with seqs the
hub already has), or this workstation id belongs to another agent. Such a row
was not stored: it is parked like a rejected one, with the hub's sentence as
its reason, and logged as an error, never marked sent.

Order. A batch is always the first unsent rows, so a row is never delivered
before an earlier one, except past a row the hub rejected or found in
conflict: that one is parked (``dead_at``) and the rest go on. It stays
visible (:attr:`SyncStatus.dead`, :meth:`SyncWorker.dead_letters`) until
:meth:`SyncWorker.retry_dead`.

Backoff. When the hub cannot be reached (or fails the whole call), the rows of
the batch get ``attempts + 1``, ``last_error`` and ``next_attempt_at = now +
uniform(0, min(cap, base * 2**attempts))`` (capped exponential, full jitter),
so a restarted console waits out the same backoff. The head of the outbox
decides when the next try is due; rows queued since wait behind it.

Pull. The patient directory follows the hub's ``careline.patients`` from the
last seq pulled (kept in the local ``sync_state`` table), at start and every
``pull_interval`` seconds.

The parts: :mod:`console.hub.outbox` (the local rows) and
:mod:`console.hub.connection` (hub connections, PHI-free failure texts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from console.core.patients.directory import PatientDirectory
from console.core.patients.importers import record_from_fhir
from console.core.patients.records import ImportItem, RecordError, Rejection
from console.core.records import dataclass
from console.core.store import Store, storage_fault
from console.hub.connection import (
    ERROR_CHARS,
    Connect,
    HubUnavailableError,
    close_quietly,
    describe_failure,
    hub_connector,
)
from console.hub.outbox import DeadLetter, LocalOutbox, OutboxRecord, records_json
from console.hub.sync_status import (
    OFFLINE_AFTER,
    SyncState,
    SyncStatus,
    outbox_status,
    state_after,
    utcnow,
)

log = logging.getLogger(__name__)

PATIENTS_SEQ = "patients_seq"
"""The ``sync_state`` key of the hub patients seq pulled up to."""


@dataclass(frozen=True, slots=True)
class RecentInteraction:
    """Another agent's interaction with a patient, as the hub reports it."""

    at: datetime
    agent_id: str
    disposition: str
    urgency: str


def backoff_delay(attempts: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before try ``attempts + 1``: full jitter over a capped
    exponential, ``uniform(0, min(cap, base * 2**attempts))``."""
    ceiling = cap if attempts >= 64 else min(cap, base * 2.0**attempts)
    return rng.uniform(0.0, ceiling)


class SyncWorker:
    """Delivers this store's outbox to the hub and pulls the patient directory.

    ``connect`` opens a hub connection (see :func:`hub_connector`); ``region``
    is the dialling region for the directory import. ``after_commit`` is a test
    hook run after the hub committed a batch and before the local mark.
    """

    def __init__(
        self,
        store: Store,
        connect: Connect,
        *,
        region: str,
        batch: int = 500,
        clock: Callable[[], datetime] | None = None,
        on_status: Callable[[SyncStatus], None] | None = None,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        rng: random.Random | None = None,
        after_commit: Callable[[], None] | None = None,
        poll_interval: float = 5.0,
        pull_interval: float = 30.0,
        connect_timeout: float = 10.0,
        lookup_timeout: float = 3.0,
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self._store = store
        self._outbox = LocalOutbox(store, batch)
        self._connect_hub = connect
        self._directory = PatientDirectory(store, region)
        self._region = region
        self._batch = batch
        self._clock = clock or utcnow
        self._on_status = on_status
        self._base = backoff_base
        self._cap = backoff_cap
        self._rng = rng or random.Random()
        self._after_commit = after_commit
        self._poll = poll_interval
        self._pull_every = pull_interval
        self._connect_timeout = connect_timeout
        self._lookup_timeout = lookup_timeout
        self._wake = asyncio.Event()
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lookup: psycopg.AsyncConnection[Any] | None = None
        self._hub_lock = asyncio.Lock()
        self._lookup_lock = asyncio.Lock()
        self._failures = 0
        self._last_ok: datetime | None = None
        self._last_error: str | None = None
        self._last_status: SyncStatus | None = None
        self._counts = {"stored": 0, "duplicate": 0, "rejected": 0, "conflict": 0}

    # -- public -----------------------------------------------------------

    @property
    def answers(self) -> dict[str, int]:
        """How many records the hub answered ``stored``, ``duplicate``,
        ``rejected`` and ``conflict`` since this worker started."""
        return dict(self._counts)

    def wake(self) -> None:
        """Look at the outbox now (the console calls this after each publish).

        Rows still backing off stay waiting; idle rows go at once.
        """
        self._wake.set()

    async def run(self) -> None:
        """Deliver and pull until cancelled; closes the hub connections at the end."""
        next_pull = 0.0
        try:
            while True:
                self._wake.clear()
                try:
                    if time.monotonic() >= next_pull:
                        await self.pull()
                        next_pull = time.monotonic() + self._pull_every
                    await self.deliver()
                    due = await self._outbox.seconds_until_due(self._clock())
                    await self._report()
                except Exception as exc:
                    fault = storage_fault(exc)
                    if fault is None:
                        raise
                    # The local disk refused a write (full, failing): a row the hub
                    # took but could not be marked sent is delivered again later,
                    # and the hub answers "duplicate". Wait, then try again; never
                    # die, and do not re-pull the directory at once.
                    log.warning("sync paused: %s", fault)
                    next_pull = max(next_pull, time.monotonic() + self._poll)
                    due = None
                timeout = min(self._poll, max(0.0, next_pull - time.monotonic()))
                if due is not None:
                    timeout = min(timeout, due)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
        finally:
            await self.close()

    async def deliver(self) -> int:
        """Deliver every due row now, batch by batch; returns how many the hub
        took (stored or duplicate). Stops at the first failed batch (recorded
        as backoff on its rows); never raises for hub errors."""
        delivered = 0
        while True:
            rows = await self._outbox.head()
            if not rows or not self._outbox.due(rows, self._clock()):
                break
            taken = await self._deliver_batch(rows)
            if taken is None:
                break
            delivered += taken
        await self._report()
        return delivered

    async def pull(self) -> int:
        """Pull new patient directory resources from the hub; returns how many
        were read. Hub errors are recorded in the status, not raised."""
        pulled = 0
        try:
            rows = await self._store.fetch_all(
                "SELECT value FROM sync_state WHERE key = ?", (PATIENTS_SEQ,)
            )
            after = int(rows[0][0]) if rows else 0
            while True:
                async with self._hub_lock:
                    conn = await self._connection()
                    async with conn.transaction(), conn.cursor() as cursor:
                        await cursor.execute(
                            "SELECT seq, resource_type, resource_id, resource "
                            "FROM careline.patients WHERE seq > %s ORDER BY seq LIMIT %s",
                            (after, self._batch),
                        )
                        page = await cursor.fetchall()
                if not page:
                    break
                items = await asyncio.to_thread(self._records, page)
                await self._directory.import_records(items)
                after = int(page[-1][0])
                async with self._store.transaction() as db:
                    await db.execute(
                        "INSERT INTO sync_state (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (PATIENTS_SEQ, str(after)),
                    )
                pulled += len(page)
                if len(page) < self._batch:
                    break
        except (psycopg.Error, OSError, TimeoutError) as exc:
            await self._hub_failed(exc)
        else:
            self._hub_answered()
        await self._report()
        return pulled

    async def status(self) -> SyncStatus:
        """The current :class:`SyncStatus` (reads the outbox counts)."""
        return await outbox_status(
            self._store,
            state=state_after(self._failures),
            clock=self._clock,
            last_ok=self._last_ok,
            last_error=self._last_error,
        )

    async def dead_letters(self) -> list[DeadLetter]:
        """The parked rows, oldest first."""
        return await self._outbox.dead_letters()

    async def retry_dead(self, seqs: Iterable[int] | None = None) -> int:
        """Put parked rows (all, or those of ``seqs``) back in line with a fresh
        backoff; returns how many. Wakes the worker."""
        count = await self._outbox.revive(seqs)
        self.wake()
        await self._report()
        return count

    async def recent_for_patient(self, patient_id: str, limit: int = 5) -> list[RecentInteraction]:
        """Recent interactions of every agent with this patient, newest first.

        Runs on a connection of its own (a lookup never waits behind a
        delivery batch). Raises :class:`HubUnavailableError` when the hub does not
        answer within ``lookup_timeout`` seconds or fails.
        """
        try:
            async with asyncio.timeout(self._lookup_timeout), self._lookup_lock:
                if self._lookup is None or self._lookup.closed:
                    self._lookup = await self._connect_hub()
                conn = self._lookup
                async with conn.transaction(), conn.cursor() as cursor:
                    await cursor.execute(
                        "SELECT at, agent_id, disposition, urgency "
                        "FROM careline.recent_interactions_for_patient(%s, %s)",
                        (patient_id, limit),
                    )
                    rows = await cursor.fetchall()
        except TimeoutError:
            await self._drop_lookup()
            raise HubUnavailableError("the hub did not answer in time") from None
        except psycopg.Error as exc:
            if isinstance(exc, psycopg.OperationalError):
                await self._drop_lookup()
            raise HubUnavailableError(describe_failure(exc)) from None
        return [
            RecentInteraction(_aware(at), str(agent), str(disposition), str(urgency))
            for at, agent, disposition, urgency in rows
        ]

    async def close(self) -> None:
        """Close the hub connections (the worker reconnects if used again)."""
        await self._drop_connection()
        await self._drop_lookup()

    # -- delivery ---------------------------------------------------------

    async def _deliver_batch(self, rows: Sequence[OutboxRecord]) -> int | None:
        """One hub transaction for ``rows``; returns how many were delivered,
        or None when the batch failed as a whole (backoff recorded)."""
        try:
            answers = await self._ingest(rows)
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            # The hub refused the call over some row's content rather than
            # answering 'rejected' for it: go one row at a time to find it.
            if len(rows) > 1:
                return await self._deliver_singly(rows)
            await self._settle({}, {int(rows[0][0]): "rejected: " + describe_failure(exc)})
            self._counts["rejected"] += 1
            self._hub_answered()
            return 0
        except (psycopg.Error, OSError, TimeoutError) as exc:
            await self._hub_failed(exc, rows)
            return None
        sent: dict[int, str] = {}
        dead: dict[int, str] = {}
        for seq, status in answers.items():
            if status in ("stored", "duplicate"):
                sent[seq] = status
                self._counts[status] += 1
            elif status.startswith(("rejected", "conflict")):
                dead[seq] = status[:ERROR_CHARS]
            else:
                dead[seq] = f"the hub answered {status[:40]!r}"
        clashes = sorted(seq for seq, reason in dead.items() if reason.startswith("conflict"))
        self._counts["rejected"] += len(dead) - len(clashes)
        self._counts["conflict"] += len(clashes)
        if clashes:
            # Loud: real records the hub did not take. Only the outbox seqs
            # are logged, never a payload (it may be PHI).
            log.error(
                "the hub found %d outbox rows of this workstation in conflict "
                "(restored backup or cloned workstation?): parked seq %s",
                len(clashes),
                ", ".join(map(str, clashes[:20])),
            )
        missing = [int(row[0]) for row in rows if int(row[0]) not in answers]
        if missing:
            # Committed but incomplete: the answered rows are done; the others
            # go again (and come back 'duplicate' if the hub did store them).
            log.warning("hub answered %d of %d records", len(answers), len(rows))
        await self._settle(sent, dead)
        self._hub_answered()
        if missing:
            await self._record_failure(
                [row for row in rows if int(row[0]) in missing], "the hub skipped records"
            )
            return len(sent) if sent else None
        return len(sent)

    async def _deliver_singly(self, rows: Sequence[OutboxRecord]) -> int | None:
        delivered = 0
        for row in rows:
            taken = await self._deliver_batch([row])
            if taken is None:
                return delivered or None
            delivered += taken
        return delivered

    async def _ingest(self, rows: Sequence[OutboxRecord]) -> dict[int, str]:
        source = await self._outbox.source_id()
        records = records_json(rows)
        async with self._hub_lock:
            conn = await self._connection()
            try:
                async with conn.transaction(), conn.cursor() as cursor:
                    await cursor.execute(
                        "SELECT source_seq, status FROM careline.ingest(%s::uuid, %s::jsonb)",
                        (source, records),
                    )
                    answers = {int(seq): str(status) for seq, status in await cursor.fetchall()}
            except psycopg.OperationalError:
                await self._drop_connection()
                raise
        if self._after_commit is not None:
            self._after_commit()
        return answers

    async def _settle(self, sent: dict[int, str], dead: dict[int, str]) -> None:
        """Mark delivered rows sent and rejected ones dead, in one local transaction."""
        await self._outbox.settle(sent, dead, self._clock())
        if dead:
            log.warning("the hub rejected %d outbox rows (parked)", len(dead))

    async def _hub_failed(
        self, exc: BaseException, rows: Sequence[OutboxRecord] | None = None
    ) -> None:
        self._failures += 1
        self._last_error = describe_failure(exc)
        if isinstance(exc, psycopg.OperationalError | OSError | TimeoutError):
            await self._drop_connection()
        log.info("hub sync failed (%d in a row): %s", self._failures, self._last_error)
        if rows:
            await self._record_failure(rows, self._last_error)

    async def _record_failure(self, rows: Sequence[OutboxRecord], error: str) -> None:
        attempts = max(int(row[5]) for row in rows)
        delay = backoff_delay(attempts, self._base, self._cap, self._rng)
        retry_at = self._clock() + timedelta(seconds=delay)
        await self._outbox.back_off(rows, retry_at, error[:ERROR_CHARS])

    def _hub_answered(self) -> None:
        self._failures = 0
        self._last_ok = self._clock()
        self._last_error = None

    # -- plumbing ---------------------------------------------------------

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await asyncio.wait_for(self._connect_hub(), self._connect_timeout)
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        await close_quietly(conn)

    async def _drop_lookup(self) -> None:
        conn, self._lookup = self._lookup, None
        await close_quietly(conn)

    def _records(self, page: Sequence[OutboxRecord]) -> list[ImportItem | Rejection]:
        items: list[ImportItem | Rejection] = []
        for seq, kind, _resource_id, resource in page:
            body = resource if isinstance(resource, dict) else json.loads(resource)
            try:
                items.append(record_from_fhir(body, self._region))
            except RecordError as exc:
                items.append(Rejection("hub", f"seq {seq} ({kind})", str(exc)))
        return items

    async def _report(self) -> None:
        if self._on_status is None:
            return
        status = await self.status()
        if status != self._last_status:
            self._last_status = status
            self._on_status(status)


def _aware(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


__all__ = [
    "OFFLINE_AFTER",
    "Connect",
    "DeadLetter",
    "HubUnavailableError",
    "RecentInteraction",
    "SyncState",
    "SyncStatus",
    "SyncWorker",
    "backoff_delay",
    "hub_connector",
    "outbox_status",
]
