# SPDX-License-Identifier: GPL-2.0-or-later
"""Persisting calls: engine events in, store rows out.

Every call the engine reports is written when it rings, updated when it is
answered, and closed with its whole timeline when it ends. A call that was
live when the engine or the console died is closed as lost, so the history
never shows a call that is still "ringing" forever; a call the engine turned
away is recorded as a finished row with the reason.

Every write goes through :class:`~console.core.held_writes.HeldWrites`: a full
disk holds it in memory (in order) instead of failing the call.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from console.core.calls import LiveCall
from console.core.events import (
    AnyEvent,
    CallAppeared,
    CallEnded,
    CallReplaced,
    CallStateChanged,
    CallTurnedAway,
    Hello,
)
from console.core.held_writes import HeldWrites
from console.core.interactions import utc_text
from console.core.store import Store
from sip.protocol import utc_now_iso


class CallRecorder:
    """Writes one agent's calls into the local store."""

    def __init__(self, store: Store, agent_id: str, held: HeldWrites | None = None) -> None:
        self.store = store
        self.agent_id = agent_id
        self.held = held or HeldWrites()

    async def record(self, event: AnyEvent, *, behind: bool = False) -> bool:
        """Store what ``event`` says; True if a call was finished (history changed).
        With ``behind``, the rows are written behind (:meth:`HeldWrites.behind`): this
        returns without waiting for the disk."""
        store, agent_id = self.store, self.agent_id
        match event:
            case CallAppeared(call=call) | CallReplaced(new_call=call):
                await self._write(
                    functools.partial(store.call_started, agent_id, dict(call.record)), behind
                )
            case Hello(calls=calls):
                for call in calls:
                    await self._write(
                        functools.partial(store.call_started, agent_id, dict(call.record)),
                        behind,
                    )
            case CallStateChanged(call_id=call_id, state="active"):
                await self._write(
                    functools.partial(
                        store.call_answered, call_id, event.time_text or utc_now_iso()
                    ),
                    behind,
                )
            case CallEnded():
                await self._write(
                    functools.partial(
                        store.call_ended,
                        dict(event.record),
                        reason=event.reason,
                        ended_by=event.ended_by,
                        sip_status=event.sip_status,
                        ended_at=event.time_text or utc_now_iso(),
                    ),
                    behind,
                )
                return True
        return False

    async def _write(self, write: Callable[[], Awaitable[None]], behind: bool = False) -> None:
        await self.held.write("call record", write, behind=behind)

    def save_notes(self, call_id: str, notes: str) -> None:
        """Save the agent's notes for a call, behind (:meth:`HeldWrites.behind`): the notes
        box saves on a timer and when it changes call, and neither may keep the screen
        waiting for the disk. A held save is replaced by a newer one."""
        self.held.behind(
            "notes",
            functools.partial(self.store.save_notes, call_id, notes),
            key=("notes", call_id),
        )

    async def link_patient(self, call_id: str, patient_id: str) -> None:
        """Note on the call which patient the agent verified (the card's
        "recent interactions" and, later, the hub sync read it)."""

        async def write() -> None:
            async with self.store.transaction() as db:
                await db.execute(
                    "UPDATE calls SET patient_id = ? WHERE id = ?", (patient_id, call_id)
                )

        await self.held.run("call record", write)

    async def lost(self, call: LiveCall, at: datetime) -> None:
        """Close a call that died with the engine or the console as ``lost``
        (``at``: when it was found lost, or the last moment it was known alive); behind,
        as the other records of an engine event are."""
        await self._write(
            functools.partial(
                self.store.call_ended,
                {"id": call.id},
                reason="lost",
                ended_by="console",
                sip_status=None,
                ended_at=utc_text(at),
            ),
            behind=True,
        )

    async def turned_away(self, event: CallTurnedAway) -> str:
        """Record a call the engine refused without ringing; returns the id given to it."""
        call_id = str(uuid.uuid4())  # the engine gives a refused INVITE no call id
        reason = turned_away_reason(event.reason)
        record = dict(event.record)
        # Behind: a burst of refused calls while the store is locked (or the disk slow)
        # must not hold the screen from the next call that rings.
        await self._write(
            functools.partial(self.store.call_turned_away, self.agent_id, call_id, record, reason),
            behind=True,
        )
        return call_id


TURNED_AWAY_REASONS = (
    "queue_full",
    "agent not_ready",
    "agent wrap_up",
    "agent offline",
    "library_capacity",
    "not_encrypted",
    "no_allowed_codec",
    "refused",
)
"""The engine's ``call.turned_away`` reasons (docs/engine-protocol.md)."""


def turned_away_reason(reason: str) -> str:
    """``reason`` if it is one the engine documents, else ``refused``."""
    return reason if reason in TURNED_AWAY_REASONS else "refused"
