# SPDX-License-Identifier: GPL-2.0-or-later
"""A key pressed twice at once (a double press, or keys an SSH link delivers together)
closes a dialog or screen once: Textual's ``dismiss`` pops whichever screen is on top,
so a second close popped the agent's screen and left a blank terminal."""

from __future__ import annotations

from pathlib import Path

from textual.containers import Vertical

from console.core.quality.selection import week_of
from console.core.store import Store
from console.dialogs.choice import ChoicePicker
from console.qa_view.app import create_qa
from console.qa_view.evaluation_screen import EvaluationScreen
from console.qa_view.queue_screen import QueueScreen
from console.qa_view.session import QaSettings, session_opener
from console.screens.agent import AgentScreen
from console.screens.lock import LockScreen
from tests.console_app import press_together, wait_for
from tests.qa_calls import MONDAY, a_week
from tests.test_lock import audit_rows, make


async def test_a_double_enter_on_a_picker_picks_once_and_keeps_the_agent_screen(
    tmp_path: Path,
) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        picked: list[int | None] = []
        app.push_screen(ChoicePicker[int]("Pick one", [(1, "one"), (2, "two")]), picked.append)
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="picker")
        press_together(app, "enter", "enter")
        await wait_for(pilot, lambda: bool(picked), what="picked")
        await pilot.pause(0.3)
        assert isinstance(app.screen, AgentScreen)
        assert picked == [1]
        assert app.screen_stack[-1] is app.agent_screen


async def test_a_dialog_still_dims_the_screen_below_instead_of_hiding_it(tmp_path: Path) -> None:
    """Dialogs close once *and* stay modal screens: Textual takes CSS from the first base
    class only, so the order of :class:`Dialog`'s bases decides that the agent's screen
    shows through, dimmed."""
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        app.push_screen(ChoicePicker[int]("Pick one", [(1, "one")]))
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="picker")
        assert 0 < app.screen.styles.background.a < 1
        # and Dialog's own frame: centred, bordered (its CSS once went missing, and a
        # dialog drew unframed at the top left, over the status bar)
        assert app.screen.styles.align == ("center", "middle")
        assert app.screen.query_one(Vertical).styles.border_top[0] == "thick"


async def test_a_double_enter_at_the_lock_unlocks_once_and_keeps_the_agent_screen(
    tmp_path: Path,
) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.agent_screen
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen), what="lock")
        press_together(app, "enter", "enter")  # no PIN set: Enter unlocks
        await wait_for(pilot, lambda: not isinstance(app.screen, LockScreen), what="unlock")
        await pilot.pause(0.3)
        assert app.screen is screen
    rows = await audit_rows(tmp_path / "store.sqlite3")
    assert [(a, o) for a, o, _, _ in rows] == [("lock", "ok"), ("unlock", "ok")]


async def test_a_double_escape_on_a_qa_form_goes_back_to_the_queue_once(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    store = await Store.open(path)
    try:
        await a_week(store)
    finally:
        await store.close()
    start, end = week_of(MONDAY)
    app = create_qa(session_opener(QaSettings(path, None, "sam", start, end)))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, QueueScreen) and bool(app.screen.entries)
        )
        queue = app.screen
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EvaluationScreen), what="the form")
        press_together(app, "escape", "escape")
        await wait_for(pilot, lambda: app.screen is queue, what="back on the queue")
        await pilot.pause(0.3)
        assert app.screen is queue
