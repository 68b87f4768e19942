# SPDX-License-Identifier: GPL-2.0-or-later
"""Hub sync throughput: records per second draining a 10,000-record backlog.

A local store gets a backlog of realistic outbox rows once (interactions
written by ``InteractionStore.finish``, every fourth with a follow-up: 8,000
interactions + 2,000 callbacks); each run copies it, migrates a fresh hub
database and times ``SyncWorker.deliver()`` until the backlog is empty (hub
``careline.ingest`` per batch of 500, commit, local mark). Baseline, same run
and server: a bare psycopg ``executemany`` INSERT of the same rows into a plain
table in one transaction (no idempotency, no per-record checks, no local
bookkeeping). The PostgreSQL cluster is the test one (tests/pg.py: a throwaway
cluster on 127.0.0.1, fsync off).
Run: .venv/bin/python -m bench.sync_throughput [--records 10000] [--runs 3]
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from bench.common import bench_parser, report
from console.core.interactions import FollowUp, Interaction, InteractionStore
from console.core.store import Store
from console.hub.schema import add_login, migrate
from console.hub.sync import SyncWorker, hub_connector
from tests.pg import PgCluster

AGENT = "bench-agent"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def build_backlog(path: Path, records: int) -> None:
    """A store whose outbox holds ``records`` unsent rows."""
    store = await Store.open(path)
    interactions = InteractionStore(store)
    written = 0
    k = 0
    while written < records:
        follow_ups = (
            [FollowUp(number="+16175550100", due_at=T0 + timedelta(days=1), owner=AGENT)]
            if k % 4 == 0 and written + 2 <= records
            else []
        )
        await interactions.finish(
            Interaction(
                agent_id=AGENT,
                patient_id=str(uuid.uuid4()),
                started_at=T0 + timedelta(minutes=k),
                ended_at=T0 + timedelta(minutes=k, seconds=240),
                script_id="chest-pain",
                script_version="3",
                answers=[
                    {"question": f"q{n}", "value": "yes", "at": T0.isoformat()} for n in range(12)
                ],
                urgency="urgent" if k % 7 == 0 else "routine",
                disposition="advice-given",
                notes="Caller advised; symptoms reviewed against the script.",
                form={"callback_requested": bool(follow_ups), "language": "en"},
            ),
            follow_ups,
        )
        written += 1 + len(follow_ups)
        k += 1
    await store.close()


async def fresh_hub(cluster: PgCluster) -> tuple[str, str]:
    """A migrated hub database with the bench agent; (owner DSN, agent DSN)."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(
        cluster.superuser_dsn, autocommit=True
    ) as conn:
        await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    owner = cluster.dsn(cluster.superuser, cluster.superuser_password, name)
    async with await psycopg.AsyncConnection.connect(owner) as conn:
        await migrate(conn)
        await add_login(conn, AGENT, "bench-only-password", "agent")
    return owner, cluster.dsn(AGENT, "bench-only-password", name)


async def sync_run(cluster: PgCluster, template: Path, work: Path) -> float:
    """Records per second through the sync worker."""
    path = work / f"store-{uuid.uuid4().hex[:6]}.db"
    shutil.copy(template, path)
    _, agent = await fresh_hub(cluster)
    store = await Store.open(path)
    worker = SyncWorker(store, hub_connector(agent), region="US", batch=500)
    try:
        backlog = (await worker.status()).backlog
        started = time.perf_counter()
        delivered = await worker.deliver()
        elapsed = time.perf_counter() - started
        if delivered != backlog or (await worker.status()).backlog != 0:
            raise RuntimeError(f"delivered {delivered} of {backlog}")
    finally:
        await worker.close()
        await store.close()
    return backlog / elapsed


async def baseline_run(cluster: PgCluster, template: Path) -> float:
    """Records per second for a bare executemany INSERT of the same rows."""
    store = await Store.open(template)
    rows = await store.fetch_all(
        "SELECT seq, kind, entity_id, payload, created_at FROM outbox ORDER BY seq"
    )
    await store.close()
    owner, _ = await fresh_hub(cluster)
    source = str(uuid.uuid4())
    async with await psycopg.AsyncConnection.connect(owner, autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE bench_plain (source uuid, source_seq bigint, kind text, "
            "entity_id text, payload jsonb, created_at timestamptz)"
        )
        started = time.perf_counter()
        async with conn.transaction(), conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO bench_plain VALUES (%s, %s, %s, %s, %s::jsonb, %s::timestamptz)",
                [(source, *row) for row in rows],
            )
        elapsed = time.perf_counter() - started
    return len(rows) / elapsed


async def main(records: int, runs: int) -> None:
    """Build the backlog once, then alternate sync and baseline runs."""
    cluster = PgCluster()
    try:
        cluster.start()
        with tempfile.TemporaryDirectory(prefix="careline-bench-sync-") as tmp:
            work = Path(tmp)
            template = work / "backlog.db"
            await build_backlog(template, records)
            synced: list[float] = []
            bare: list[float] = []
            for _ in range(runs):
                synced.append(await sync_run(cluster, template, work))
                bare.append(await baseline_run(cluster, template))
            report(
                f"sync drain of a {records}-record backlog",
                "records/s",
                synced,
                bare,
                "bare executemany INSERT",
            )
    finally:
        cluster.stop()
        cluster.remove()


if __name__ == "__main__":
    parser = bench_parser(__doc__, runs=3, quick={"records": 500})
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.options()
    asyncio.run(main(args.records, args.runs))
