# SPDX-License-Identifier: GPL-2.0-or-later
"""Recordings reach the hub for QA, on a real PostgreSQL: still encrypted, the key sealed
for the QA team; an agent reads only their own, a supervisor their teams' agents', and only
the QA private key opens one. The hub down: the recording waits and goes later; one that
can never go is marked and the next ones still go. The hub caps how long one is kept."""

from __future__ import annotations

import json
import logging
import os
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from console.core.audit import AuditLog
from console.core.config.recording import QueueRecordingConfig, RecordingConfig
from console.core.events import RecordingChanged, decode
from console.core.recordings.ledger import RecordingLedger
from console.core.recordings.sealing import SealError, new_key_pair, unseal
from console.core.store import Store
from console.hub.connection import hub_connector
from console.hub.recording_upload import upload_pending
from console.hub.recordings import fetch, listing, purge_hub
from sip.recording_file import RecordingWriter, decrypt_recording
from tests.careline_cli import careline
from tests.pg import Hub
from tests.recording_calls import hub_login_yaml

CALL = "7d1e4b1a-0000-4000-8000-000000000002"
OTHER = [f"7d1e4b1a-0000-4000-8000-00000000001{n}" for n in range(3)]
MASTER = os.urandom(32)
AUDIO = bytes(range(256)) * 250


def event(state: str, time: str, call: str = CALL, **extra: object) -> RecordingChanged:
    raw = {"event": "recording", "time": time, "call_id": call, "mode": "consent"}
    decoded = decode({**raw, "state": state, **extra})
    assert isinstance(decoded, RecordingChanged)
    return decoded


async def recorded(
    store: Store,
    tmp_path: Path,
    agent: str,
    call: str = CALL,
    minute: int = 0,
    retention_days: int = 90,
) -> Path:
    """A real recording file and its stopped row in ``agent``'s store (started at 09:mm)."""
    path = tmp_path / f"{call}.clrec"
    created = f"2026-03-02T09:{minute:02}:00.000Z"
    writer = RecordingWriter(path, MASTER, call_id=call, sample_rate=16000, created=created)
    writer.audio(AUDIO)
    writer.mark({"fact": "pause", "sample": 8000, "reason": "verify"})
    writer.audio(AUDIO)
    writer.end({"fact": "end"})
    queue = QueueRecordingConfig(mode="consent", retention_days=retention_days)
    ledger = RecordingLedger(store, AuditLog(store), agent, RecordingConfig(queues={"*": queue}))
    start = event("recording", created, call, file=str(path), consent_by="patient")
    await ledger.apply(start, "appointments")
    stopped = event("stopped", f"2026-03-02T09:{minute:02}:50.000Z", call, seconds=50.0)
    await ledger.apply(stopped, "appointments")
    await ledger.held.settled()  # written behind, as in the console: on disk from here
    return path


async def uploaded(store: Store, tmp_path: Path, agent_dsn: str) -> None:
    """A QA key pair in ``tmp_path`` and one recording of alice's sent to the hub."""
    new_key_pair(tmp_path / "qa.pem", tmp_path / "qa.pub")
    await recorded(store, tmp_path, "alice")
    public = (tmp_path / "qa.pub").read_bytes()
    assert await upload_pending(store, hub_connector(agent_dsn), MASTER, public) == 1


async def test_a_recording_goes_up_sealed_and_only_the_qa_key_opens_it(
    hub: Hub, store: Store, tmp_path: Path
) -> None:
    alice, bob, sam = hub.add_agent("alice"), hub.add_agent("bob"), hub.add_supervisor("sam")
    hub.team("north", "sam", "alice")
    new_key_pair(tmp_path / "qa.pem", tmp_path / "qa.pub")
    public = (tmp_path / "qa.pub").read_bytes()
    path = await recorded(store, tmp_path, "alice")
    assert await upload_pending(store, hub_connector(alice), MASTER, public) == 1
    assert await upload_pending(store, hub_connector(alice), MASTER, public) == 0  # once
    async with await psycopg.AsyncConnection.connect(bob) as conn:
        assert await listing(conn) == []
        assert await fetch(conn, CALL) is None
    async with await psycopg.AsyncConnection.connect(alice) as conn:
        (mine,) = await listing(conn)
        assert (mine.agent_id, mine.queue, mine.mode, mine.consent_by) == (
            "alice",
            "appointments",
            "consent",
            "patient",
        )
    async with await psycopg.AsyncConnection.connect(sam) as conn:
        (listed,) = await listing(conn, agent="alice", queue="appointments")
        assert [m["fact"] for m in listed.marks] == ["pause"]
        assert await listing(conn, disposition="booked") == []
        got = await fetch(conn, CALL)
    assert got is not None
    assert got.data == path.read_bytes()  # the bytes as written: still encrypted
    assert AUDIO[:64] not in got.data
    key = unseal(got.sealed_key, (tmp_path / "qa.pem").read_bytes())
    assert decrypt_recording(got.data, key).pcm == AUDIO * 2
    new_key_pair(tmp_path / "other.pem", tmp_path / "other.pub")
    with pytest.raises(SealError):
        unseal(got.sealed_key, (tmp_path / "other.pem").read_bytes())


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO careline.recordings (call_id, agent_id, mode, started_at, ended_at, seconds, "
        "sealed_key, data, delete_after) VALUES ('x', 'alice', 'consent', now(), now(), 1, "
        "'\\x00'::bytea, '\\x434c524543'::bytea, now() + interval '1 day')",
        "UPDATE careline.recordings SET queue = 'x'",
        "DELETE FROM careline.recordings",
        "SELECT careline.purge_recordings()",
    ],
)
async def test_an_agent_cannot_forge_change_or_purge_recordings(hub: Hub, statement: str) -> None:
    bob = hub.add_agent("bob")
    async with await psycopg.AsyncConnection.connect(bob) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute(statement)


async def test_with_the_hub_down_the_recording_waits_and_goes_later(
    hub: Hub, store: Store, tmp_path: Path
) -> None:
    alice = hub.add_agent("alice")
    new_key_pair(tmp_path / "qa.pem", tmp_path / "qa.pub")
    public = (tmp_path / "qa.pub").read_bytes()
    await recorded(store, tmp_path, "alice")
    hub.cluster.stop()
    try:
        assert await upload_pending(store, hub_connector(alice), MASTER, public) == 0
    finally:
        hub.cluster.start()
    assert await upload_pending(store, hub_connector(alice), MASTER, public) == 1


def login_config(tmp_path: Path, hub: Hub, login: str, extra: str = "") -> Path:
    """A console config for ``login`` on ``hub``, with a store of its own."""
    path = tmp_path / f"{login}.yaml"
    store = f"store:\n  path: {tmp_path / login}.sqlite3\n"
    path.write_text(hub_login_yaml(tmp_path, hub, login) + store + extra)
    return path


async def test_a_supervisor_plays_a_hub_recording_with_the_qa_key_and_it_is_audited(
    hub: Hub, store: Store, tmp_path: Path
) -> None:
    alice = hub.add_agent("alice")
    hub.add_supervisor("sam")
    hub.add_agent("bob")
    hub.team("north", "sam", "alice")
    await uploaded(store, tmp_path, alice)
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        flags = [{"rule": "chest_pain", "at": "2026-03-02T09:00:01.200Z"}]
        await conn.execute(
            "INSERT INTO careline.interactions (id, agent_id, disposition, urgency, started_at, "
            "ended_at, payload, hub_seq) VALUES (gen_random_uuid(), 'alice', 'escalated', "
            "'emergency', now(), now(), %s, 1)",
            (json.dumps({"call_id": CALL, "red_flags": flags}),),
        )
    qa = f"recording:\n  qa_private_key: {tmp_path / 'qa.pem'}\n"
    sam = login_config(tmp_path, hub, "sam", qa)
    listed = careline("--config", str(sam), "recordings", "list", "--hub", "--agent", "alice")
    assert listed.returncode == 0, listed.stderr
    assert f"{CALL}\talice\tappointments\tconsent\t" in listed.stdout
    done = careline("--config", str(sam), "recordings", "play", CALL, "--hub", "--timeline")
    assert done.returncode == 0, done.stderr
    assert "[0] 00:00 pause (verify)" in done.stdout
    assert "[1] 00:01 red_flag" in done.stdout  # from the call's interaction on the hub
    bob = login_config(tmp_path, hub, "bob", qa)
    refused = careline("--config", str(bob), "recordings", "play", CALL, "--hub", "--timeline")
    assert refused.returncode == 1
    assert "not yours to hear" in refused.stderr
    for login, outcome in (("sam", "ok"), ("bob", "fail")):
        mine = await Store.open(tmp_path / f"{login}.sqlite3")
        try:
            rows = await mine.fetch_all("SELECT action, outcome FROM audit")
        finally:
            await mine.close()
        assert [tuple(row) for row in rows] == [("record_play", outcome)]


async def test_a_supervisor_finds_recordings_by_their_calls_disposition(
    hub: Hub, store: Store, tmp_path: Path
) -> None:
    alice, sam = hub.add_agent("alice"), hub.add_supervisor("sam")
    hub.team("north", "sam", "alice")
    await uploaded(store, tmp_path, alice)
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        await conn.execute(
            "INSERT INTO careline.interactions (id, agent_id, disposition, urgency, started_at, "
            "ended_at, payload, hub_seq) VALUES (gen_random_uuid(), 'alice', 'booked', "
            "'routine', now(), now(), %s, 1)",
            (json.dumps({"call_id": CALL}),),
        )
    async with await psycopg.AsyncConnection.connect(sam) as conn:
        assert [r.call_id for r in await listing(conn, disposition="booked")] == [CALL]
        assert await listing(conn, disposition="no_answer") == []


async def test_a_supervisor_purges_the_hubs_expired_recordings_each_audited(
    hub: Hub, store: Store, tmp_path: Path
) -> None:
    alice = hub.add_agent("alice")
    hub.add_supervisor("sam")
    hub.team("north", "sam", "alice")
    await uploaded(store, tmp_path, alice)  # recorded in March 2026, kept 90 days
    sam = login_config(tmp_path, hub, "sam")
    done = careline("--config", str(sam), "recordings", "purge", "--hub")
    assert done.returncode == 0, done.stderr
    assert "deleted 1 hub recording(s)" in done.stdout
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        cursor = await conn.execute("SELECT count(*) FROM careline.recordings")
        assert await cursor.fetchone() == (0,)
    mine = await Store.open(tmp_path / "sam.sqlite3")
    try:
        rows = await mine.fetch_all("SELECT action, category FROM audit")
    finally:
        await mine.close()
    assert [tuple(row) for row in rows] == [("record_delete", "recording")]


async def test_a_supervisor_reads_and_purges_only_their_teams_recordings(
    hub: Hub, store: Store, tmp_path: Path
) -> None:
    """As evaluations and reports: another team's supervisor, or one of no team, sees none."""
    alice, bob = hub.add_agent("alice"), hub.add_agent("bob")
    sam, ann, una = hub.add_supervisor("sam"), hub.add_supervisor("ann"), hub.add_supervisor("una")
    hub.team("north", "sam", "alice")
    hub.team("south", "ann", "bob")
    await uploaded(store, tmp_path, alice)  # recorded in March 2026, kept 90 days: expired
    await recorded(store, tmp_path, "bob", OTHER[0], minute=5)
    public = (tmp_path / "qa.pub").read_bytes()
    assert await upload_pending(store, hub_connector(bob), MASTER, public) == 1
    for dsn, theirs in ((sam, [CALL]), (ann, [OTHER[0]]), (una, [])):
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            assert [r.call_id for r in await listing(conn)] == theirs
            for call in (CALL, OTHER[0]):
                assert (await fetch(conn, call) is not None) == (call in theirs)
    for dsn, gone in ((una, []), (sam, [CALL]), (sam, []), (hub.owner_dsn, [OTHER[0]])):
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            assert await purge_hub(conn) == gone


async def test_one_recording_that_cannot_go_is_marked_and_the_next_ones_still_go(
    hub: Hub, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    alice, sam = hub.add_agent("alice"), hub.add_supervisor("sam")
    hub.team("north", "sam", "alice")
    new_key_pair(tmp_path / "qa.pem", tmp_path / "qa.pub")
    public = (tmp_path / "qa.pub").read_bytes()
    altered = await recorded(store, tmp_path, "alice", OTHER[0], minute=0)
    gone = await recorded(store, tmp_path, "alice", OTHER[1], minute=1)
    await recorded(store, tmp_path, "alice", OTHER[2], minute=2)
    altered.write_bytes(altered.read_bytes().replace(b"2026-03-02", b"2026-03-03", 1))
    gone.unlink()
    caplog.set_level(logging.WARNING)
    assert await upload_pending(store, hub_connector(alice), MASTER, public) == 1
    assert await upload_pending(store, hub_connector(alice), MASTER, public) == 0  # not again
    async with await psycopg.AsyncConnection.connect(sam) as conn:
        assert [r.call_id for r in await listing(conn)] == [OTHER[2]]
    rows = await store.fetch_all(
        "SELECT call_id, upload_failed, uploaded_at IS NOT NULL FROM recordings ORDER BY call_id"
    )
    assert [tuple(row) for row in rows] == [
        (OTHER[0], "its file was altered, or is not under this console's key", False),
        (OTHER[1], "its file is gone", False),
        (OTHER[2], None, True),
    ]
    warned = [r.getMessage() for r in caplog.records if "will not go" in r.getMessage()]
    assert len(warned) == 2
    assert OTHER[0] in warned[0]
    assert OTHER[1] in warned[1]
    assert MASTER.hex() not in caplog.text


async def test_the_hub_caps_how_long_a_recording_is_kept(
    hub: Hub, store: Store, tmp_path: Path
) -> None:
    """The console asks (its queue's retention_days); the hub keeps at most its maximum."""
    alice = hub.add_agent("alice")
    new_key_pair(tmp_path / "qa.pem", tmp_path / "qa.pub")
    public = (tmp_path / "qa.pub").read_bytes()
    await recorded(store, tmp_path, "alice", OTHER[0], minute=0, retention_days=3650)
    await recorded(store, tmp_path, "alice", OTHER[1], minute=1, retention_days=30)
    assert await upload_pending(store, hub_connector(alice), MASTER, public) == 2
    async with await psycopg.AsyncConnection.connect(alice) as conn:
        # A console that forges its row: a far-future end, a start to come.
        await conn.execute(
            "INSERT INTO careline.recordings (call_id, mode, started_at, ended_at, seconds, "
            "sealed_key, data, delete_after) VALUES (%s, 'consent', now() + interval '30 days', "
            "now() + interval '30 days', 1, %s, %s, 'infinity')",
            (OTHER[2], bytes(92), b"CLREC\x01"),
        )
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        cursor = await conn.execute(
            "SELECT call_id, delete_after - started_at, "
            "delete_after <= now() + interval '365 days' FROM careline.recordings ORDER BY call_id"
        )
        kept = [tuple(row) for row in await cursor.fetchall()]
    assert kept[0][1:] == (timedelta(days=365), True)  # 3650 asked: the hub's default
    assert kept[1][1:] == (timedelta(days=30), True)  # less than the maximum: as asked
    assert kept[2][0] == OTHER[2]
    assert kept[2][2]  # from now, not from a start to come
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        await conn.execute("UPDATE careline.recording_policy SET max_retention_days = 730")
        await conn.execute("DELETE FROM careline.recordings")
    async with store.transaction() as db:
        await db.execute("UPDATE recordings SET uploaded_at = NULL")
    assert await upload_pending(store, hub_connector(alice), MASTER, public) == 2
    async with await psycopg.AsyncConnection.connect(alice) as conn:
        cursor = await conn.execute(
            "SELECT delete_after - started_at FROM careline.recordings ORDER BY call_id"
        )
        assert [row[0] for row in await cursor.fetchall()] == [
            timedelta(days=730),
            timedelta(days=30),
        ]
