# SPDX-License-Identifier: GPL-2.0-or-later
"""The recordings' rows and audit: the engine's ``recording`` events in, store rows out.

One row per recorded call (``recordings``), one per pause (``recording_pauses``)
with when it started and ended, and an audit row for every start, pause,
resume and stop (a consent refused is a ``record_start`` denied; a recording
that could not start or was cut short by the disk, a ``fail``). Every write
goes through :class:`~console.core.held_writes.HeldWrites`, so a full disk
holds it instead of failing the call. No patient data: call ids, times, states.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime

from console.core.audit import Action, AuditLog, Outcome
from console.core.config.recording import RecordingConfig
from console.core.events import RecordingChanged
from console.core.held_writes import HeldWrites
from console.core.records import dataclass
from console.core.store import Store
from sip.protocol import utc_now_iso


@dataclass(frozen=True, slots=True)
class RecordingRow:
    """One recorded call as the store keeps it."""

    call_id: str
    queue: str
    mode: str
    consent_by: str | None
    file: str
    state: str
    detail: str
    started_at: str
    ended_at: str | None
    seconds: float | None
    bytes: int | None
    retention_days: int
    deleted_at: str | None


@dataclass(frozen=True, slots=True)
class PauseRow:
    """One pause of a recording."""

    paused_at: str
    resumed_at: str | None
    reason: str


_ROW = (
    "call_id, queue, mode, consent_by, file, state, detail, started_at, ended_at, seconds, "
    "bytes, retention_days, deleted_at"
)


class RecordingLedger:
    """Writes one agent's recordings and their audit into the local store."""

    def __init__(
        self,
        store: Store,
        audit: AuditLog,
        agent_id: str,
        config: RecordingConfig,
        held: HeldWrites | None = None,
    ) -> None:
        self.store = store
        self.audit = audit
        self.agent_id = agent_id
        self.config = config
        self.held = held or HeldWrites()
        self._paused: dict[str, bool] = {}
        """Each recording call's last known pause (absent: no row yet)."""

    async def apply(self, event: RecordingChanged, queue: str) -> None:
        """Store what one ``recording`` event says about the call (of ``queue``)."""
        call_id, state = event.call_id, event.state
        at = event.time_text or utc_now_iso()
        started = call_id in self._paused
        if state == "recording":
            if not started:
                self._paused[call_id] = False
                await self._write(functools.partial(self._insert, event, queue, at))
                await self._audit("record_start", "ok", at)
            # A hold is a mark in the file, not a pause: only pauses asked for count.
            if event.paused != self._paused[call_id]:
                self._paused[call_id] = event.paused
                write = self._pause if event.paused else self._resume
                await self._write(functools.partial(write, call_id, at, event.reason))
                await self._audit("record_pause" if event.paused else "record_resume", "ok", at)
        elif state in ("stopped", "failed") and (started or await self._open_row(call_id)):
            # A row opened by an earlier console (this one attached to a running engine)
            # is closed the same way.
            self._paused.pop(call_id, None)
            await self._write(functools.partial(self._close, event, at))
            await self._audit("record_stop", "ok" if state == "stopped" else "fail", at)
        elif state == "failed":
            await self._audit("record_start", "fail", at)
        elif state == "refused":
            await self._audit("record_start", "denied", at)

    async def phone_restarted(self, live: set[str], at: str) -> None:
        """The engine said hello: a recording still open whose call it no longer has was cut
        short with the engine (its file decrypts up to its last whole second)."""
        rows = await self.store.fetch_all(
            "SELECT call_id FROM recordings WHERE state = 'recording'"
        )
        # With those this console started, whose rows may still be on their way to disk.
        open_ids = {str(call_id) for (call_id,) in rows} | set(self._paused)
        for call_id in sorted(open_ids - live):
            lost = RecordingChanged(
                name="recording",
                time_text=at,
                call_id=str(call_id),
                state="failed",
                detail="the phone stopped mid-call: the recording ends where it did",
            )
            await self.apply(lost, "")

    async def _open_row(self, call_id: str) -> bool:
        # Not settled first: asked only for a call another console started (this one's are
        # in _paused), and on the engine's event path.
        rows = await self.store.fetch_all(
            "SELECT 1 FROM recordings WHERE call_id = ? AND state = 'recording'", (call_id,)
        )
        return bool(rows)

    # ------------------------------------------------------------------ reads
    async def for_call(self, call_id: str) -> RecordingRow | None:
        """The recording of one call (an interaction's ``call_id``), if it was recorded."""
        await self.held.settled()  # what was asked for before is read
        rows = await self.store.fetch_all(
            f"SELECT {_ROW} FROM recordings WHERE call_id = ?", (call_id,)
        )
        return RecordingRow(*rows[0]) if rows else None

    async def for_interaction(self, interaction_id: str) -> RecordingRow | None:
        """The recording of an interaction's call (the interactions' recordings list)."""
        await self.held.settled()  # what was asked for before is read
        columns = ", ".join(f"r.{name}" for name in _ROW.split(", "))
        rows = await self.store.fetch_all(
            f"SELECT {columns} FROM recordings AS r JOIN interactions AS i "
            "ON i.call_id = r.call_id WHERE i.id = ?",
            (interaction_id,),
        )
        return RecordingRow(*rows[0]) if rows else None

    async def pauses(self, call_id: str) -> list[PauseRow]:
        """A recording's pauses, in order."""
        await self.held.settled()  # what was asked for before is read
        rows = await self.store.fetch_all(
            "SELECT paused_at, resumed_at, reason FROM recording_pauses WHERE call_id = ? "
            "ORDER BY paused_at",
            (call_id,),
        )
        return [PauseRow(*row) for row in rows]

    # ----------------------------------------------------------------- writes
    # Both behind (HeldWrites.behind, in order with every other write): a recording's
    # events come with the engine's, and never keep the screen waiting for the disk.
    async def _write(self, write: Callable[[], Awaitable[None]]) -> None:
        self.held.behind("recording", write)

    async def _audit(self, action: Action, outcome: Outcome, at: str) -> None:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
        self.held.behind(
            "audit entry",
            functools.partial(
                self.audit.append, self.agent_id, action, "recording", outcome, None, at=when
            ),
        )

    async def _insert(self, event: RecordingChanged, queue: str, at: str) -> None:
        retention = self.config.for_queue(queue).retention_days
        async with self.store.transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO recordings (call_id, agent_id, queue, mode, consent_by, "
                "file, state, started_at, retention_days) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.call_id,
                    self.agent_id,
                    queue,
                    event.mode or "announce",
                    event.consent_by or None,
                    event.file,
                    "recording",
                    at,
                    retention,
                ),
            )

    async def _pause(self, call_id: str, at: str, reason: str) -> None:
        async with self.store.transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO recording_pauses (call_id, paused_at, reason) "
                "VALUES (?, ?, ?)",
                (call_id, at, reason[:40]),
            )

    async def _resume(self, call_id: str, at: str, _reason: str = "") -> None:
        async with self.store.transaction() as db:
            await db.execute(
                "UPDATE recording_pauses SET resumed_at = ? "
                "WHERE call_id = ? AND resumed_at IS NULL",
                (at, call_id),
            )

    async def _close(self, event: RecordingChanged, at: str) -> None:
        async with self.store.transaction() as db:
            await db.execute(
                "UPDATE recording_pauses SET resumed_at = ? "
                "WHERE call_id = ? AND resumed_at IS NULL",
                (at, event.call_id),
            )
            await db.execute(
                "UPDATE recordings SET state = ?, detail = ?, ended_at = ?, seconds = ?, "
                "bytes = ? WHERE call_id = ?",
                (event.state, event.detail, at, event.seconds, event.bytes, event.call_id),
            )
