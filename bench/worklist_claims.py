# SPDX-License-Identifier: GPL-2.0-or-later
"""Hub worklist claims: items claimed per second by 10 concurrent claimers on one hub.

Each run migrates a fresh hub database and publishes a worklist as the owner would:
``--items`` patients with one item each, one in five with a second item on another
list (the daily cap holds it once the first is called), one in fifty opted out. Ten
claimer processes (``--claimers``), each logged in as its own agent with its own local
store (the directory's MRNs), start together and loop ``HubWorklists.claim_next`` then
``record`` (confirmed) until nothing is offered: the console's path, every calling
rule checked in the hub against every agent's calls. Items claimed per second is the
claims over the wall time from the common start to the last claimer done.

Double claims: an item claimed by two claimers or recorded twice, and a patient
called twice in a day; each is counted from the claimers' answers and the hub's call
log, must be 0, and the bench fails if not.

Baseline, same run and server: the same claimer processes, each a bare psycopg loop on
a plain table of as many items: ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP
LOCKED LIMIT 1) RETURNING`` then the settling ``UPDATE`` by token: the queue with no
calling rules, no patients, no leases. The PostgreSQL cluster is the test one
(tests/pg.py: a throwaway cluster on 127.0.0.1, fsync off).
Run: .venv/bin/python -m bench.worklist_claims [--items 5000] [--claimers 10] [--runs 5]
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import queue
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.common import bench_parser, report
from console.core.config import WorklistsConfig
from console.core.store import Store
from console.core.worklists.store import Outcome
from console.hub.connection import hub_connector
from console.hub.schema import add_login, migrate
from console.hub.worklist_claims import HubWorklists
from tests.pg import PgCluster

PASSWORD = "bench-only-password"
RULES = WorklistsConfig(caller_id="+12025550100")
NUMBER = "+12025550142"


Share = tuple[list[str], float, float]
"""What one claimer did: the items it claimed, when it started and when it finished."""


def mrn(n: int) -> str:
    """The MRN of patient ``n``."""
    return f"BENCH-{n:07d}"


def worklist(items: int) -> list[dict[str, object]]:
    """``items`` published items: every patient once, every fifth twice (another list)."""
    rows: list[dict[str, object]] = []
    for n in range(items):
        lists = ["reminders", "refills"] if n % 5 == 0 else ["reminders"]
        rows += [
            {
                "list_id": list_id,
                "kind": "appointment_reminder",
                "dedupe_key": f"{list_id}:{n}",
                "mrn": mrn(n),
                "reason": "Reminder: check-up",
                "script_id": "appointment-reminder-confirmation",
                "numbers": [NUMBER],
                "zones": ["America/New_York"],
            }
            for list_id in lists
        ]
    return rows[:items]


async def fresh_hub(cluster: PgCluster, agents: list[str], items: int) -> str:
    """A migrated hub with the agents' logins, the worklist and a whole-day window (the
    bench must not depend on the hour); the database's name."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(
        cluster.superuser_dsn, autocommit=True
    ) as conn:
        await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    owner = cluster.dsn(cluster.superuser, cluster.superuser_password, name)
    async with await psycopg.AsyncConnection.connect(owner, autocommit=True) as conn:
        await migrate(conn)
        for agent in agents:
            await add_login(conn, agent, PASSWORD, "agent")
        await conn.execute(
            "UPDATE careline.worklist_rules SET window_start = '00:00', window_end = '24:00'"
        )
        await conn.execute(
            """INSERT INTO careline.worklist_items (list_id, kind, dedupe_key, mrn, reason,
                   script_id, numbers, zones, due_from, due_until, generated_on,
                   max_attempts, spacing_minutes)
               SELECT r.list_id, r.kind, r.dedupe_key, r.mrn, r.reason, r.script_id,
                   r.numbers, r.zones, current_date, current_date + 1, current_date, 3, 120
               FROM jsonb_to_recordset(%s::jsonb) AS r(list_id text, kind text,
                   dedupe_key text, mrn text, reason text, script_id text, numbers text[],
                   zones text[])""",
            (json.dumps(worklist(items)),),
        )
        await conn.execute(
            "INSERT INTO careline.worklist_opt_outs (mrn, source) "
            "SELECT 'BENCH-' || lpad(n::text, 7, '0'), 'bench' "
            "FROM generate_series(1, %s, 50) AS n",
            (items,),
        )
        await conn.execute("ANALYZE")
    return name


async def directory(path: Path, items: int) -> None:
    """A local store whose directory holds every bench patient's MRN."""
    store = await Store.open(path)
    async with store.transaction() as db:
        await db.executemany(
            "INSERT INTO patients (id, mrn, given_names, source, updated_at) "
            "VALUES (?, ?, 'Ann', 'bench', 'x')",
            [(str(uuid.uuid4()), mrn(n)) for n in range(items)],
        )
    await store.close()


def claimer(mode: str, dsn: str, store: str, start: Any, results: Any) -> None:
    """One claimer process: connect, wait for the others, claim until nothing is left."""
    work = hub_claims if mode == "hub" else bare_claims
    results.put(asyncio.run(work(dsn, Path(store), start)))


async def hub_claims(dsn: str, path: Path, start: Any) -> Share:
    """The console's path: ``HubWorklists.claim_next`` and ``record`` in a loop."""
    store = await Store.open(path)
    claims = HubWorklists(store, hub_connector(dsn, PASSWORD), RULES)
    await claims.sync_opt_outs(pull=True)  # connected and caught up before the start
    start.wait()
    began = time.monotonic()
    got = []
    while (claim := await claims.claim_next("bench", datetime.now(UTC))) is not None:
        if not await claims.record(claim, Outcome.CONFIRMED, datetime.now(UTC)):
            raise RuntimeError("a held claim could not be settled")
        got.append(claim.item_id)
    done = time.monotonic()
    await claims.close()
    await store.close()
    return got, began, done


async def bare_claims(dsn: str, path: Path, start: Any) -> Share:
    """The baseline: a bare SKIP LOCKED claim and settle on a plain table."""
    del path
    async with await psycopg.AsyncConnection.connect(
        dsn, password=PASSWORD, autocommit=True
    ) as conn:
        start.wait()
        began = time.monotonic()
        got = []
        while True:
            cur = await conn.execute(
                "UPDATE bench_queue SET state = 'claimed', token = gen_random_uuid() "
                "WHERE id = (SELECT id FROM bench_queue WHERE state = 'pending' ORDER BY seq "
                "LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, token"
            )
            row = await cur.fetchone()
            if row is None:
                break
            await conn.execute(
                "UPDATE bench_queue SET state = 'done' WHERE id = %s AND token = %s", row
            )
            got.append(str(row[0]))
        done = time.monotonic()
    return got, began, done


def race(mode: str, dsns: list[str], stores: list[Path]) -> tuple[float, list[str]]:
    """Run the claimers together; (items claimed per second, every item claimed)."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(dsns))
    results = context.Queue()
    procs = [
        context.Process(target=claimer, args=(mode, dsn, str(store), start, results))
        for dsn, store in zip(dsns, stores, strict=True)
    ]
    for proc in procs:
        proc.start()
    shares: list[Share] = []
    while len(shares) < len(procs):
        try:
            shares.append(results.get(timeout=1.0))
        except queue.Empty:
            if any(proc.exitcode not in (None, 0) for proc in procs):
                start.abort()
                for proc in procs:
                    proc.join(timeout=10)
                raise RuntimeError(f"a {mode} claimer failed") from None
    for proc in procs:
        proc.join(timeout=60)
    claimed = [item for items, _, _ in shares for item in items]
    wall = max(done for _, _, done in shares) - min(began for _, began, _ in shares)
    return len(claimed) / wall, claimed


def callable_items(items: int) -> int:
    """How many items the rules let be called today: one per patient not opted out."""
    patients = {str(row["mrn"]) for row in worklist(items)}
    opted_out = {mrn(n) for n in range(1, items, 50)}
    return len(patients - opted_out)


def hub_doubles(cluster: PgCluster, name: str, claimed: list[str]) -> tuple[int, int]:
    """(Items claimed or recorded more than once, patients called twice today)."""
    owner = cluster.dsn(cluster.superuser, cluster.superuser_password, name)
    twice = sum(count - 1 for count in Counter(claimed).values() if count > 1)
    with psycopg.connect(owner) as conn:
        row = conn.execute(
            "SELECT (SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n "
            "FROM careline.worklist_calls GROUP BY item_id) AS per_item), "
            "(SELECT count(*) FROM (SELECT mrn FROM careline.worklist_calls GROUP BY mrn "
            "HAVING count(*) > 1) AS per_patient)"
        ).fetchone()
    assert row is not None
    return twice + int(row[0]), int(row[1])


def bare_table(cluster: PgCluster, name: str, agents: list[str], items: int) -> None:
    """The baseline's plain queue: as many items as the worklist, no rules."""
    owner = cluster.dsn(cluster.superuser, cluster.superuser_password, name)
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bench_queue (seq bigserial, id uuid PRIMARY KEY DEFAULT "
            "gen_random_uuid(), state text NOT NULL DEFAULT 'pending', token uuid)"
        )
        conn.execute("CREATE INDEX ON bench_queue (seq) WHERE state = 'pending'")
        conn.execute(
            "INSERT INTO bench_queue (state) SELECT 'pending' FROM generate_series(1, %s)",
            (items,),
        )
        conn.execute("ANALYZE bench_queue")
        for agent in agents:
            conn.execute(
                sql.SQL("GRANT SELECT, UPDATE ON bench_queue TO {}").format(sql.Identifier(agent))
            )


def main(items: int, claimers: int, runs: int) -> None:
    """Alternate hub and baseline runs; fail on any double claim."""
    cluster = PgCluster()
    agents = [f"bench-claimer-{k:02d}" for k in range(claimers)]
    try:
        cluster.start()
        with tempfile.TemporaryDirectory(prefix="careline-bench-claims-") as tmp:
            work = Path(tmp)
            template = work / "directory.sqlite3"
            asyncio.run(directory(template, items))
            rates: list[float] = []
            bare: list[float] = []
            doubles: list[float] = []
            twice_called: list[float] = []
            claimed_counts: list[float] = []
            for run in range(runs):
                name = asyncio.run(fresh_hub(cluster, agents, items))
                dsns = [cluster.dsn(agent, None, name) for agent in agents]
                stores = [work / f"run{run}-{k}.sqlite3" for k in range(claimers)]
                for store in stores:
                    shutil.copy(template, store)
                rate, claimed = race("hub", dsns, stores)
                double, twice = hub_doubles(cluster, name, claimed)
                rates.append(rate)
                doubles.append(float(double))
                twice_called.append(float(twice))
                claimed_counts.append(float(len(claimed)))
                bare_table(cluster, name, agents, items)
                bare_rate, bare_claimed = race("bare", dsns, stores)
                if len(bare_claimed) != len(set(bare_claimed)) or len(bare_claimed) != items:
                    raise RuntimeError("the bare loop lost or doubled an item")
                bare.append(bare_rate)
                print(
                    f"run {run + 1}: {len(claimed)} of {items} items claimed "
                    f"({rate:.0f}/s), bare {bare_rate:.0f}/s",
                    file=sys.stderr,
                    flush=True,
                )
            label = f"{claimers} claimers, {items} items"
            report(
                f"hub worklist claims (claim + record, calling rules), {label}",
                "items/s",
                rates,
                bare,
                "bare UPDATE … FOR UPDATE SKIP LOCKED loop (claim + settle)",
            )
            report(f"double claims, {label}", "items", doubles)
            report(f"patients called twice in a day, {label}", "patients", twice_called)
            expected = callable_items(items)
            print(
                f"items claimed per run: {sorted(set(claimed_counts))} of {expected} callable "
                f"({items} items; the rest a patient's second item or opted out)"
            )
            if max(doubles) or max(twice_called):
                raise SystemExit("double claims: the hub let two agents call one patient")
            if set(claimed_counts) != {float(expected)}:
                raise SystemExit("the claimers stopped with callable items left")
    finally:
        cluster.stop()
        cluster.remove()


if __name__ == "__main__":
    parser = bench_parser(__doc__, runs=5, quick={"items": 300})
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--claimers", type=int, default=10)
    args = parser.options()
    main(args.items, args.claimers, args.runs)
