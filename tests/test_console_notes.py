# SPDX-License-Identifier: GPL-2.0-or-later
"""The notes box belongs to one call: tied on attach whatever the call's state,
moved when the agent takes another call off hold, saved when emptied, and
empty (read-only) when no call holds it — never the last patient's notes
while the next caller rings.

The console runs without an engine; the engine's facts are fed in as the
protocol events it sends (the layer above the engine: see test_snapshots).
The same box is driven against the real engine in test_console_pilot.py
and test_detach.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import TextArea

from console.app import CarelineApp
from console.controllers.notes import SAVE_DELAY
from console.core.phone import PhoneStatus
from console.messages import PhoneEvent, PhoneStatusChanged
from tests.console_app import wait_for
from tests.engine_events import JAMES, MARIA, call, event, hello, incoming, make

pytestmark = pytest.mark.usefixtures("utc_local_time")


async def start(pilot: Pilot[int], calls: list[dict[str, Any]]) -> TextArea:
    """Online, attached to an engine holding ``calls``; returns the notes box."""
    app = pilot.app
    assert isinstance(app, CarelineApp)
    screen = app.agent_screen
    screen.post_message(PhoneStatusChanged(PhoneStatus(True, "online", "127.0.0.1:5070")))
    screen.post_message(PhoneEvent(hello(calls)))
    await pilot.pause(0.3)
    return screen.query_one("#notes", TextArea)


async def stored_notes(app: CarelineApp, call_id: str) -> str:
    rows = await app.services.store.fetch_all("SELECT notes FROM calls WHERE id = ?", (call_id,))
    return str(rows[0][0]) if rows else "<no call row>"


async def type_notes(pilot: Pilot[int], text: str) -> None:
    await pilot.press("n")
    await pilot.press(*text)
    await pilot.press("escape")


async def saved(pilot: Pilot[int], call_id: str, text: str) -> None:
    app = pilot.app
    assert isinstance(app, CarelineApp)
    got = ""
    for _ in range(int((SAVE_DELAY + 3) / 0.1)):
        got = await stored_notes(app, call_id)
        if got == text:
            return
        await pilot.pause(0.1)
    raise AssertionError(f"notes of {call_id} are {got!r}, not {text!r}")


async def test_attached_to_a_held_call_the_box_is_that_calls(tmp_path: Path) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        box = await start(pilot, [call(*MARIA, state="active", waited=100, talked=90, hold=True)])
        assert app.agent_screen.notes.call_id == "c1"
        assert not box.read_only
        await type_notes(pilot, "asked for a refill")
        await saved(pilot, "c1", "asked for a refill")
        # Taken off hold: a call.hold event, not call.state; the box stays with it.
        app.agent_screen.post_message(PhoneEvent(event("call.hold", "c1", local=False)))
        await pilot.pause(0.2)
        assert app.agent_screen.notes.call_id == "c1"
        assert box.text == "asked for a refill"


async def test_an_emptied_box_is_saved_so_deleted_text_stays_deleted(tmp_path: Path) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        box = await start(pilot, [call(*MARIA, state="active", waited=100, talked=90)])
        await type_notes(pilot, "wrong patient")
        await saved(pilot, "c1", "wrong patient")
        await pilot.press("n")
        await pilot.pause(0.1)  # the focus moves on the next frame
        await pilot.press("end", *["backspace"] * len("wrong patient"))
        await pilot.press("escape")
        assert box.text == ""
        await saved(pilot, "c1", "")


async def test_taking_another_call_off_hold_moves_the_box_to_it(tmp_path: Path) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        box = await start(
            pilot,
            [
                call(*MARIA, state="active", waited=200, talked=180, hold=True),
                call(*JAMES, state="active", waited=70, talked=65),
            ],
        )
        assert app.agent_screen.notes.call_id == "c2"
        await type_notes(pilot, "James: billing")
        screen = app.agent_screen
        screen.post_message(PhoneEvent(event("call.hold", "c2", local=True)))
        screen.post_message(PhoneEvent(event("call.hold", "c1", local=False)))
        await wait_for(pilot, lambda: screen.notes.call_id == "c1", 3, "box on Maria's call")
        assert box.text == ""  # Maria's own (empty) notes, not James's
        assert await stored_notes(app, "c2") == "James: billing"  # saved as the box moved
        await type_notes(pilot, "Maria: refill")
        screen.post_message(PhoneEvent(event("call.hold", "c1", local=True)))
        screen.post_message(PhoneEvent(event("call.hold", "c2", local=False)))
        await wait_for(pilot, lambda: screen.notes.call_id == "c2", 3, "box back on James")
        assert box.text == "James: billing"
        assert await stored_notes(app, "c1") == "Maria: refill"


async def test_the_next_caller_rings_on_an_empty_box(tmp_path: Path) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        box = await start(pilot, [call(*MARIA, state="active", waited=100, talked=90)])
        await type_notes(pilot, "chest pain last night")
        screen = app.agent_screen
        screen.post_message(
            PhoneEvent(event("call.ended", "c1", reason="completed", ended_by="caller"))
        )
        screen.post_message(PhoneEvent(incoming(call(*JAMES))))
        await wait_for(pilot, lambda: len(screen.queue.ringing()) == 1, 3, "James ringing")
        await pilot.pause(0.2)
        assert box.text == ""
        assert box.read_only
        assert screen.notes.call_id is None
        assert await stored_notes(app, "c1") == "chest pain last night"
        # Typing with no call goes nowhere, and says so by refusing the keys.
        await type_notes(pilot, "stray")
        assert box.text == ""


async def test_selecting_another_held_call_moves_the_box(tmp_path: Path) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await start(
            pilot,
            [
                call(*MARIA, state="active", waited=200, talked=180, hold=True),
                call(*JAMES, state="active", waited=70, talked=65, hold=True),
            ],
        )
        screen = app.agent_screen
        first = screen.notes.call_id
        assert first in ("c1", "c2")
        table = screen.query_one("#queue")
        table.focus()
        await pilot.press("down" if first == "c1" else "up")
        await wait_for(pilot, lambda: screen.notes.call_id not in (first, None), 3, "box moved")
        assert screen.notes.call_id == screen.calls.selected_call().id  # type: ignore[union-attr]
