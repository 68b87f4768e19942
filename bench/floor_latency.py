# SPDX-License-Identifier: GPL-2.0-or-later
"""Agent state change → printed by ``careline queue tail`` / visible on the wallboard (p50/p95).

Local mode: one agent (a local store is one workstation's: the readers take
every row as this agent's, and a row naming another is a bad row) publishes
state changes into its store (an after-hours machine with no hub). Three
readers, same run, same changes:

- ``queue tail``: a real ``careline queue tail --json`` subprocess; each
  change carries the wall-clock time it was published (``bench_t``), the
  bench reads the printed line and takes the difference;
- wallboard: ``SupervisorApp`` in-process (headless ``run_test``) over a
  ``LocalFloor``; after each change the bench polls the agent's row until
  its reason cell shows the change;
- baseline: a bare ``SELECT … WHERE seq > ?`` loop on a plain ``sqlite3``
  connection polling every 0.25 s (LocalFloor's interval) in a thread.

Hub mode (``--hub``; by default both modes run, local then hub): a throwaway
PostgreSQL cluster (tests/pg.py, fsync off, 127.0.0.1), a migrated hub
database, a supervisor login and one agent login per simulated agent
(``add_login``). Each change is one committed ``careline.ingest`` call made as
that agent (``SET LOCAL ROLE`` on one publishing connection), so it lands in
``careline.floor_events`` and rings the ``careline_floor`` doorbell. Readers:

- ``queue tail``: ``careline queue tail --json --dsn`` (the supervisor, no
  password on the command line: PGPASSWORD in the child's environment);
- wallboard: ``SupervisorApp`` over a ``HubFloor`` as the supervisor;
- baseline: a bare psycopg ``LISTEN careline_floor`` connection; the time the
  notification for a seq arrives.

Every figure runs from just before the publish (the local insert, or the hub
``ingest`` call and its commit) to the reader seeing the change.

Run: .venv/bin/python -m bench.floor_latency [--local | --hub] [--agents 200]
[--changes 400] [--samples 100] (``--agents``: hub mode)
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import random
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.common import bench_parser, percentile, report
from console.core.interactions import InteractionStore
from console.core.store import Store
from console.floor_view.app import LiveTable, create_supervisor
from console.floor_view.source import HubFloor, LocalFloor
from console.hub.schema import FLOOR_CHANNEL, add_login, migrate
from tests.pg import PgCluster

ROOT = Path(__file__).resolve().parent.parent


LOCAL_AGENT = "agent-000"
"""The workstation's agent in local mode (``state(0, …)`` publishes as it)."""


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def state(agent: int, n: int) -> dict[str, Any]:
    """The ``n``-th change, for agent number ``agent``, stamped with the time now."""
    now = datetime.now(UTC)
    return {
        "agent_id": f"agent-{agent:03d}",
        "agent_name": f"Agent {agent:03d}",
        "availability": random.choice(("available", "not_ready", "wrap_up")),
        "reason": f"change {n}",
        "since": _z(now),
        "on_call": False,
        "call_since": None,
        "at": _z(now),
        "bench_t": time.time(),
    }


def line(
    name: str, values: list[float], baseline: list[float] | None = None, baseline_name: str = ""
) -> None:
    """Print one reader's latencies (the median is the p50), then the p95s."""
    report(name, "ms", values, baseline, baseline_name)
    p95 = f"{name}: p95 {percentile(values, 0.95):.1f} ms"
    if baseline:
        p95 += f"; {baseline_name} p95 {percentile(baseline, 0.95):.1f} ms"
    print(p95, flush=True)


def bare_poll(path: Path, start: int, seen: queue.Queue[float], stop: threading.Event) -> None:
    """The baseline: poll the outbox with plain sqlite3 at LocalFloor's interval."""
    db = sqlite3.connect(path)
    last = start
    while not stop.is_set():
        rows = db.execute(
            "SELECT seq, payload FROM outbox WHERE seq > ? AND kind = 'agent_state' ORDER BY seq",
            (last,),
        ).fetchall()
        now = time.time()
        for seq, payload in rows:
            last = seq
            seen.put((now - json.loads(payload)["bench_t"]) * 1000)
        time.sleep(0.25)
    db.close()


def start_tail(env: dict[str, str], start: int, *dsn: str) -> subprocess.Popen[str]:
    """``careline queue tail --json`` after seq ``start`` with ``env`` added to ours; it reads
    the local store ``env`` names, or the hub when ``dsn`` is ``("--dsn", DSN)``."""
    argv = ["queue", "tail", "--json", "--from-seq", str(start), *dsn]
    return subprocess.Popen(
        [sys.executable, "-m", "console", *argv],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
    )


def printed_latencies(proc: subprocess.Popen[str]) -> queue.Queue[float]:
    """Milliseconds from each change's publish (``bench_t``) to the tail printing it; a
    thread reads the tail's output as it comes."""
    printed: queue.Queue[float] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for text in proc.stdout:
            printed.put((time.time() - json.loads(text)["payload"]["bench_t"]) * 1000)

    threading.Thread(target=pump, daemon=True).start()
    return printed


async def tail_and_baseline(path: Path, agents: int, changes: int) -> None:
    """Stream changes at about 50 a second to a tail subprocess and the bare poll."""
    store = await Store.open(path)
    outbox = InteractionStore(store)
    for agent in range(agents):  # every agent known before the clock starts
        await outbox.publish("agent_state", f"agent-{agent:03d}", state(agent, 0))
    start = int((await store.fetch_all("SELECT max(seq) FROM outbox"))[0][0])
    local = {"CARELINE_STORE__PATH": str(path), "CARELINE_AGENT__ID": LOCAL_AGENT}
    proc = await asyncio.to_thread(start_tail, local, start)
    printed = printed_latencies(proc)
    polled: queue.Queue[float] = queue.Queue()
    stop = threading.Event()
    poller = threading.Thread(target=bare_poll, args=(path, start, polled, stop), daemon=True)
    poller.start()
    await asyncio.sleep(1.0)  # the tail is up
    for n in range(1, changes + 1):
        agent = random.randrange(agents)
        await outbox.publish("agent_state", f"agent-{agent:03d}", state(agent, n))
        await asyncio.sleep(random.uniform(0.0, 0.04))
    await asyncio.sleep(1.5)
    stop.set()
    proc.terminate()
    proc.wait(10)
    poller.join(5)
    await store.close()
    line(
        "local: queue tail (subprocess)",
        list(printed.queue),
        list(polled.queue),
        "bare SELECT poll every 0.25 s",
    )


async def wallboard(path: Path, agents: int, samples: int) -> None:
    """One change at a time; time until the agent's row shows it."""
    writer = await Store.open(path)
    outbox = InteractionStore(writer)
    app = create_supervisor(lambda: LocalFloor.open(path, agent_id=LOCAL_AGENT))
    seen: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one("#agents", LiveTable)
        while table.row_count < min(agents, 1):
            await pilot.pause(0.05)
        await pilot.pause(1.0)
        for n in range(samples):
            agent = random.randrange(agents)
            body = state(agent, 100_000 + n)
            await outbox.publish("agent_state", body["agent_id"], body)
            while True:
                try:
                    if table.get_cell(body["agent_id"], "reason").plain == body["reason"]:
                        break
                except Exception:  # noqa: S112 - the row may not exist yet
                    pass
                await asyncio.sleep(0.002)
            seen.append((time.time() - body["bench_t"]) * 1000)
            await asyncio.sleep(random.uniform(0.0, 0.3))
        await pilot.press("q")
    await writer.close()
    line("local: wallboard row (in-process)", seen)


# ---- hub mode ---------------------------------------------------------------

SUPERVISOR = "bench-supervisor"


@dataclass
class Hub:
    """A migrated hub database on a throwaway cluster, with its logins."""

    cluster: PgCluster
    dbname: str
    password: str
    """The one password of every bench login (supervisor and agents)."""
    sources: dict[int, str] = field(default_factory=dict)
    """Each agent's console id (``careline.ingest``'s source)."""
    sent: dict[int, int] = field(default_factory=dict)
    """The last source_seq each agent sent."""

    @property
    def owner_dsn(self) -> str:
        """The cluster superuser on the hub database (in-process only)."""
        return self.cluster.dsn(
            self.cluster.superuser, self.cluster.superuser_password, self.dbname
        )

    def supervisor_dsn(self, with_password: bool) -> str:
        """The supervisor login; without the password for a child's argv (PGPASSWORD)."""
        return self.cluster.dsn(SUPERVISOR, self.password if with_password else None, self.dbname)


async def fresh_hub(cluster: PgCluster, agents: int) -> Hub:
    """A migrated hub with a supervisor and ``agents`` agent logins."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(
        cluster.superuser_dsn, autocommit=True
    ) as conn:
        await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    hub = Hub(cluster, name, secrets.token_urlsafe(12))
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        await migrate(conn)
        await add_login(conn, SUPERVISOR, hub.password, "supervisor")
        for agent in range(agents):
            await add_login(conn, f"agent-{agent:03d}", hub.password, "agent")
    return hub


async def hub_publish(conn: psycopg.AsyncConnection[Any], hub: Hub, agent: int, n: int) -> None:
    """Agent ``agent`` ingests its ``n``-th state change (one transaction, committed).

    The publishing connection is the owner's, but each change is ingested
    under ``SET LOCAL ROLE agent-NNN``: ``careline.ingest`` runs as that agent
    (RLS, the payload agent check) without 200 open connections.
    """
    body = state(agent, n)
    seq = hub.sent.get(agent, 0) + 1
    hub.sent[agent] = seq
    source = hub.sources.setdefault(agent, str(uuid.uuid4()))
    record = {
        "source_seq": seq,
        "kind": "agent_state",
        "entity_id": body["agent_id"],
        "payload": body,
        "created_at": body["at"],
    }
    async with conn.transaction():
        await conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(body["agent_id"])))
        cursor = await conn.execute(
            "SELECT status FROM careline.ingest(%s::uuid, %s::jsonb)",
            (source, json.dumps([record])),
        )
        rows = await cursor.fetchall()
    if [row[0] for row in rows] != ["stored"]:
        raise RuntimeError(f"ingest answered {rows}")


def bare_listen(
    dsn: str, heard: dict[int, float], ready: threading.Event, stop: threading.Event
) -> None:
    """The baseline: a plain psycopg LISTEN on the doorbell; notes when each seq rang."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"LISTEN {FLOOR_CHANNEL}")
        ready.set()
        while not stop.is_set():
            for note in conn.notifies(timeout=0.2):
                heard[int(note.payload)] = time.time()


async def hub_tail_and_baseline(hub: Hub, agents: int, changes: int) -> None:
    """Stream changes at about 50 a second to a hub tail subprocess and the bare LISTEN."""
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn, autocommit=True) as conn:
        for agent in range(agents):  # every agent known before the clock starts
            await hub_publish(conn, hub, agent, 0)
        cursor = await conn.execute("SELECT coalesce(max(seq), 0) FROM careline.floor_events")
        row = await cursor.fetchone()
        start = int(row[0]) if row else 0
        # As the supervisor, the password only in PGPASSWORD (not on the command line).
        proc = await asyncio.to_thread(
            start_tail,
            {"PGPASSWORD": hub.password},
            start,
            "--dsn",
            hub.supervisor_dsn(with_password=False),
        )
        try:
            printed = printed_latencies(proc)
            heard: dict[int, float] = {}
            ready = threading.Event()
            stop = threading.Event()
            listener = threading.Thread(
                target=bare_listen,
                args=(hub.supervisor_dsn(with_password=True), heard, ready, stop),
                daemon=True,
            )
            listener.start()
            await asyncio.to_thread(ready.wait, 10)
            await asyncio.sleep(1.5)  # the tail is up
            for n in range(1, changes + 1):
                await hub_publish(conn, hub, random.randrange(agents), n)
                await asyncio.sleep(random.uniform(0.0, 0.04))
            await asyncio.sleep(1.5)
            stop.set()
            await asyncio.to_thread(listener.join, 5)
        finally:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 10)
        cursor = await conn.execute(
            "SELECT seq, (payload ->> 'bench_t')::float8 FROM careline.floor_events WHERE seq > %s",
            (start,),
        )
        sent_at = {int(seq): float(t) for seq, t in await cursor.fetchall()}
    rang = [(heard[seq] - t) * 1000 for seq, t in sent_at.items() if seq in heard]
    line(
        f"hub: queue tail --dsn (subprocess, LISTEN/NOTIFY), {changes} changes",
        list(printed.queue),
        rang,
        "bare psycopg LISTEN 'careline_floor' notification",
    )


async def hub_wallboard(hub: Hub, agents: int, samples: int) -> None:
    """One change at a time; time until the agent's row on a HubFloor wallboard shows it."""
    dsn = hub.supervisor_dsn(with_password=True)
    app = create_supervisor(lambda: _hub_floor(dsn))
    seen: list[float] = []
    async with (
        await psycopg.AsyncConnection.connect(hub.owner_dsn, autocommit=True) as conn,
        app.run_test(size=(160, 48)) as pilot,
    ):
        table = app.query_one("#agents", LiveTable)
        deadline = time.monotonic() + 30
        while table.row_count < agents and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.pause(1.0)
        for n in range(samples):
            agent = random.randrange(agents)
            before = time.time()
            await hub_publish(conn, hub, agent, 100_000 + n)
            key, reason = f"agent-{agent:03d}", f"change {100_000 + n}"
            while True:
                try:
                    if table.get_cell(key, "reason").plain == reason:
                        break
                except Exception:  # noqa: S112 - the row may not exist yet
                    pass
                await asyncio.sleep(0.002)
            seen.append((time.time() - before) * 1000)
            await asyncio.sleep(random.uniform(0.0, 0.3))
        await pilot.press("q")
    line("hub: wallboard row (in-process, HubFloor)", seen)


async def _hub_floor(dsn: str) -> HubFloor:
    return HubFloor(dsn)


async def hub_mode(agents: int, changes: int, samples: int) -> None:
    """A throwaway cluster and hub; the three hub readers; the cluster removed after."""
    cluster = PgCluster()
    try:
        cluster.start()
        hub = await fresh_hub(cluster, agents)
        await hub_tail_and_baseline(hub, agents, changes)
        await hub_wallboard(hub, agents, samples)
    finally:
        if cluster.running:
            cluster.stop()
        cluster.remove()


def main() -> None:
    """Run the three readers of each mode and print p50/p95 for each."""
    parser = bench_parser(__doc__, runs=None, quick={"agents": 5, "changes": 20, "samples": 5})
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--changes", type=int, default=400)
    parser.add_argument("--samples", type=int, default=100)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--local", action="store_true", help="only the local-store mode")
    mode.add_argument("--hub", action="store_true", help="only the hub mode")
    args = parser.options()
    random.seed(7)
    if not args.hub:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "floor.sqlite3"
            # One workstation's store holds one agent's rows (LOCAL_AGENT).
            asyncio.run(tail_and_baseline(path, 1, args.changes))
            asyncio.run(wallboard(path, 1, args.samples))
    if not args.local:
        asyncio.run(hub_mode(args.agents, args.changes, args.samples))


if __name__ == "__main__":
    main()
