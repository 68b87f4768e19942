# SPDX-License-Identifier: GPL-2.0-or-later
"""The supervisor's monitor leg and the events that arrive with the engine's reply.

The phone client reads the engine's lines in one task: the reply to ``monitor`` only
wakes the join, and the lines already read after it (the leg's ``call.state``, or its
``call.ended`` when the agent's engine refuses at once) are handed on before the join
has learnt the leg's call id. A fake phone (the layer under FloorMonitor) delivers them
exactly so; the real engines' path is tests/test_supervise_monitor.py.
"""

from __future__ import annotations

from typing import Any

from console.core.phone import EventHandler, PhoneClient, PhoneStatus, StatusHandler
from console.floor_view.figures import AgentRow
from console.floor_view.monitor import FloorMonitor

LEG = "sup-leg-1"


class ImmediatePhone:
    """A supervisor's phone whose engine answers ``monitor`` and has already sent
    ``after`` (the events read behind the reply) when the join resumes."""

    def __init__(
        self, on_event: EventHandler, on_status: StatusHandler, after: list[dict[str, Any]]
    ) -> None:
        self.on_event = on_event
        self.on_status = on_status
        self.after = after

    def start(self) -> None:
        self.on_status(PhoneStatus(True, "online"))

    async def command(self, name: str, **fields: Any) -> dict[str, Any]:
        del fields
        if name != "monitor":
            return {"ok": True}
        for event in self.after:  # handed on by the reader before the join runs on
            self.on_event(event)
        return {"ok": True, "call_id": LEG}

    async def stop(self) -> None:
        return None


class Grants:
    async def make(self, agent_id: str, call_id: str, modes: tuple[str, ...]) -> str:
        del agent_id, call_id, modes
        return "grant"


def monitor_with(after: list[dict[str, Any]]) -> FloorMonitor:
    def phone(on_event: EventHandler, on_status: StatusHandler) -> PhoneClient:
        return ImmediatePhone(on_event, on_status, after)  # type: ignore[return-value]

    return FloorMonitor(phone, Grants())


ALICE = AgentRow(
    "alice", "Alice", "", "on_call", True, "", 5.0, 5.0, 1.0,
    call_id="agent-call-1", contact="sip:alice@127.0.0.1:5070",
)  # fmt: skip


async def test_a_refusal_read_with_the_reply_ends_the_leg_and_says_why() -> None:
    monitor = monitor_with(
        [{"event": "call.ended", "call_id": LEG, "sip_status": 403, "sip_reason": "no grant"}]
    )
    await monitor.join(ALICE, "listen")
    assert monitor.leg is not None
    assert monitor.leg.state == "ended"
    assert monitor.status() == "Could not join Alice's call: no grant"


async def test_the_leg_answered_with_the_reply_is_on() -> None:
    monitor = monitor_with([{"event": "call.state", "call_id": LEG, "state": "active"}])
    await monitor.join(ALICE, "listen")
    assert monitor.leg is not None
    assert monitor.leg.state == "on"


async def test_events_of_other_calls_are_not_taken_for_the_leg() -> None:
    monitor = monitor_with([{"event": "call.ended", "call_id": "someone-else", "sip_status": 486}])
    await monitor.join(ALICE, "listen")
    assert monitor.leg is not None
    assert monitor.leg.state == "calling"
