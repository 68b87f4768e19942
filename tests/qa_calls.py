# SPDX-License-Identifier: GPL-2.0-or-later
"""A week of calls in a real local store for the quality tests and the keystroke bench:
written through the store's own call and interaction writers, as the console writes
them (times chosen here instead of a clock)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from console.core.interactions.records import Interaction
from console.core.interactions.store import InteractionStore
from console.core.interactions.values import utc_text
from console.core.store import Store

MONDAY = datetime(2026, 11, 30, 9, tzinfo=UTC)
"""The week the calls are in (Monday 09:00 UTC)."""


async def record_call(
    store: Store,
    agent: str,
    received: datetime,
    *,
    talk_s: float = 180,
    facts: Sequence[tuple[float, str]] = (),
    red_flag_s: float | None = None,
    disposition: str = "resolved",
    urgency: str = "routine",
    wrap_s: float = 30,
    patient_id: str | None = None,
) -> str:
    """One answered call (``facts``: timeline facts at seconds after the answer, such as
    ``(40, "hold")``; a red flag at ``red_flag_s``), wrapped up ``wrap_s`` after its end;
    returns the call id."""
    call_id = str(uuid.uuid4())
    answered = received + timedelta(seconds=5)
    ended = answered + timedelta(seconds=talk_s)

    def at(seconds: float) -> str:
        return utc_text(answered + timedelta(seconds=seconds))

    timeline: list[dict[str, Any]] = [
        {"at": utc_text(received), "fact": "ring"},
        {"at": at(0), "fact": "answer"},
        *({"at": at(s), "fact": fact} for s, fact in facts),
        {"at": utc_text(ended), "fact": "end", "reason": "hangup"},
    ]
    call = {"id": call_id, "received_at": utc_text(received), "caller": {}, "queue": "general"}
    await store.call_started(agent, call)
    await store.call_answered(call_id, at(0))
    await store.call_ended(
        {"id": call_id, "timeline": timeline},
        reason="hangup",
        ended_by="remote",
        sip_status=200,
        ended_at=utc_text(ended),
    )
    # What the console tells the floor when the call ends (the hub's talk time).
    floor: dict[str, object] = {"agent_id": agent, "call_id": call_id, "event": "ended"}
    floor["queue"] = "general"
    floor |= {"wait_s": 5.0, "talk_s": float(talk_s), "acw_s": 0.0, "at": utc_text(ended)}
    await InteractionStore(store).publish("call_event", call_id, floor)
    if patient_id is not None:  # as the console links a verified caller
        async with store.transaction() as db:
            await db.execute("UPDATE calls SET patient_id = ? WHERE id = ?", (patient_id, call_id))
    flags = [] if red_flag_s is None else [{"rule": "chest_pain", "at": at(red_flag_s)}]
    wrapped = InteractionStore(store, clock=lambda: ended + timedelta(seconds=wrap_s))
    await wrapped.finish(
        Interaction(
            agent_id=agent,
            started_at=received,
            ended_at=ended,
            disposition=disposition,
            call_id=call_id,
            patient_id=patient_id,
            red_flags=flags,
            urgency=urgency,  # type: ignore[arg-type]
        )
    )
    return call_id


async def a_week(store: Store, agents: Sequence[str] = ("alice", "bob"), per_agent: int = 6) -> str:
    """``per_agent`` ordinary calls per agent over the week, and one emergency of the
    first agent (a red flag, transferred 30 s later); returns the emergency's call id."""
    for number, agent in enumerate(agents):
        for n in range(per_agent):
            await record_call(store, agent, MONDAY + timedelta(hours=n * 7 + number))
    return await record_call(
        store,
        agents[0],
        MONDAY + timedelta(days=2),
        facts=[(70, "transfer_attempt")],
        red_flag_s=40,
        disposition="emergency_escalated",
        urgency="emergency",
        patient_id="patient-1",
    )
