# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's side of recordings: the key, the rows and pauses, the audit, retention.

Engine events are fed as the engine sends them (``recording`` events); the
store is the real one (SQLite, and SQLCipher for the key derivation).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from console.core.audit import AuditLog
from console.core.config.recording import QueueRecordingConfig, RecordingConfig
from console.core.events import RecordingChanged, decode
from console.core.recordings.keys import recordings_key
from console.core.recordings.ledger import RecordingLedger
from console.core.recordings.retention import purge
from console.core.store import Store, StoreKey
from tests.careline_cli import careline

CALL = "5c1e4b1a-0000-4000-8000-000000000001"
CONFIG = RecordingConfig(
    queues={"appointments": QueueRecordingConfig(mode="consent", retention_days=30)}
)


def event(state: str, time: str, **extra: object) -> RecordingChanged:
    """A ``recording`` event as the engine sends it, decoded as the console does."""
    raw = {"event": "recording", "time": time, "call_id": CALL, "mode": "consent"}
    decoded = decode({**raw, "state": state, "paused": False, "held": False, **extra})
    assert isinstance(decoded, RecordingChanged), decoded
    return decoded


async def audit_actions(store: Store) -> list[tuple[str, str, str]]:
    rows = await store.fetch_all("SELECT action, category, outcome FROM audit ORDER BY seq")
    return [(str(a), str(c), str(o)) for a, c, o in rows]


async def test_a_recorded_call_is_a_row_with_its_pauses_and_every_step_audited(
    store: Store, tmp_path: Path
) -> None:
    ledger = RecordingLedger(store, AuditLog(store), "agent-7", CONFIG)
    file = str(tmp_path / f"{CALL}.clrec")
    await ledger.apply(
        event("recording", "2026-01-05T10:00:00.000Z", file=file, consent_by="patient"),
        "appointments",
    )
    await ledger.apply(event("recording", "2026-01-05T10:00:01.000Z", held=True), "appointments")
    await ledger.apply(
        event("recording", "2026-01-05T10:00:05.000Z", paused=True, reason="verify"), "appointments"
    )
    await ledger.apply(event("recording", "2026-01-05T10:00:09.000Z"), "appointments")
    await ledger.apply(
        event("stopped", "2026-01-05T10:01:00.000Z", file=file, seconds=60.0, bytes=1_920_000),
        "appointments",
    )
    row = await ledger.for_call(CALL)
    assert row is not None
    assert (row.state, row.mode, row.consent_by, row.file) == (
        "stopped",
        "consent",
        "patient",
        file,
    )
    assert (row.seconds, row.bytes, row.retention_days) == (60.0, 1_920_000, 30)
    pauses = await ledger.pauses(CALL)
    assert [(p.paused_at, p.resumed_at, p.reason) for p in pauses] == [
        ("2026-01-05T10:00:05.000Z", "2026-01-05T10:00:09.000Z", "verify")
    ]
    assert await audit_actions(store) == [
        ("record_start", "recording", "ok"),
        ("record_pause", "recording", "ok"),
        ("record_resume", "recording", "ok"),
        ("record_stop", "recording", "ok"),
    ]
    assert (await AuditLog(store).verify()).ok


async def test_a_refusal_and_a_failure_are_audited_without_a_row(store: Store) -> None:
    ledger = RecordingLedger(store, AuditLog(store), "agent-7", CONFIG)
    await ledger.apply(event("refused", "2026-01-05T10:00:00.000Z", consent_by="patient"), "q")
    await ledger.apply(event("failed", "2026-01-05T10:00:01.000Z", detail="no key"), "q")
    assert await ledger.for_call(CALL) is None
    assert await audit_actions(store) == [
        ("record_start", "recording", "denied"),
        ("record_start", "recording", "fail"),
    ]


async def test_retention_deletes_what_is_past_it_and_audits_each_deletion(
    store: Store, tmp_path: Path
) -> None:
    ledger = RecordingLedger(store, AuditLog(store), "agent-7", CONFIG)
    old, recent = tmp_path / "old.clrec", tmp_path / "recent.clrec"
    for path in (old, recent):
        path.write_bytes(b"CLREC")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for call_id, path, at in ((CALL, old, start), ("call-2", recent, start + timedelta(days=20))):
        stamp = at.isoformat().replace("+00:00", "Z")
        await ledger.apply(
            event("recording", stamp, file=str(path), call_id=call_id), "appointments"
        )
        await ledger.apply(event("stopped", stamp, call_id=call_id), "appointments")
    await ledger.held.settled()  # written behind, as in the console: on disk for the purge
    before = len(await audit_actions(store))
    purged = await purge(store, AuditLog(store), "agent-7", start + timedelta(days=30, seconds=1))
    assert purged.deleted == [CALL]
    assert not old.exists()
    assert recent.exists()
    row = await ledger.for_call(CALL)
    assert row is not None
    assert row.state == "deleted"
    assert row.deleted_at is not None
    assert (await audit_actions(store))[before:] == [("record_delete", "recording", "ok")]
    again = await purge(store, AuditLog(store), "agent-7", start + timedelta(days=31))
    assert again.deleted == []  # once
    later = await purge(store, AuditLog(store), "agent-7", start + timedelta(days=51))
    assert later.deleted == ["call-2"]


def test_the_key_comes_from_the_store_key_or_a_private_file(tmp_path: Path) -> None:
    store_key = StoreKey("correct horse battery staple")
    first = recordings_key(tmp_path / "a", store_key)
    assert first == recordings_key(tmp_path / "a", StoreKey(store_key.passphrase, source="x"))
    assert first.key != recordings_key(tmp_path / "a", StoreKey("another passphrase")).key
    assert first.key != recordings_key(tmp_path / "b", store_key).key  # another salt
    assert "key=" not in repr(first)
    assert first.key.hex() not in repr(first)
    plain = recordings_key(tmp_path / "c", None)
    assert plain == recordings_key(tmp_path / "c", None)
    assert (tmp_path / "c" / "recordings.key").stat().st_mode & 0o777 == 0o600


async def test_careline_recordings_purge_deletes_and_audits(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    store = await Store.open(path)
    old = tmp_path / "old.clrec"
    old.write_bytes(b"CLREC")
    try:
        ledger = RecordingLedger(store, AuditLog(store), "agent-7", CONFIG)
        await ledger.apply(event("recording", "2020-01-01T00:00:00.000Z", file=str(old)), "q")
        await ledger.apply(event("stopped", "2020-01-01T00:01:00.000Z"), "q")
        await ledger.held.settled()  # written behind: on disk before the store closes
    finally:
        await store.close()
    config = tmp_path / "c.yaml"
    config.write_text(f"agent:\n  id: agent-7\nstore:\n  path: {path}\n")
    listed = careline("--config", str(config), "recordings", "list")
    assert listed.returncode == 0, listed.stderr
    assert CALL in listed.stdout
    assert "stopped" in listed.stdout
    purged = careline("--config", str(config), "recordings", "purge")
    assert purged.returncode == 0, purged.stderr
    assert "deleted 1 recording(s)" in purged.stdout
    assert not old.exists()
    store = await Store.open(path)
    try:
        assert (await audit_actions(store))[-1] == ("record_delete", "recording", "ok")
    finally:
        await store.close()


async def test_a_recording_cut_short_by_the_engine_is_closed_at_its_hello(store: Store) -> None:
    ledger = RecordingLedger(store, AuditLog(store), "agent-7", CONFIG)
    await ledger.apply(event("recording", "2026-01-05T10:00:00.000Z", file="/r/a.clrec"), "q")
    await ledger.held.settled()  # on disk, where the restarted console finds it
    again = RecordingLedger(store, AuditLog(store), "agent-7", CONFIG)  # a console restarted
    await again.phone_restarted({CALL}, "2026-01-05T10:00:30.000Z")  # still live: kept open
    row = await again.for_call(CALL)
    assert row is not None
    assert row.state == "recording"
    await again.phone_restarted(set(), "2026-01-05T10:01:00.000Z")
    row = await again.for_call(CALL)
    assert row is not None
    assert (row.state, row.ended_at) == ("failed", "2026-01-05T10:01:00.000Z")
    assert "stopped mid-call" in row.detail
    assert (await audit_actions(store))[-1] == ("record_stop", "recording", "fail")


async def test_an_interaction_lists_its_calls_recording(store: Store) -> None:
    ledger = RecordingLedger(store, AuditLog(store), "agent-7", CONFIG)
    await ledger.apply(event("recording", "2026-01-05T10:00:00.000Z", file="/r/a.clrec"), "q")
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO calls (id, agent_id, direction, caller_name, caller_number, caller_uri, "
            "called_uri, received_at) VALUES (?, 'agent-7', 'inbound', '', '', '', '', ?)",
            (CALL, "2026-01-05T09:59:50.000Z"),
        )
        for interaction, call in (("i-1", CALL), ("i-2", None)):
            await db.execute(
                "INSERT INTO interactions (id, call_id, agent_id, started_at, ended_at, urgency, "
                "disposition, created_at) VALUES (?, ?, 'agent-7', ?, ?, 'routine', 'done', ?)",
                (interaction, call, *["2026-01-05T10:00:00.000Z"] * 3),
            )
    row = await ledger.for_interaction("i-1")
    assert row is not None
    assert (row.call_id, row.file) == (CALL, "/r/a.clrec")
    assert await ledger.for_interaction("i-2") is None
