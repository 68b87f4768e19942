# SPDX-License-Identifier: GPL-2.0-or-later
"""A recording's events never hold the agent screen while the store is locked.

The real console and engine, a SIPp patient recorded with consent, and another program
holding the store's write lock from before the call: the recording's row and audit entries
wait behind the call's own records, and the next call rings at once meanwhile. Once the
lock goes, the recording's row and audit are on disk.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.core.store import Store
from console.dialogs.confirm import ConfirmDialog
from console.widgets.recording_badge import RecordingBadge
from tests.console_app import SIZE, make_app, sip_port, talking, wait_for
from tests.support import Sipp
from tests.test_console_recording import PHONE, config, hang_up, seed
from tests.test_refused_while_store_locked import locked_by_another_program

CALLER = ("M Lopez", PHONE)
AT_ONCE_S = 2.0
"""How long the next call may take to ring (the store's busy timeout is 5 s)."""


@pytest.mark.realtime  # the screen timed against the clock: run alone
async def test_a_recorded_call_never_holds_the_next_ring_while_the_store_is_locked(
    tmp_path: Path,
) -> None:
    store_path = tmp_path / "store.sqlite3"
    await seed(store_path)
    app = make_app(tmp_path, config(tmp_path / "recordings"))
    app.held.retry_s = 0.3  # once the lock goes, what was held is written soon
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        async with locked_by_another_program(app.wiring.store_path):
            loop = asyncio.get_running_loop()
            sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", sip_port(app), callers=[CALLER])
            queue, badge = app.agent_screen.queue, app.agent_screen.query_one(RecordingBadge)
            await wait_for(pilot, lambda: bool(queue.ringing()), what="ringing")
            await pilot.press("a")
            await wait_for(pilot, lambda: talking(app), what="answered")
            await wait_for(pilot, lambda: badge.state == "awaiting_consent", what="asked")
            await pilot.press("R")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="question")
            asked = loop.time()
            await pilot.press("y")
            await wait_for(pilot, lambda: badge.state == "recording", 30, "recording")
            took = loop.time() - asked
            assert took < AT_ONCE_S, f"the recording took {took:.2f} s to show"
            rang = loop.time()
            second = Sipp(tmp_path, "uac_ring.xml", sip_port(app), callers=[("Ann", "+1555")])
            await wait_for(pilot, lambda: len(queue.ringing()) == 1, 30, "the next call ringing")
            took = loop.time() - rang
            assert took < AT_ONCE_S, f"the next call took {took:.2f} s to ring"
            await pilot.press("d")  # declined (486)
            assert await asyncio.to_thread(second.wait) == 0, second.report()
            await hang_up(pilot, sipp, badge)
        await wait_for(pilot, lambda: app.held.count == 0, 15, "held writes saved")
        await app.held.settled()
    store = await Store.open(store_path)
    try:
        recordings = await store.fetch_all("SELECT state, consent_by FROM recordings")
        audit = await store.fetch_all(
            "SELECT action, outcome FROM audit WHERE action LIKE 'record_%' ORDER BY seq"
        )
    finally:
        await store.close()
    assert [tuple(row) for row in recordings] == [("stopped", "agent")]
    assert [tuple(row) for row in audit] == [("record_start", "ok"), ("record_stop", "ok")]
