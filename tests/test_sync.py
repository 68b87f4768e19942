# SPDX-License-Identifier: GPL-2.0-or-later
"""The hub sync against a real PostgreSQL hub (tests/pg.py): outage and
recovery, a crash between the hub commit and the local mark, a full replay,
a rejected record, the patient directory pull. Backoff arithmetic and the
state machine are also unit-tested with a fake connection that never connects.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from console.core.interactions import FollowUp, Interaction, InteractionStore
from console.core.patients.directory import PatientDirectory
from console.core.store import Store
from console.hub.sync import (
    OFFLINE_AFTER,
    SyncStatus,
    SyncWorker,
    backoff_delay,
    hub_connector,
)
from tests.pg import Hub
from tests.tiny_disk import TinyDisk

AGENT = "agent-7"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh local store."""
    opened = await Store.open(tmp_path / "careline.db")
    yield opened
    await opened.close()


async def take_calls(store: Store, count: int, *, patient: str = "patient-1") -> list[str]:
    """``count`` finished interactions (every third with a follow-up) and an
    agent state change after each; returns the interaction ids."""
    interactions = InteractionStore(store)
    start = datetime.now(UTC) - timedelta(minutes=5)
    ids = []
    for k in range(count):
        interaction = Interaction(
            agent_id=AGENT,
            patient_id=patient,
            started_at=start + timedelta(seconds=k),
            ended_at=start + timedelta(seconds=k + 1),
            disposition="advice-given",
            urgency="urgent" if k % 4 == 0 else "routine",
            answers=[{"question": "q1", "value": "yes", "at": start.isoformat()}],
        )
        follow_ups = (
            [FollowUp(number="+15550100", due_at=start + timedelta(days=1), owner=AGENT)]
            if k % 3 == 0
            else []
        )
        assert await interactions.finish(interaction, follow_ups)
        await interactions.publish(
            "agent_state",
            str(uuid.uuid4()),
            {"agent_id": AGENT, "state": "ready", "at": datetime.now(UTC).isoformat()},
        )
        ids.append(interaction.id)
    return ids


async def outbox(store: Store) -> list[tuple[Any, ...]]:
    """(seq, sent_at, attempts, next_attempt_at, last_error, dead_at) per row."""
    return await store.fetch_all(
        "SELECT seq, sent_at, attempts, next_attempt_at, last_error, dead_at "
        "FROM outbox ORDER BY seq"
    )


async def source_of(store: Store) -> str:
    """The store's workstation id (its source on the hub)."""
    return str((await store.fetch_all("SELECT id FROM workstation"))[0][0])


async def hub_view(hub: Hub, source: str) -> tuple[list[int], int, int]:
    """This source's ``source_seq`` in hub order, all records, all interactions."""
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        cur = await conn.execute(
            "SELECT source_seq FROM careline.records WHERE source = %s ORDER BY hub_seq",
            (source,),
        )
        order = [int(row[0]) for row in await cur.fetchall()]
        cur = await conn.execute("SELECT count(*) FROM careline.records")
        records = int((await cur.fetchone() or (0,))[0])
        cur = await conn.execute("SELECT count(*) FROM careline.interactions")
        interactions = int((await cur.fetchone() or (0,))[0])
    return order, records, interactions


def worker(store: Store, hub: Hub, **options: Any) -> SyncWorker:
    """A worker logged in as the test agent."""
    return SyncWorker(store, hub_connector(hub.add_agent(AGENT)), region="US", **options)


async def test_hub_down_then_back_delivers_everything_once_in_order(store: Store, hub: Hub) -> None:
    await take_calls(store, 4)
    queued = time.monotonic()
    statuses: list[SyncStatus] = []
    changed = asyncio.Event()

    def seen(status: SyncStatus) -> None:
        statuses.append(status)
        changed.set()

    async def until(wanted: Callable[[SyncStatus], bool]) -> None:
        while not (statuses and wanted(statuses[-1])):
            changed.clear()
            await changed.wait()

    sync = worker(
        store,
        hub,
        on_status=seen,
        backoff_base=0.05,
        backoff_cap=0.3,
        poll_interval=0.05,
    )
    hub.cluster.stop()
    task = asyncio.create_task(sync.run())
    try:
        async with asyncio.timeout(30):
            await until(lambda status: status.state == "offline")
            # Calls go on while the hub is away.
            ids = await take_calls(store, 6)
            sync.wake()
            await asyncio.sleep(0.3)
        down = await sync.status()
        rows = await outbox(store)
        assert down.state == "offline"
        assert down.backlog == len(rows) > 0
        # The oldest row waits since before the outage began.
        assert down.oldest_age_s is not None
        assert down.oldest_age_s >= time.monotonic() - queued - 0.1
        assert down.last_error is not None
        assert "unreachable" in down.last_error
        assert hub.passwords[AGENT] not in down.last_error
        assert all(sent is None for _, sent, *_ in rows)
        # The head of the outbox carries the backoff: tries counted, next one scheduled.
        assert rows[0][2] >= OFFLINE_AFTER - 1
        assert rows[0][3] is not None
        assert rows[0][4]

        hub.cluster.start()
        async with asyncio.timeout(30):
            await until(lambda status: status.state == "ok" and status.backlog == 0)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        if not hub.cluster.running:
            hub.cluster.start()
    rows = await outbox(store)
    assert all(sent is not None for _, sent, *_ in rows)
    order, records, interactions = await hub_view(hub, await source_of(store))
    assert order == [row[0] for row in rows]
    assert records == len(rows)
    assert interactions == 10
    assert ids[-1] in {
        str(row[0])
        for row in await store.fetch_all("SELECT entity_id FROM outbox WHERE kind='interaction'")
    }
    assert statuses[-1].last_ok is not None
    assert statuses[-1].last_error is None


async def test_killed_after_hub_commit_before_local_mark(store: Store, hub: Hub) -> None:
    await take_calls(store, 5)
    hub.add_agent(AGENT)
    conninfo = hub.cluster.dsn(AGENT, None, hub.dbname)
    env = {**os.environ, "CARELINE_TEST_HUB_PASSWORD": hub.passwords[AGENT]}
    command = [sys.executable, "-m", "tests.sync_runner", str(store.path), conninfo]
    total = len(await outbox(store))

    killed = await asyncio.to_thread(
        subprocess.run,
        [*command, "--kill-after-commit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    # The hub has the batch; the local rows were never marked.
    order, records, _ = await hub_view(hub, await source_of(store))
    assert records == total
    assert all(sent is None for _, sent, *_ in await outbox(store))

    again = await asyncio.to_thread(
        subprocess.run, command, cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    answer = json.loads(again.stdout)
    assert answer == {
        "answers": {"stored": 0, "duplicate": total, "rejected": 0, "conflict": 0},
        "backlog": 0,
    }
    rows = await outbox(store)
    assert all(sent is not None for _, sent, *_ in rows)
    order, records, interactions = await hub_view(hub, await source_of(store))
    assert order == [row[0] for row in rows]
    assert (records, interactions) == (total, 5)


async def test_replaying_the_whole_outbox_adds_nothing(store: Store, hub: Hub) -> None:
    await take_calls(store, 6, patient="patient-9")
    sync = worker(store, hub, batch=4)
    first = await sync.deliver()
    before = await hub_view(hub, await source_of(store))
    async with store.transaction() as db:
        await db.execute("UPDATE outbox SET sent_at = NULL")
    assert (await sync.status()).backlog == first
    assert await sync.deliver() == first
    await sync.close()
    assert sync.answers == {"stored": first, "duplicate": first, "rejected": 0, "conflict": 0}
    assert await hub_view(hub, await source_of(store)) == before
    assert before[2] == 6
    recent = await sync.recent_for_patient("patient-9", 3)
    assert [item.agent_id for item in recent] == [AGENT] * 3
    assert recent[0].at > recent[1].at > recent[2].at
    await sync.close()


async def test_the_appointments_a_call_booked_reach_the_hubs_record(store: Store, hub: Hub) -> None:
    """Issue 18: the interaction's Appointment ids are in the record the hub keeps."""
    booked = [
        {"id": "appt-9", "change": "moved", "at": "2026-03-02T08:57:00+00:00", "replaces": "a1"}
    ]
    now = datetime.now(UTC)
    interaction = Interaction(
        agent_id=AGENT,
        patient_id="patient-3",
        started_at=now - timedelta(minutes=4),
        ended_at=now,
        disposition="appointment_booked",
        appointments=booked,
    )
    assert await InteractionStore(store).finish(interaction)
    sync = worker(store, hub)
    await sync.deliver()
    await sync.close()
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        cursor = await conn.execute(
            "SELECT payload -> 'appointments' FROM careline.interactions WHERE id = %s",
            (interaction.id,),
        )
        assert await cursor.fetchall() == [(booked,)]


async def test_rejected_record_is_parked_visible_and_retryable(store: Store, hub: Hub) -> None:
    await take_calls(store, 2)
    # An interaction whose payload lost its disposition: the hub refuses it.
    bad_id = str(uuid.uuid4())
    now = datetime.now(UTC).isoformat()
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO outbox (kind, entity_id, payload, created_at) VALUES (?, ?, ?, ?)",
            (
                "interaction",
                bad_id,
                json.dumps(
                    {
                        "schema": 1,
                        "id": bad_id,
                        "agent_id": AGENT,
                        "urgency": "routine",
                        "started_at": now,
                        "ended_at": now,
                    }
                ),
                now.replace("+00:00", "Z"),
            ),
        )
    await take_calls(store, 2)
    sync = worker(store, hub)
    delivered = await sync.deliver()
    status = await sync.status()
    assert (status.state, status.backlog, status.dead) == ("ok", 0, 1)
    assert delivered == len(await outbox(store)) - 1
    dead = await sync.dead_letters()
    assert [(item.kind, item.entity_id) for item in dead] == [("interaction", bad_id)]
    assert dead[0].reason == "rejected: disposition is missing"
    _, _, interactions = await hub_view(hub, await source_of(store))
    assert interactions == 4

    assert await sync.retry_dead() == 1
    assert (await sync.status()).backlog == 1
    assert await sync.deliver() == 0
    status = await sync.status()
    assert (status.backlog, status.dead) == (0, 1)
    await sync.close()


async def test_pull_brings_hub_patients_into_the_directory(store: Store, hub: Hub) -> None:
    patient = {
        "resourceType": "Patient",
        "id": "pat-1",
        "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "MRN-0042"}],
        "name": [{"family": "Okafor", "given": ["Ada"]}],
        "birthDate": "1961-04-02",
        "telecom": [{"system": "phone", "value": "+1 617 555 0142", "use": "mobile"}],
    }
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        await conn.execute(
            "INSERT INTO careline.patients (resource_type, resource_id, resource) "
            "VALUES ('Patient', 'pat-1', %s::jsonb)",
            (json.dumps(patient),),
        )
    directory = PatientDirectory(store, "US")
    assert await directory.find_by_phone("(617) 555-0142") == []
    sync = worker(store, hub)
    assert await sync.pull() == 1
    found = await directory.find_by_phone("(617) 555-0142")
    assert [(p.mrn, p.family_name) for p in found] == [("MRN-0042", "Okafor")]
    assert await sync.pull() == 0
    assert await store.fetch_all("SELECT value FROM sync_state") != []
    await sync.close()


# -- unit: backoff and states, with a hub that never answers ---------------


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    rng = random.Random(7)
    for attempts in range(12):
        ceiling = min(30.0, 0.5 * 2**attempts)
        delays = [backoff_delay(attempts, 0.5, 30.0, rng) for _ in range(200)]
        assert all(0.0 <= delay <= ceiling for delay in delays)
        # Full jitter: spread over the whole range, not bunched at the top.
        assert min(delays) < 0.2 * ceiling
        assert max(delays) > 0.8 * ceiling
    assert backoff_delay(10_000, 1.0, 300.0, rng) <= 300.0


async def test_unreachable_hub_backs_off_per_row_and_goes_offline(store: Store) -> None:
    tries = 0

    async def refuse() -> psycopg.AsyncConnection[Any]:
        nonlocal tries
        tries += 1
        raise psycopg.OperationalError("connection refused (password=hunter2)")

    now = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    await take_calls(store, 2)
    sync = SyncWorker(
        store, refuse, region="US", clock=lambda: now[0], backoff_base=10.0, backoff_cap=60.0
    )
    assert await sync.deliver() == 0
    status = await sync.status()
    assert (status.state, tries) == ("retrying", 1)
    assert status.last_error is not None
    assert "hunter2" not in status.last_error
    rows = await outbox(store)
    assert {row[2] for row in rows} == {1}
    retry_at = datetime.fromisoformat(rows[0][3])
    assert now[0] <= retry_at <= now[0] + timedelta(seconds=10)
    # Not due yet: no new try, however often it is woken.
    await sync.deliver()
    assert tries == 1
    for _ in range(OFFLINE_AFTER):
        now[0] += timedelta(seconds=61)
        await sync.deliver()
    assert tries == 1 + OFFLINE_AFTER
    assert (await sync.status()).state == "offline"
    assert {row[2] for row in await outbox(store)} == {1 + OFFLINE_AFTER}


async def test_a_full_disk_pauses_the_sync_and_it_resumes_when_space_returns(
    hub: Hub, tiny_disk: TinyDisk
) -> None:
    """The hub takes the records but the local mark cannot be written: the worker
    keeps going (no dead task, no crash), and once space returns every row is
    marked sent with nothing stored twice on the hub."""
    store = await Store.open(tiny_disk.path / "careline.db")
    await take_calls(store, 3)
    sync = worker(store, hub, poll_interval=0.05, backoff_base=0.05, backoff_cap=0.2)
    tiny_disk.fill()
    task = asyncio.create_task(sync.run())
    try:
        await asyncio.sleep(1.0)
        assert not task.done()
        assert all(sent is None for _, sent, *_ in await outbox(store))
        tiny_disk.free()
        async with asyncio.timeout(20):
            while any(sent is None for _, sent, *_ in await outbox(store)):
                sync.wake()
                await asyncio.sleep(0.1)
    finally:
        tiny_disk.free()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await store.close()
    _, records, interactions = await hub_view(hub, await source_of_path(tiny_disk))
    assert interactions == 3
    assert records == 3 + 3 + 1  # interactions, agent states, one follow-up


async def source_of_path(disk: TinyDisk) -> str:
    store = await Store.open(disk.path / "careline.db")
    try:
        return await source_of(store)
    finally:
        await store.close()
