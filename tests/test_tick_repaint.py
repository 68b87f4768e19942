# SPDX-License-Identifier: GPL-2.0-or-later
"""The once-a-second tick with a call up repaints only the clocks that moved.

The console runs without an engine at a clock the test moves (the layer above
the engine: a fake is fine here, as in test_snapshots.py); the engine's facts
are fed in as the protocol events it would send. What the tick repaints is read
from the screen's compositor: the regions it renders in the frames after one tick.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.geometry import Region
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widget import Widget

from console.app import AppWiring, CarelineApp, create_app
from console.core.config import load_config
from console.core.phone import PhoneStatus
from console.messages import PhoneEvent, PhoneStatusChanged
from console.widgets.active_call import ActiveCallPanel
from console.widgets.call_queue import CallQueueTable
from console.widgets.footer import KeyFooter
from console.widgets.status_bar import StatusBar
from tests.console_app import SIZE, screen_text
from tests.engine_events import JAMES, MARIA, NOW, call, hello
from tests.still_screen import painted, until_still

pytestmark = pytest.mark.usefixtures("utc_local_time")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def make(tmp_path: Path, clock: Clock) -> CarelineApp:
    """A console with no engine at ``clock``'s time."""
    config = load_config(environ={"CARELINE_UI__BELL": "false", "CARELINE_AGENT__NAME": "Robin"})
    wiring = AppWiring(
        engine_argv=["true"],
        socket_path=tmp_path / "none.sock",
        store_path=tmp_path / "store.sqlite3",
    )
    return create_app(config, wiring, clock=clock, start_phone=False)


async def on_screen(pilot: Pilot[int], calls: list[dict[str, Any]]) -> None:
    """The phone online with ``calls`` at the engine, painted."""
    screen = pilot.app.screen
    screen.post_message(PhoneStatusChanged(PhoneStatus(True, "online", "127.0.0.1:5070")))
    screen.post_message(PhoneEvent(hello(calls)))
    await pilot.pause(0.3)
    # Then until nothing is left to paint (the footer follows the calls a frame or
    # more later; on a loaded machine, later than 0.3 s): what a tick repaints is
    # measured from a still screen.
    await until_still(pilot)


async def one_tick(pilot: Pilot[int], clock: Clock, seconds: float = 1) -> None:
    """The clock moves on and the agent screen's tick runs; its frame is painted."""
    clock.now += timedelta(seconds=seconds)
    app = pilot.app
    assert isinstance(app, CarelineApp)
    app.agent_screen._tick()
    await pilot.pause()
    await pilot.pause()


@asynccontextmanager
async def running(
    tmp_path: Path, calls: list[dict[str, Any]]
) -> AsyncIterator[tuple[CarelineApp, Pilot[int], Clock]]:
    """A console at a clock the test moves, with ``calls`` at the engine, painted."""
    clock = Clock()
    app = make(tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, calls)
        yield app, pilot, clock


def held_and_ringing() -> list[dict[str, Any]]:
    """Maria on hold for 3:00 and James ringing for 0:12, at NOW."""
    return [
        call(*MARIA, state="active", waited=200, talked=180, hold=True),
        call(*JAMES, waited=12),
    ]


def time_cell(table: CallQueueTable, row: int) -> Region:
    """Where the queue's time cell of ``row`` is on the screen."""
    cell = table._get_cell_region(table.cursor_coordinate._replace(row=row, column=2))
    return cell.translate(table.content_region.offset)


def line_of(widget: ActiveCallPanel, text: str) -> Region:
    """The screen line of the panel that reads ``text``."""
    lines = screen_text(widget.app).splitlines()
    region = widget.content_region
    for y in range(region.y, region.bottom):
        if text in lines[y][region.x : region.right]:
            return Region(region.x, y, region.width, 1)
    raise AssertionError(f"{text!r} is not in the panel")


def covered(region: Region, allowed: list[Region]) -> bool:
    """Whether ``region`` lies inside one of ``allowed``."""
    return any(place.contains_region(region) for place in allowed)


async def test_one_held_call_tick_repaints_the_time_cell_and_the_timer_line_only(
    tmp_path: Path,
) -> None:
    held = call(*MARIA, state="active", waited=200, talked=180, hold=True)
    async with running(tmp_path, [held]) as (app, pilot, clock):
        table = app.agent_screen.query_one(CallQueueTable)
        panel = app.agent_screen.query_one(ActiveCallPanel)
        assert "on hold 3:00" in screen_text(app)  # answered 180 s before NOW

        with painted(app) as regions:
            await one_tick(pilot, clock)
        text = screen_text(app)
        assert "on hold 3:01" in text
        assert table.get_cell(MARIA[0], "wait").plain == "3:01"
        assert [line for line in text.splitlines() if "3:01" in line]
        allowed = [time_cell(table, 0), line_of(panel, "on hold 3:01")]
        assert regions, "the tick repainted nothing"
        assert all(covered(region, allowed) for region in regions), (regions, allowed)

        # A tick that changes no reading repaints nothing at all.
        with painted(app) as regions:
            await one_tick(pilot, clock, 0.5)
        assert regions == []


async def test_tick_with_a_ringing_call_and_a_held_one_repaints_their_cells_only(
    tmp_path: Path,
) -> None:
    async with running(tmp_path, held_and_ringing()) as (app, pilot, clock):
        table = app.agent_screen.query_one(CallQueueTable)
        panel = app.agent_screen.query_one(ActiveCallPanel)
        with painted(app) as regions:
            await one_tick(pilot, clock)
        text = screen_text(app)
        assert table.get_cell(JAMES[0], "wait").plain == "0:13"  # rang 12 s before NOW
        assert "0:13" in text
        assert "3:01" in text
        rows = {table.get_row_index(MARIA[0]), table.get_row_index(JAMES[0])}
        allowed = [time_cell(table, row) for row in rows] + [line_of(panel, "on hold 3:01")]
        assert all(covered(region, allowed) for region in regions), (regions, allowed)

        # The cursor still moves over the rows, and the rows still read right after it.
        await pilot.press("tab")
        await pilot.press("down")
        await one_tick(pilot, clock)
        text = screen_text(app)
        assert "0:14" in text
        assert "3:02" in text


@pytest.mark.parametrize("consult", [False, True], ids=["held call", "consult"])
async def test_a_tick_renders_the_panel_s_clock_lines_alone_as_a_full_render_would(
    tmp_path: Path, consult: bool
) -> None:
    calls = [call(*MARIA, state="active", waited=200, talked=180, hold=True)]
    if consult:  # the agent consults James about Maria: two clocks in the panel
        calls.append(call(*JAMES, state="active", waited=30, talked=25, consult_for=MARIA[0]))
    async with running(tmp_path, calls) as (app, pilot, clock):
        panel = app.agent_screen.query_one(ActiveCallPanel)
        renders: list[Text] = []
        render = panel.render

        def counted() -> Text:
            renders.append(render())
            return renders[-1]

        panel.render = counted  # type: ignore[method-assign]
        await one_tick(pilot, clock)
        text = screen_text(app)
        assert "3:01" in text
        assert not consult or "0:26" in text
        assert renders == [], "the whole panel was rendered again for its clocks"
        ticked = list(panel._render_cache.lines)

        panel.refresh()  # a whole render of the same facts paints the same lines
        await pilot.pause()
        assert len(renders) == 1
        assert list(panel._render_cache.lines) == ticked


async def test_a_tick_writes_the_queue_s_times_into_their_lines_as_a_full_render_would(
    tmp_path: Path,
) -> None:
    async with running(tmp_path, held_and_ringing()) as (app, pilot, clock):
        await one_tick(pilot, clock)  # the table's first frames settle (its lines' keys)
        table = app.agent_screen.query_one(CallQueueTable)
        rows: list[int] = []
        render_row = table._render_line_in_row

        def counted(*args: Any, **kwargs: Any) -> Any:
            rows.append(args[1])
            return render_row(*args, **kwargs)

        table._render_line_in_row = counted  # type: ignore[method-assign]
        await one_tick(pilot, clock)
        text = screen_text(app)
        assert "3:02" in text
        assert "0:14" in text
        assert rows == [], "rows were rendered again for their time cells"
        whole = table.size.region
        ticked = table.render_lines(whole)

        # A whole render of the same rows paints the same lines.
        for cache in (table._line_cache, table._row_render_cache, table._cell_render_cache):
            cache.clear()
        table.refresh()
        await pilot.pause()
        assert table.render_lines(whole) == ticked
        assert rows


async def test_the_status_bar_repaints_only_when_its_text_moves(tmp_path: Path) -> None:
    async with running(tmp_path, []) as (app, pilot, clock):
        bar = app.agent_screen.query_one(StatusBar)
        assert "10:00" in screen_text(app)

        async def quarter(seconds: int) -> None:
            clock.now += timedelta(seconds=seconds)
            bar._tick()  # what its 15 s interval runs
            await pilot.pause()
            await pilot.pause()

        with painted(app) as regions:
            await quarter(15)  # 10:00:15: the clock and the minutes in state read the same
        assert regions == []

        with painted(app) as regions:
            await quarter(45)
        assert "10:01" in screen_text(app)
        assert regions
        assert all(bar.region.contains_region(region) for region in regions), regions


async def test_a_tick_renders_neither_the_notes_nor_the_footer_nor_the_patient_panes(
    tmp_path: Path,
) -> None:
    """Textual renders again every widget whose clip meets the repaint; the clocks'
    repaint must not reach the boxes below and beside them."""
    held = call(*MARIA, state="active", waited=200, talked=180, hold=True)
    async with running(tmp_path, [held]) as (app, pilot, clock):
        rendered: list[Widget] = []
        render_lines = Widget.render_lines

        def spy(self: Widget, crop: Region) -> list[Strip]:
            rendered.append(self)
            return render_lines(self, crop)

        Widget.render_lines = spy  # type: ignore[method-assign]
        try:
            await one_tick(pilot, clock)
        finally:
            Widget.render_lines = render_lines  # type: ignore[method-assign]
        assert "3:01" in screen_text(app)
        screen = app.agent_screen
        spared = [screen.query_one(KeyFooter), *screen.query("#notes-pane, #patient-pane")]
        spared.append(screen.query_one("#guidance-pane"))
        assert not [widget for widget in spared if widget in rendered]
