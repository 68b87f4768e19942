# SPDX-License-Identifier: GPL-2.0-or-later
"""A child process for the crash tests: writes through InteractionStore until killed.

    python -m tests.interaction_writer drafts STORE CALL_ID
        saves ever-growing drafts for one ended call; prints "saved N" after
        save N has returned (is durable).
    python -m tests.interaction_writer interactions STORE START
        for i = START, START+1, …: stores call i, saves its draft, then
        finishes interaction i with i % 3 callbacks; prints "ok I ID" after
        finish() has returned (acknowledged).

Ids are derived from i, so a writer restarted at an i whose finish committed
before the kill (but was never acknowledged) retries the same interaction:
the retry must store nothing twice.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from console.core.interactions import FollowUp, Interaction, InteractionStore
from console.core.store import Store

NAMESPACE = uuid.UUID("5f0c2b8e-7d0a-4c44-9a1e-2b6f3c1d9e70")
"""Namespace of the writer's uuid5 ids."""
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def interaction_id(i: int) -> str:
    """The id of interaction ``i``."""
    return str(uuid.uuid5(NAMESPACE, f"interaction-{i}"))


def callback_ids(i: int) -> list[str]:
    """The ids of the callbacks interaction ``i`` asks for (``i % 3`` of them)."""
    return [str(uuid.uuid5(NAMESPACE, f"callback-{i}-{k}")) for k in range(i % 3)]


def call_id(i: int) -> str:
    """The call of interaction ``i``."""
    return f"call-{i}"


async def add_call(store: Store, call: str, *, ended: bool = True) -> None:
    """Store a call the way the recorder does from engine events (replays are no-ops);
    ``ended``: and its end."""
    await store.call_started(
        "agent-1",
        {
            "id": call,
            "caller": {"display_name": "Caller", "number": "+15550100", "uri": "sip:c@h"},
            "received_at": "2026-03-02T08:50:00.000Z",
        },
    )
    if ended:
        await store.call_ended(
            {"id": call},
            reason="hangup",
            ended_by="remote",
            sip_status=None,
            ended_at="2026-03-02T08:58:00.000Z",
        )


async def write_drafts(path: Path, call: str) -> None:
    """Save drafts 1, 2, 3, … for ``call`` and acknowledge each."""
    store = await Store.open(path)
    interactions = InteractionStore(store)
    await add_call(store, call)
    n = 0
    while True:
        n += 1
        await interactions.save_draft(call, {"n": n, "notes": "note " * (n % 50)})
        print(f"saved {n}", flush=True)


async def write_interactions(path: Path, start: int) -> None:
    """Write interactions ``start``, ``start + 1``, … and acknowledge each."""
    store = await Store.open(path)
    interactions = InteractionStore(store)
    i = start
    while True:
        call = call_id(i)
        await add_call(store, call)
        await interactions.save_draft(call, {"i": i, "notes": "draft"})
        record = Interaction(
            id=interaction_id(i),
            call_id=call,
            agent_id="agent-1",
            patient_id=f"patient-{i % 17}",
            started_at=T0,
            ended_at=T0 + timedelta(minutes=5),
            answers=[{"question": "q1", "value": i, "at": "2026-03-02T09:01:00.000Z"}],
            urgency="routine",
            disposition="resolved",
            notes="wrapped up",
            form={"i": i},
        )
        follow_ups = [
            FollowUp(id=cid, number="+15550100", due_at=T0 + timedelta(days=1), owner="agent-1")
            for cid in callback_ids(i)
        ]
        await interactions.finish(record, follow_ups)
        print(f"ok {i} {record.id}", flush=True)
        i += 1


def main() -> None:
    """Run the mode named on the command line until killed."""
    mode, path = sys.argv[1], Path(sys.argv[2])
    if mode == "drafts":
        asyncio.run(write_drafts(path, sys.argv[3]))
    elif mode == "interactions":
        asyncio.run(write_interactions(path, int(sys.argv[3])))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
