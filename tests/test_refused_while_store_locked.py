# SPDX-License-Identifier: GPL-2.0-or-later
"""Calls the engine refuses never hold the agent screen while the store is locked.

The real console and engine, SIPp callers refused with 480 (the agent is not ready), and
another program holding the store's write lock (a transaction left open). Each refused
call is recorded (a history row, a floor event); waiting for the store's busy timeout on
each one, a burst of them froze the screen for five seconds a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.app import CarelineApp
from console.widgets.history import CallHistory
from tests.console_app import SIZE, make_app, sip_port, wait_for
from tests.support import Sipp

REFUSED = 3
CALLER = ("Maria Lopez", "+12025550142")


@contextlib.asynccontextmanager
async def locked_by_another_program(store: Path) -> AsyncIterator[None]:
    """Another process holds ``store``'s write lock (``BEGIN IMMEDIATE``) until the block
    ends. A connection of this process would not do: SQLite tells a conflict between
    connections of one process at once, not after the busy timeout as between programs.
    Awaited, never blocking the loop: the console's own write transaction, waiting on the
    loop for its next step, would hold the lock the other program waits for."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_LOCK, str(store), stdin=PIPE, stdout=PIPE
    )
    assert holder.stdin is not None
    assert holder.stdout is not None
    try:
        assert await holder.stdout.readline() == b"locked\n"
        yield
    finally:
        holder.stdin.close()  # the transaction ends with the process
        await asyncio.wait_for(holder.wait(), 10)


HOLD_LOCK = (
    "import sqlite3, sys\n"
    "db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n"
    "db.execute('BEGIN IMMEDIATE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.mark.realtime  # the screen timed against the clock: run alone
async def test_refused_calls_never_hold_the_screen_while_another_program_holds_the_store(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    app.held.retry_s = 0.3  # once the lock goes, what was held is written soon
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        await refused_then_one_rings(app, pilot, tmp_path)


async def refused_then_one_rings(app: CarelineApp, pilot: Pilot[int], tmp_path: Path) -> None:
    """Calls refused while the store is locked, then one that rings; all stored after."""
    screen = app.agent_screen
    await app.phone.command("availability", state="not_ready", reason="Lunch")
    async with locked_by_another_program(app.wiring.store_path):
        callers = [(f"Eve {n}", f"+1555012{n}") for n in range(REFUSED)]
        refused = Sipp(
            tmp_path, "uac_queue_call.xml", sip_port(app), callers=callers, calls=REFUSED
        )
        await asyncio.to_thread(refused.wait)
        await app.phone.command("availability", state="available", reason="")
        loop = asyncio.get_running_loop()
        rang = loop.time()
        ringing = Sipp(tmp_path, "uac_ring.xml", sip_port(app), callers=[CALLER])
        await wait_for(pilot, lambda: len(screen.queue.ringing()) == 1, 30, "ringing")
        took = loop.time() - rang
        assert took < 1.0, f"the next call took {took:.2f} s to ring behind {REFUSED} refused"
        await pilot.press("d")  # declined (486)
        assert await asyncio.to_thread(ringing.wait) == 0, ringing.report()
    assert refused.wait() == 0, refused.report()
    history = app.agent_screen.query_one(CallHistory)
    await wait_for(pilot, lambda: history.row_count == REFUSED + 1, 15, "every call stored")
    rows = await app.services.store.fetch_all("SELECT end_reason FROM calls ORDER BY rowid")
    assert rows == [("turned_away",)] * REFUSED + [("rejected",)]
    events = await app.services.store.fetch_all(
        "SELECT json_extract(payload, '$.event') FROM outbox WHERE kind = 'call_event'"
    )
    assert events == [("turned_away",)] * REFUSED + [("offered",), ("missed",)]
    assert app.held.count == 0
