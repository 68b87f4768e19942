# SPDX-License-Identifier: GPL-2.0-or-later
"""The console driven with Pilot against the real engine process and SIPp."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
from textual.pilot import Pilot
from textual.widgets import TextArea

from console.app import CarelineApp
from console.messages import PhoneEvent
from console.widgets.active_call import ActiveCallPanel
from console.widgets.call_queue import CallQueueTable
from console.widgets.history import CallHistory
from console.widgets.status_bar import StatusBar
from tests.console_app import SIZE, make_app, screen_text, sip_port, talking, wait_for
from tests.engine_events import call, incoming
from tests.support import Sipp


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[CarelineApp, Pilot[int]]]:
    """The real console with a real engine, online."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        yield app, pilot


async def test_ringing_call_renders_answer_key_answers_hangup_key_ends(
    console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    app, pilot = console
    screen = app.agent_screen
    sipp = Sipp(
        tmp_path, "uac_agent_hangs_up.xml", sip_port(app), callers=[("Maria Lopez", "+12025550142")]
    )
    await wait_for(pilot, lambda: len(screen.queue.ringing()) == 1, what="ringing call")
    table = app.agent_screen.query_one(CallQueueTable)
    assert table.row_count == 1
    text = screen_text(app)
    assert "Maria Lopez" in text
    assert "+12025550142" in text
    assert "ringing" in text

    await pilot.press("a")
    await wait_for(pilot, lambda: talking(app), what="answered")
    panel = app.agent_screen.query_one(ActiveCallPanel)
    await wait_for(pilot, lambda: "talking 0:02" in str(panel.render()), 4, "timer running")
    assert "Maria Lopez" in str(panel.render())

    await pilot.press("h")
    history = app.agent_screen.query_one(CallHistory)
    await wait_for(pilot, lambda: history.row_count == 1, what="history row")
    assert not len(screen.queue)
    assert "agent hung up" in screen_text(app)
    assert sipp.wait() == 0, sipp.report()

    async with aiosqlite.connect(tmp_path / "store.sqlite3") as db:
        rows = await (
            await db.execute(
                "SELECT caller_name, caller_number, end_reason, ended_by, answered_at IS NOT NULL "
                "FROM calls"
            )
        ).fetchall()
    assert [tuple(row) for row in rows] == [
        ("Maria Lopez", "+12025550142", "completed", "agent", 1)
    ]


async def test_decline_key_refuses_with_486(
    console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    app, pilot = console
    sipp = Sipp(tmp_path, "uac_expect_busy.xml", sip_port(app))
    await wait_for(pilot, lambda: len(app.agent_screen.queue.ringing()) == 1, what="ringing")
    await pilot.press("d")
    history = app.agent_screen.query_one(CallHistory)
    await wait_for(pilot, lambda: history.row_count == 1, what="history row")
    assert "declined" in screen_text(app)
    assert sipp.wait() == 0, sipp.report()


async def test_caller_who_gives_up_shows_as_missed(
    console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    app, pilot = console
    sipp = Sipp(tmp_path, "uac_cancel.xml", sip_port(app))
    history = app.agent_screen.query_one(CallHistory)
    await wait_for(pilot, lambda: history.row_count == 1, what="history row")
    assert "missed (caller gave up)" in screen_text(app)
    assert sipp.wait() == 0, sipp.report()


HOSTILE_NAME = "[bold red]Dr Evil[/] \u202egnp.exe [link=http://x]click[/link]" + "x" * 2000


async def test_hostile_caller_text_is_shown_literally_and_cut(
    console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    app, pilot = console
    sipp = Sipp(
        tmp_path, "uac_agent_hangs_up.xml", sip_port(app), callers=[(HOSTILE_NAME, "+12025550199")]
    )
    screen = app.agent_screen
    await wait_for(pilot, lambda: len(screen.queue.ringing()) == 1, what="ringing")
    await pilot.press("a")
    await wait_for(pilot, lambda: screen.queue.active() is not None, what="answered")
    await pilot.pause(0.3)
    text = screen_text(app)
    assert "[bold red]Dr Evil[/]" in text  # literal, not styled
    assert "[link=http://x]" in text
    assert "\u202e" not in text  # the RTL override is gone
    assert "…" in text  # cut with an ellipsis
    assert max(len(line) for line in text.splitlines()) <= SIZE[0]
    await pilot.press("h")
    await wait_for(
        pilot, lambda: app.agent_screen.query_one(CallHistory).row_count == 1, what="history"
    )
    assert "[bold red]Dr Evil[/]" in screen_text(app)
    assert sipp.wait() == 0, sipp.report()


async def test_escape_sequences_in_caller_text_never_reach_the_terminal(
    console: tuple[CarelineApp, Pilot[int]],
) -> None:
    app, pilot = console
    hostile = call("fake-1", "\x1b]0;pwned\x07\x1b[2J\x1b[31mEve\r\nLine2", "\x1b[5m555")
    app.agent_screen.post_message(PhoneEvent(incoming(hostile)))
    await wait_for(
        pilot, lambda: app.agent_screen.query_one(CallQueueTable).row_count == 1, what="row"
    )
    text = screen_text(app)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "Eve Line2" in text
    assert "\ufffd" in text  # tampering stays visible


async def test_engine_killed_mid_call_keeps_the_notes_and_wraps_the_call_up(
    tmp_path: Path,
) -> None:
    """Notes typed on a call survive the engine dying under it: the call is closed
    as lost, the notes are on disk, and its wrap-up opens with them (a call back)."""
    app = make_app(tmp_path, wrap_up="mandatory")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        status = app.agent_screen.query_one(StatusBar)
        notes = app.agent_screen.query_one("#notes", TextArea)
        assert notes.read_only  # no call: nothing typed could belong anywhere
        sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", sip_port(app))
        screen = app.agent_screen
        await wait_for(pilot, lambda: len(screen.queue.ringing()) == 1, what="ringing")
        await pilot.press("a")
        await wait_for(pilot, lambda: talking(app), what="answered")
        call_id = screen.queue.active().id  # type: ignore[union-attr]
        await pilot.press("n")
        await pilot.press(*"caller asked for refill")
        await pilot.press("escape")
        assert notes.text == "caller asked for refill"
        process = app.phone.process
        assert process is not None
        old_pid = process.pid
        os.kill(old_pid, signal.SIGKILL)
        await wait_for(pilot, lambda: not status.online, 5, "offline shown")
        await wait_for(pilot, lambda: status.online, 10, "back online")
        assert app.phone.process is not None
        assert app.phone.process.pid != old_pid
        assert app.phone.restarts == 1
        await wait_for(pilot, lambda: screen.wrap_up.open is not None, 5, "wrap-up open")
        assert "CALL LOST" in screen_text(app)
        rows = await app.services.store.fetch_all(
            "SELECT notes, end_reason FROM calls WHERE id = ?", (call_id,)
        )
        assert rows == [("caller asked for refill", "lost")]
        assert notes.text == ""
        assert notes.read_only
        sipp.stop()


async def test_calls_lost_with_the_engine_are_closed_for_the_floor(
    console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    """A ringing call that dies with the engine is reported missed, not waiting forever."""
    app, pilot = console
    sipp = Sipp(tmp_path, "uac_ring.xml", sip_port(app))
    await wait_for(pilot, lambda: len(app.agent_screen.queue.ringing()) == 1, what="ringing")
    process = app.phone.process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)
    status = app.agent_screen.query_one(StatusBar)
    await wait_for(pilot, lambda: status.online, 10, "back online")
    rows = await app.services.store.fetch_all(
        "SELECT json_extract(payload, '$.event') FROM outbox WHERE kind = 'call_event' ORDER BY seq"
    )
    assert [r[0] for r in rows] == ["offered", "missed"]
    sipp.stop()


async def test_quit_with_a_live_call_asks_first(
    console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    app, pilot = console
    sipp = Sipp(tmp_path, "uac_ring.xml", sip_port(app))
    await wait_for(pilot, lambda: len(app.agent_screen.queue.ringing()) == 1, what="ringing")
    await pilot.press("q")
    await pilot.pause(0.2)
    assert "Quitting hangs them up" in screen_text(app)
    await pilot.press("n")
    await pilot.pause(0.2)
    assert app.is_running
    await pilot.press("d")
    assert sipp.wait() == 0, sipp.report()


async def test_a_call_turned_away_is_in_the_history_and_on_the_floor(
    console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    """A caller refused with 480 while the agent is not ready leaves a trace: a
    history row saying why, and a turned_away floor event with the reason."""
    app, pilot = console
    await app.phone.command("availability", state="not_ready", reason="Lunch")
    sipp = Sipp(tmp_path, "uac_queue_call.xml", sip_port(app), callers=[("Eve", "+15550123")])
    assert sipp.wait() == 0, sipp.report()
    history = app.agent_screen.query_one(CallHistory)
    await wait_for(pilot, lambda: history.row_count == 1, 5, "history row")
    assert "turned away (you were not ready)" in screen_text(app)
    rows = await app.services.store.fetch_all(
        "SELECT caller_name, end_reason, end_detail, sip_status, queue FROM calls"
    )
    assert rows == [("Eve", "turned_away", "agent not_ready", 480, "nurse-line")]
    events = await app.services.store.fetch_all(
        "SELECT json_extract(payload, '$.event'), json_extract(payload, '$.reason'), "
        "json_extract(payload, '$.queue') FROM outbox WHERE kind = 'call_event'"
    )
    assert [tuple(e) for e in events] == [("turned_away", "agent not_ready", "nurse-line")]
