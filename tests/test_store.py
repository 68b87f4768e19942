# SPDX-License-Identifier: GPL-2.0-or-later
"""The local store: pragmas, migrations, call rows."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiosqlite
import pytest

from console.core.store import Store, StoreError, migrations


async def test_new_store_is_wal_full_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = await Store.open(path)
    await store.close()
    async with aiosqlite.connect(path) as db:
        assert (await (await db.execute("PRAGMA journal_mode")).fetchone()) == ("wal",)
        version = await (await db.execute("PRAGMA user_version")).fetchone()
        assert version == (len(migrations()),)
    assert path.stat().st_mode & 0o777 == 0o600


async def test_connections_use_synchronous_full(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "s.sqlite3")
    try:
        cursor = await store._writer.execute("PRAGMA synchronous")
        assert await cursor.fetchone() == (2,)  # FULL
    finally:
        await store.close()


async def test_reopen_does_not_migrate_twice(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    for _ in range(2):
        store = await Store.open(path)
        await store.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    async with aiosqlite.connect(path) as db:
        await db.execute("PRAGMA user_version = 999")
    with pytest.raises(StoreError, match="newer careline"):
        await Store.open(path)


async def test_call_lifecycle_round_trip(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "s.sqlite3")
    call = {
        "id": "c1",
        "direction": "inbound",
        "caller": {"display_name": "Ann", "number": "+1555", "uri": "sip:+1555@h"},
        "called_uri": "sip:q@h",
        "received_at": "2026-01-01T10:00:00.000Z",
        "timeline": [{"at": "2026-01-01T10:00:00.000Z", "fact": "ring"}],
    }
    try:
        await store.call_started("agent-1", call)
        await store.call_started("agent-1", call)  # replayed hello: no duplicate
        assert await store.recent_calls(10) == []  # not finished yet
        assert await store.unfinished_calls() == ["c1"]
        await store.call_answered("c1", "2026-01-01T10:00:05.000Z")
        await store.call_ended(
            {"id": "c1"},
            reason="failed",
            ended_by="engine",
            sip_status=None,
            ended_at="2026-01-01T10:01:00.000Z",
        )
        await store.save_notes("c1", "wants a callback")
        [row] = await store.recent_calls(10)
        assert (row.caller_name, row.answered_at, row.end_reason, row.notes) == (
            "Ann",
            "2026-01-01T10:00:05.000Z",
            "failed",
            "wants a callback",
        )
        cursor = await store._reader.execute("SELECT timeline FROM calls")
        stored = await cursor.fetchone()
        assert stored is not None
        assert "ring" in stored[0]  # kept when the end carries none
    finally:
        await store.close()


async def test_a_read_costs_a_busy_event_loop_one_turn(tmp_path: Path) -> None:
    # The console's loop is busy for a frame at a time while a call rings (Textual lays
    # out and paints); a read that hops to its connection's thread and back three times
    # (execute, fetch, close) waits three frames: the patient card came 40-80 ms after
    # the ringing row. One hop, one turn.
    store = await Store.open(tmp_path / "s.sqlite3")
    loop = asyncio.get_running_loop()
    turns = 0
    reading = True

    def frame() -> None:
        nonlocal turns
        turns += 1
        time.sleep(0.05)  # the frame's work; the GIL is free for the connection's thread
        if reading:
            loop.call_soon(frame)

    try:
        await store.fetch_all("SELECT 1")  # the connection's thread is up
        loop.call_soon(frame)
        rows = await store.fetch_all("SELECT ?", (7,))
        reading = False
        assert rows == [(7,)]
        assert turns <= 2, f"the read took {turns} turns of the busy loop"
    finally:
        reading = False
        await store.close()
