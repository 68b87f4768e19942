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
from datetime import datetime
from typing import Any

from console.core.calls import LiveCall
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

    async def record(self, event: dict[str, Any]) -> bool:
        """Store what ``event`` says; True if a call was finished (history changed)."""
        name = event.get("event")
        store = self.store
        if name in ("call.incoming", "call.outgoing"):
            await self.held.run(
                "call record", lambda: store.call_started(self.agent_id, event["call"])
            )
        elif name == "call.replaced":
            await self.held.run(
                "call record", lambda: store.call_started(self.agent_id, event["new_call"])
            )
        elif name == "hello":
            for call in (event.get("status") or {}).get("calls", []):
                await self.held.run(
                    "call record", functools.partial(store.call_started, self.agent_id, call)
                )
        elif name == "call.state" and event.get("state") == "active":
            call_id, answered = str(event["call_id"]), str(event.get("time"))
            await self.held.run("call record", lambda: store.call_answered(call_id, answered))
        elif name == "call.ended":
            call = event.get("call") or {"id": event["call_id"]}
            status = event.get("sip_status")
            await self.held.run(
                "call record",
                lambda: store.call_ended(
                    call,
                    reason=str(event.get("reason", "failed")),
                    ended_by=str(event.get("ended_by", "network")),
                    sip_status=status if isinstance(status, int) else None,
                    ended_at=str(event.get("time") or utc_now_iso()),
                ),
            )
            return True
        return False

    async def save_notes(self, call_id: str, notes: str) -> None:
        """Save the agent's notes for a call (a held save is replaced by a newer one)."""
        await self.held.run(
            "notes", lambda: self.store.save_notes(call_id, notes), key=("notes", call_id)
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
        (``at``: when it was found lost, or the last moment it was known alive)."""
        await self.held.run(
            "call record",
            functools.partial(
                self.store.call_ended,
                {"id": call.id},
                reason="lost",
                ended_by="console",
                sip_status=None,
                ended_at=utc_text(at),
            ),
        )

    async def turned_away(self, event: dict[str, Any]) -> str:
        """Record a call the engine refused without ringing; returns the id given to it."""
        call_id = str(uuid.uuid4())  # the engine gives a refused INVITE no call id
        reason = turned_away_reason(event)
        await self.held.run(
            "call record",
            functools.partial(self.store.call_turned_away, self.agent_id, call_id, event, reason),
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


def turned_away_reason(event: dict[str, Any]) -> str:
    """The event's reason if it is one the engine documents, else ``refused``."""
    reason = event.get("reason")
    return reason if isinstance(reason, str) and reason in TURNED_AWAY_REASONS else "refused"
