# SPDX-License-Identifier: GPL-2.0-or-later
"""The real console with its store on a real full disk (a small tmpfs, filled up):
a call rings, is answered, gets notes, is hung up and wrapped up while nothing
can be written. The console stays up, says what is not saved, and writes it
all, in order, once space returns. Quitting before then is not a silent 0."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from textual.widgets import TextArea

from console.app import CarelineApp
from console.dialogs.confirm import ConfirmDialog
from console.dialogs.wrap_up import WrapUpDialog
from console.widgets.status_bar import StatusBar
from tests.console_app import make_app, screen_text, sip_port, talking, wait_for
from tests.support import Sipp
from tests.tiny_disk import TinyDisk

CALLER = ("Maria Lopez", "+12025550142")


def on_tiny_disk(tmp_path: Path, disk: TinyDisk, wrap_up: str = "optional") -> CarelineApp:
    """A console (real engine) whose store alone lives on ``disk``."""
    app = make_app(tmp_path, wrap_up=wrap_up)
    app.wiring = dataclasses.replace(app.wiring, store_path=disk.path / "store.sqlite3")
    app.held.retry_s = 0.3
    return app


async def test_a_call_on_a_full_disk_is_kept_and_written_when_space_returns(
    tmp_path: Path, tiny_disk: TinyDisk
) -> None:
    app = on_tiny_disk(tmp_path, tiny_disk)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        tiny_disk.fill()
        sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", sip_port(app), callers=[CALLER])
        screen = app.agent_screen
        await wait_for(pilot, lambda: len(screen.queue.ringing()) == 1, what="ringing")
        bar = screen.query_one(StatusBar)
        await wait_for(pilot, lambda: "full" in bar.storage, 5, "disk full shown")
        assert "NOT SAVED" in screen_text(app)
        assert "Maria" not in bar.storage
        await pilot.press("a")
        await wait_for(pilot, lambda: talking(app), what="answered")
        await pilot.press("n")
        await pilot.pause(0.1)
        await pilot.press(*"needs insulin refill")
        await pilot.press("escape")
        await pilot.pause(1.5)  # the notes' save comes due, and is held
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, WrapUpDialog), 10, "wrap-up")
        assert "needs insulin refill" in app.screen.query_one("#notes", TextArea).text
        await pilot.press("escape")  # optional: skipped, recorded with the default
        await wait_for(pilot, lambda: not isinstance(app.screen, WrapUpDialog), 5, "closed")
        assert sipp.wait() == 0, sipp.report()
        assert app.is_running
        assert app.held.count > 0
        assert "wrap-up" in app.held.summary()
        rows = await app.services.store.fetch_all("SELECT count(*) FROM calls")
        assert rows == [(0,)]  # nothing reached the disk…

        tiny_disk.free()
        await wait_for(pilot, lambda: app.held.count == 0, 10, "held writes saved")
        await wait_for(pilot, lambda: bar.storage == "", 2, "status bar clear")
        calls = await app.services.store.fetch_all(
            "SELECT caller_name, answered_at IS NOT NULL, end_reason, notes FROM calls"
        )
        assert calls == [("Maria Lopez", 1, "completed", "needs insulin refill")]
        interactions = await app.services.store.fetch_all("SELECT notes FROM interactions")
        assert interactions == [("needs insulin refill",)]
        events = await app.services.store.fetch_all(
            "SELECT json_extract(payload, '$.event') FROM outbox "
            "WHERE kind = 'call_event' ORDER BY seq"
        )
        assert [e[0] for e in events] == ["offered", "answered", "ended", "wrapped"]
        drafts = await app.services.store.fetch_all("SELECT count(*) FROM wrap_up_drafts")
        assert drafts == [(0,)]


async def test_quitting_with_unsaved_records_asks_and_exits_non_zero(
    tmp_path: Path, tiny_disk: TinyDisk
) -> None:
    app = on_tiny_disk(tmp_path, tiny_disk)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        tiny_disk.fill()
        sipp = Sipp(tmp_path, "uac_cancel.xml", sip_port(app), callers=[CALLER])
        await wait_for(pilot, lambda: app.held.count > 0, 10, "a held record")
        assert sipp.wait() == 0, sipp.report()
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), 3, "asked")
        assert "not saved" in screen_text(app)
        await pilot.press("y")
    assert app.return_code == 1
