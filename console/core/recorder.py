"""Persisting calls: engine events in, store rows out.

Every call the engine reports is written when it rings, updated when it is
answered, and closed with its whole timeline when it ends. A call that was
live when the engine died is closed as failed (ended by the engine), so the
history never shows a call that is still "ringing" forever.
"""

from __future__ import annotations

from typing import Any

from console.core.calls import LiveCall
from console.core.store import Store
from sip.protocol import utc_now_iso


class CallRecorder:
    """Writes one agent's calls into the local store."""

    def __init__(self, store: Store, agent_id: str) -> None:
        self.store = store
        self.agent_id = agent_id

    async def record(self, event: dict[str, Any]) -> bool:
        """Store what ``event`` says; True if a call was finished (history changed)."""
        name = event.get("event")
        if name in ("call.incoming", "call.outgoing"):
            await self.store.call_started(self.agent_id, event["call"])
        elif name == "call.replaced":
            await self.store.call_started(self.agent_id, event["new_call"])
        elif name == "hello":
            for call in (event.get("status") or {}).get("calls", []):
                await self.store.call_started(self.agent_id, call)
        elif name == "call.state" and event.get("state") == "active":
            await self.store.call_answered(str(event["call_id"]), str(event.get("time")))
        elif name == "call.ended":
            call = event.get("call") or {"id": event["call_id"]}
            await self.store.call_ended(
                call,
                reason=str(event.get("reason", "failed")),
                ended_by=str(event.get("ended_by", "network")),
                sip_status=event.get("sip_status")
                if isinstance(event.get("sip_status"), int)
                else None,
                ended_at=str(event.get("time") or utc_now_iso()),
            )
            return True
        return False

    async def link_patient(self, call_id: str, patient_id: str) -> None:
        """Note on the call which patient the agent verified (the card's
        "recent interactions" and, later, the hub sync read it)."""
        async with self.store.transaction() as db:
            await db.execute("UPDATE calls SET patient_id = ? WHERE id = ?", (patient_id, call_id))

    async def engine_lost(self, calls: list[LiveCall]) -> None:
        """Close calls that died with the engine."""
        now = utc_now_iso()
        for call in calls:
            await self.store.call_ended(
                {"id": call.id},
                reason="failed",
                ended_by="engine",
                sip_status=None,
                ended_at=now,
            )
