# SPDX-License-Identifier: GPL-2.0-or-later
"""The local store on a real full disk: a refused write is a StorageFaultError, never a
half-written row or a wedged connection, and the same write succeeds once space
returns."""

from __future__ import annotations

import sqlite3

import pytest

from console.core.interactions import InteractionStore
from console.core.store import StorageFaultError, Store, storage_fault
from tests.tiny_disk import TinyDisk

CALL = {
    "id": "call-1",
    "caller": {"display_name": "Jane Patient", "number": "+15550001"},
    "received_at": "2026-12-05T10:00:00.000Z",
    "timeline": [],
}


async def _fill_until_refused(interactions: InteractionStore) -> None:
    """Publish until the disk refuses (the WAL may hold a few pages of slack)."""
    for _ in range(10_000):
        try:
            await interactions.publish("agent_state", "a", {"pad": "x" * 4000})
        except StorageFaultError as refused:
            message = str(refused)
            break
    else:
        pytest.fail("the full disk never refused a write")
    assert "full" in message


async def test_a_full_disk_is_a_storage_fault_and_the_store_recovers(tiny_disk: TinyDisk) -> None:
    store = await Store.open(tiny_disk.path / "store.sqlite3")
    interactions = InteractionStore(store)
    try:
        tiny_disk.fill()
        await _fill_until_refused(interactions)
        with pytest.raises(StorageFaultError) as refused:
            await store.call_started("agent-a", CALL)
        # Nothing of the patient in the error, and no chained SQLite error to print.
        assert "Jane" not in str(refused.value)
        assert "5550001" not in str(refused.value)
        assert refused.value.__cause__ is None
        assert refused.value.__suppress_context__
        tiny_disk.free()
        await store.call_started("agent-a", CALL)  # the same connection takes it now
        rows = await store.fetch_all("SELECT caller_name FROM calls WHERE id = 'call-1'")
        assert rows == [("Jane Patient",)]
    finally:
        tiny_disk.free()
        await store.close()


async def test_a_failed_commit_leaves_no_transaction_open(tiny_disk: TinyDisk) -> None:
    store = await Store.open(tiny_disk.path / "store.sqlite3")
    try:
        tiny_disk.fill()
        for _ in range(3):  # every attempt fails cleanly, none wedges the next
            with pytest.raises(StorageFaultError):
                async with store.transaction() as db:
                    await db.execute(
                        "INSERT INTO outbox (kind, entity_id, payload, created_at) "
                        "VALUES ('agent_state', 'a', ?, 'now')",
                        ('"' + "y" * 2_000_000 + '"',),
                    )
        tiny_disk.free()
        async with store.transaction() as db:
            await db.execute("DELETE FROM outbox")
    finally:
        tiny_disk.free()
        await store.close()


def test_storage_fault_knows_the_disk_from_a_bug() -> None:
    full = sqlite3.OperationalError("database or disk is full")
    assert isinstance(storage_fault(full), StorageFaultError)
    assert isinstance(storage_fault(OSError(28, "No space left on device")), StorageFaultError)
    assert storage_fault(sqlite3.OperationalError("no such table: calls")) is None
    assert storage_fault(sqlite3.IntegrityError("UNIQUE constraint failed")) is None
    assert storage_fault(ValueError("database or disk is full")) is None
