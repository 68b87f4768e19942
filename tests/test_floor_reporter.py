# SPDX-License-Identifier: GPL-2.0-or-later
"""Agent state records: on every change, and a heartbeat when nothing changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.core.agent_state import AgentState
from console.core.floor import FloorReporter
from console.core.interactions import InteractionStore
from console.core.store import Store
from console.floor_view.rows import FloorEvent, check_row


async def test_state_changes_and_heartbeats(store: Store) -> None:
    now = [datetime(2026, 11, 26, 10, 0, tzinfo=UTC)]
    reporter = FloorReporter(InteractionStore(store), "alice", "Alice", lambda: now[0])
    ready = AgentState(phone_online=True, availability="available")

    await reporter.agent_state(ready, None, heartbeat_s=60)
    await reporter.agent_state(ready, None, heartbeat_s=60)  # same, too soon: nothing
    now[0] += timedelta(seconds=61)
    await reporter.agent_state(ready, None, heartbeat_s=60)  # quiet a minute: heartbeat
    await reporter.agent_state(
        AgentState(phone_online=True, availability="not_ready", reason="Break"), None
    )
    # The phone goes: offline for the floor, whatever the agent chose.
    await reporter.agent_state(AgentState(phone_online=False, availability="available"), None)

    rows = await store.fetch_all(
        "SELECT json_extract(payload, '$.availability'), json_extract(payload, '$.at') "
        "FROM outbox WHERE kind = 'agent_state' ORDER BY seq"
    )
    assert [tuple(r) for r in rows] == [
        ("available", "2026-11-26T10:00:00.000Z"),
        ("available", "2026-11-26T10:01:01.000Z"),
        ("not_ready", "2026-11-26T10:01:01.000Z"),
        ("offline", "2026-11-26T10:01:01.000Z"),
    ]


async def test_an_agent_working_a_worklist_shows_outbound_on_the_floor(store: Store) -> None:
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    reporter = FloorReporter(InteractionStore(store), "alice", "Alice", lambda: now)

    await reporter.agent_state(AgentState(phone_online=True, outbound=True), None)

    [(seq, payload)] = await store.fetch_all(
        "SELECT seq, payload FROM outbox WHERE kind = 'agent_state'"
    )
    row = check_row(int(seq), "agent_state", "alice", str(payload), now)
    assert isinstance(row, FloorEvent), row  # the wallboard reads it, not a bad row
    assert row.payload["availability"] == "outbound"
