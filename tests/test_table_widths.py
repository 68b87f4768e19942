# SPDX-License-Identifier: GPL-2.0-or-later
"""A table drawn before it measured its rows is drawn again at the measured widths.

Textual's DataTable sizes its columns for new or widened cells when it is next idle, and
keys the lines and cells it drew on everything but the columns' widths. A frame drawn in
between (a loaded machine) left the rows cut at the old widths ("Annel" for Anneliese)
until the table next changed; CI's wallboard snapshot caught it as "Ann L"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from console.floor_view.app import LiveTable
from console.widgets.call_table import CallTable
from tests.console_app import screen_text

NAME = "Anneliese Lee-Whitcombe"


class Callers(CallTable):
    """The smallest call table: a caller and a state."""

    COLUMNS = (("Caller", "caller"), ("State", "state"))


class TableApp(App[None]):
    """One table filling the screen, as the wallboard's and the console's panes do."""

    CSS = "DataTable { height: 1fr; }"

    def __init__(self, table: DataTable[Any]) -> None:
        super().__init__()
        self.table = table

    def compose(self) -> ComposeResult:
        yield self.table


async def drawn_before_measured(table: DataTable[Any], *changes: Callable[[], object]) -> str:
    """The screen once the table is idle, after each change was drawn before it was."""
    app = TableApp(table)
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        for change in changes:
            change()
            screen_text(app)  # a frame now, before the table measured the change
            await pilot.pause(0.2)  # idle: it measures
        return screen_text(app)


def agent(name: str, state: str) -> dict[str, dict[str, Text]]:
    return {"a1": {"agent": Text(name), "state": Text(state)}}


async def test_the_wallboards_new_rows_are_drawn_again_at_their_measured_widths() -> None:
    table = LiveTable((("agent", "Agent"), ("state", "State")))
    text = await drawn_before_measured(
        table, lambda: table.sync_rows(agent(NAME, "available"), ["a1"])
    )
    assert NAME in text
    assert "available" in text


async def test_a_wallboard_cell_that_grew_is_drawn_again_whole() -> None:
    table = LiveTable((("agent", "Agent"), ("state", "State")))
    text = await drawn_before_measured(
        table,
        lambda: table.sync_rows(agent(NAME, "away"), ["a1"]),
        lambda: table.sync_rows(agent(NAME, "available · on call"), ["a1"]),
    )
    assert "available · on call" in text


async def test_a_call_tables_new_rows_are_drawn_again_at_their_measured_widths() -> None:
    table = Callers()
    text = await drawn_before_measured(
        table, lambda: table.add_row(Text(NAME), Text("ringing"), key="c1")
    )
    assert NAME in text
    assert "ringing" in text
