# SPDX-License-Identifier: GPL-2.0-or-later
"""Recordings reach the hub for QA, on a real PostgreSQL: still encrypted, the key sealed
for the QA team; an agent reads only their own, a supervisor all, and only the QA private
key opens one. The hub down: the recording waits and goes later."""

from __future__ import annotations

import json
import os
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
from console.hub.recordings import fetch, listing, upload_pending
from sip.recording_file import RecordingWriter, decrypt_recording
from tests.careline_cli import careline
from tests.pg import Hub
from tests.recording_calls import hub_login_yaml

CALL = "7d1e4b1a-0000-4000-8000-000000000002"
MASTER = os.urandom(32)
AUDIO = bytes(range(256)) * 250


def event(state: str, time: str, **extra: object) -> RecordingChanged:
    raw = {"event": "recording", "time": time, "call_id": CALL, "mode": "consent"}
    decoded = decode({**raw, "state": state, **extra})
    assert isinstance(decoded, RecordingChanged)
    return decoded


async def recorded(store: Store, tmp_path: Path, agent: str) -> Path:
    """A real recording file and its stopped row in ``agent``'s store."""
    path = tmp_path / f"{CALL}.clrec"
    created = "2026-03-02T09:00:00.000Z"
    writer = RecordingWriter(path, MASTER, call_id=CALL, sample_rate=16000, created=created)
    writer.audio(AUDIO)
    writer.mark({"fact": "pause", "sample": 8000, "reason": "verify"})
    writer.audio(AUDIO)
    writer.end({"fact": "end"})
    config = RecordingConfig(queues={"*": QueueRecordingConfig(mode="consent")})
    ledger = RecordingLedger(store, AuditLog(store), agent, config)
    start = event("recording", "2026-03-02T09:00:00.000Z", file=str(path), consent_by="patient")
    await ledger.apply(start, "appointments")
    await ledger.apply(event("stopped", "2026-03-02T09:01:00.000Z", seconds=60.0), "appointments")
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
