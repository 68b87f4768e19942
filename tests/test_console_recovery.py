# SPDX-License-Identifier: GPL-2.0-or-later
"""Closing lost calls never doubles a record: a call this console saw end is not
"left open" because a full disk is holding its closing writes, and a link to an
attached engine that drops does not close the calls that engine still holds.

The console runs without an engine; the engine's facts are fed in as the
protocol events it sends (the layer above the engine: see test_snapshots). The
real-engine versions are in test_console_pilot.py and test_detach.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console.app import AppWiring, CarelineApp, create_app
from console.core.config import load_config
from console.core.phone import PhoneStatus
from console.dialogs.wrap_up import WrapUpDialog
from console.messages import PhoneEvent, PhoneStatusChanged
from console.widgets.history import CallHistory
from tests.console_app import screen_text, wait_for
from tests.engine_events import MARIA, NOW, call, event, hello, incoming
from tests.tiny_disk import TinyDisk

pytestmark = pytest.mark.usefixtures("utc_local_time")


def make(tmp_path: Path, store: Path | None = None) -> CarelineApp:
    """A console with no engine, a frozen clock, an optional wrap-up (Esc records it)."""
    config = load_config(
        environ={"CARELINE_UI__BELL": "false", "CARELINE_WRAP_UP__MODE": "optional"}
    )
    wiring = AppWiring(["true"], tmp_path / "none.sock", store or tmp_path / "store.sqlite3")
    return create_app(config, wiring, clock=lambda: NOW, start_phone=False)


ONLINE = PhoneStatus(True, "online", "127.0.0.1:5070")
OFFLINE = PhoneStatus(False, "phone engine stopped (exit -9)")


async def test_a_call_ended_while_the_disk_is_full_is_not_lost_again_at_hello(
    tmp_path: Path, tiny_disk: TinyDisk
) -> None:
    app = make(tmp_path, tiny_disk.path / "store.sqlite3")
    app.held.retry_s = 0.3
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.agent_screen
        screen.post_message(PhoneStatusChanged(ONLINE))
        screen.post_message(PhoneEvent(hello([])))
        screen.post_message(PhoneEvent(incoming(call(*MARIA))))
        screen.post_message(PhoneEvent(event("call.state", "c1", state="active")))
        await wait_for(pilot, lambda: screen.queue.active() is not None, 3, "talking")
        await pilot.pause(0.3)
        tiny_disk.fill()
        screen.post_message(
            PhoneEvent(event("call.ended", "c1", reason="completed", ended_by="caller"))
        )
        await wait_for(pilot, lambda: isinstance(app.screen, WrapUpDialog), 5, "wrap-up")
        assert app.held.count > 0  # the call's end and its draft wait in memory
        # The engine restarts: its hello knows no call, the disk still shows c1 open.
        screen.post_message(PhoneStatusChanged(OFFLINE))
        screen.post_message(PhoneStatusChanged(ONLINE))
        screen.post_message(PhoneEvent(hello([])))
        await pilot.pause(0.5)
        assert "CALL LOST" not in screen_text(app)
        assert len(screen.wrap_up.waiting) == 0
        await pilot.press("escape")  # the one wrap-up, skipped: recorded with the default
        tiny_disk.free()
        await wait_for(pilot, lambda: app.held.count == 0, 10, "saved")
        rows = await app.services.store.fetch_all(
            "SELECT c.end_reason, count(i.id) FROM calls c "
            "LEFT JOIN interactions i ON i.call_id = c.id GROUP BY c.id"
        )
        assert rows == [("completed", 1)]


async def test_a_dropped_link_to_an_attached_engine_loses_no_call(tmp_path: Path) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        app.phone.attached = True  # serving an engine an earlier console left running
        screen = app.agent_screen
        screen.post_message(PhoneStatusChanged(ONLINE))
        talking = call(*MARIA, state="active", waited=100, talked=90)
        screen.post_message(PhoneEvent(hello([talking])))
        await wait_for(pilot, lambda: screen.queue.active() is not None, 3, "talking")
        screen.post_message(PhoneStatusChanged(OFFLINE))
        await pilot.pause(0.3)
        assert not isinstance(app.screen, WrapUpDialog)
        # Reattached: the engine still holds the call.
        screen.post_message(PhoneStatusChanged(ONLINE))
        screen.post_message(PhoneEvent(hello([talking])))
        await wait_for(pilot, lambda: screen.queue.active() is not None, 3, "back")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, WrapUpDialog)
        rows = await app.services.store.fetch_all("SELECT ended_at FROM calls")
        assert rows == [(None,)]
        # Had it died with its calls, the new engine's hello closes them.
        screen.post_message(PhoneStatusChanged(OFFLINE))
        screen.post_message(PhoneStatusChanged(ONLINE))
        screen.post_message(PhoneEvent(hello([])))
        await wait_for(pilot, lambda: isinstance(app.screen, WrapUpDialog), 5, "wrap-up")
        assert "CALL LOST" in screen_text(app)


async def test_held_writes_saved_while_the_console_closes_its_screen_raise_nothing(
    tmp_path: Path, tiny_disk: TinyDisk
) -> None:
    # At quit Textual takes the screen's widgets down before the app's own unmount stops
    # the retries: a retry landing in between saved the writes, then failed redrawing the
    # history ("retrying held writes failed: NoMatches" in the log).
    app = make(tmp_path, tiny_disk.path / "store.sqlite3")
    app.held.retry_s = 3600  # flushed by hand below
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.agent_screen
        screen.post_message(PhoneStatusChanged(ONLINE))
        screen.post_message(PhoneEvent(hello([call(*MARIA, state="active")])))
        await wait_for(pilot, lambda: screen.queue.active() is not None, 3, "talking")
        tiny_disk.fill()
        screen.post_message(
            PhoneEvent(event("call.ended", "c1", reason="completed", ended_by="caller"))
        )
        await wait_for(pilot, lambda: app.held.count > 0, 5, "the call's end held")
        await screen.query_one(CallHistory).remove()  # as the screen is closing
        tiny_disk.free()

        assert await app.held.flush()

        rows = await app.services.store.fetch_all("SELECT end_reason FROM calls")
        assert rows == [("completed",)]
