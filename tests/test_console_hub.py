# SPDX-License-Identifier: GPL-2.0-or-later
"""A console against a real PostgreSQL hub: its calls reach the hub once, the
status bar says how the sync stands, and an outage only queues."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import psycopg

from console.widgets.history import CallHistory
from console.widgets.status_bar import StatusBar
from tests.console_app import make_app, sip_port, talking, wait_for
from tests.pg import Hub, PgCluster
from tests.support import Sipp


def console_config(tmp_path: Path, hub: Hub, pg_cluster: PgCluster, agent: str) -> str:
    """A console config for ``agent`` on ``hub``: DSN without password, 0600 password file."""
    hub.add_agent(agent)
    secret = tmp_path / f"{agent}.pw"
    secret.write_text(hub.passwords[agent] + "\n", encoding="utf-8")
    secret.chmod(0o600)
    dsn = f"host=127.0.0.1 port={pg_cluster.port} dbname={hub.dbname} user={agent}"
    return (
        f'agent:\n  id: {agent}\n  name: Alice\nhub:\n  dsn: "{dsn}"\n  password_file: {secret}\n'
    )


def ended(history: CallHistory, calls: int) -> bool:
    """The history lists ``calls`` finished calls."""
    return history.row_count == calls


async def hub_counts(hub: Hub) -> tuple[int, int, int]:
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        cursor = await conn.execute(
            """SELECT (SELECT count(*) FROM careline.interactions),
                      (SELECT count(*) FROM careline.floor_events WHERE kind = 'call_event'),
                      (SELECT count(*) FROM careline.records)"""
        )
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


async def test_calls_reach_the_hub_once_and_an_outage_only_queues(
    tmp_path: Path, hub: Hub, pg_cluster: PgCluster
) -> None:
    app = make_app(tmp_path, console_config(tmp_path, hub, pg_cluster, "alice"))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        bar = app.agent_screen.query_one(StatusBar)
        await wait_for(pilot, lambda: bar.sync[0].startswith("hub ✓"), 20, "hub reached")

        history = app.agent_screen.query_one(CallHistory)
        for number, expected in enumerate((1, 2), start=1):
            if number == 2:
                pg_cluster.stop()  # the hub goes down: the next call only queues
            sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", sip_port(app))
            await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()), what="ring")
            await pilot.press("a")
            await wait_for(pilot, lambda: talking(app), what="answered")
            await pilot.press("h")
            await wait_for(pilot, partial(ended, history, expected), what="ended")
            assert sipp.wait() == 0, sipp.report()
            if number == 1:
                await wait_for(pilot, lambda: bar.sync == ("hub ✓", False), 20, "synced")
                assert (await hub_counts(hub))[:2] == (1, 4)
        await wait_for(pilot, lambda: bar.sync[1], 30, "outage shown")
        assert "queued" in bar.sync[0]
        pg_cluster.start()
        assert app.sync is not None
        app.sync.wake()
        deadline = asyncio.get_running_loop().time() + 60
        while bar.sync != ("hub ✓", False):
            assert asyncio.get_running_loop().time() < deadline, bar.sync
            app.sync.wake()
            await pilot.pause(0.5)
    interactions, call_events, records = await hub_counts(hub)
    assert (interactions, call_events) == (2, 8)  # offered, answered, ended, wrapped ×2
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        cursor = await conn.execute(
            "SELECT count(DISTINCT (source, source_seq)), count(*) FROM careline.records"
        )
        distinct, total = await cursor.fetchone() or (0, 0)
    assert distinct == total == records  # exactly one copy of every record
