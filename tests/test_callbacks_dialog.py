# SPDX-License-Identifier: GPL-2.0-or-later
"""The callbacks list: order, overdue marking, literal text, and the keys that choose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from textual.app import App
from textual.widgets import OptionList

from console.core.interactions import Callback, CallbackStatus, utc_text
from console.core.interactions.rows import callback_from_row
from console.core.wrap_up import CallbackChoice, describe_due, overdue_by
from console.dialogs.callbacks import EMPTY, CallbacksDialog
from tests.console_app import screen_text, wait_for

LOCAL = timezone(timedelta(hours=-5))
NOW = datetime(2026, 3, 5, 19, 0, tzinfo=UTC)  # Thursday 14:00 local


def callback(
    ident: str,
    due: datetime,
    *,
    number: str = "+13125550188",
    reason: str = "Lab results",
    owner: str = "me",
    status: CallbackStatus = "open",
) -> Callback:
    """A callback as the store lists it at NOW: its row (CALLBACK_COLUMNS, created a day
    before) decoded by the store's own code, which says whether it is overdue."""
    row = (ident, f"i-{ident}", None, number, utc_text(due), owner, reason, status)
    created = utc_text(NOW - timedelta(days=1))
    return callback_from_row((*row, None, None, created), utc_text(NOW))


CALLBACKS = [
    callback("later", NOW + timedelta(days=1, hours=-5), owner="team"),  # Fri 09:00 local
    callback("late", NOW - timedelta(hours=2, minutes=10), number="+12025550142"),
    callback("soon", NOW + timedelta(minutes=30), reason="[b]Refill[/b] asap"),
    callback("closed", NOW - timedelta(hours=5), status="done"),
]


class CallbacksApp(App[int]):
    """Pushes the dialog over an empty screen and keeps what it returned."""

    def __init__(self, callbacks: list[Callback]) -> None:
        super().__init__()
        self.callbacks = callbacks
        self.returned: list[CallbackChoice | None] = []

    def on_mount(self) -> None:
        self.push_screen(CallbacksDialog(self.callbacks, NOW, LOCAL), self.returned.append)


def rows(app: App[Any]) -> list[str]:
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_open_callbacks_by_due_with_the_overdue_marked() -> None:
    app = CallbacksApp(CALLBACKS)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = rows(app)
        assert len(shown) == 3  # the done one is not listed
        assert shown[0].startswith("OVERDUE 2h")
        assert "today 11:50" in shown[0]
        assert "+12025550142" in shown[0]
        assert "today 14:30" in shown[1]
        assert "OVERDUE" not in shown[1]
        assert "[b]Refill[/b] asap" in shown[1]  # literal, not markup
        assert "Thu" not in shown[2]
        assert "tomorrow 09:00" in shown[2]
        assert "team" in shown[2]
        option = app.screen.query_one(OptionList).get_option_at_index(0)
        prompt = option.prompt
        assert any("reverse" in str(span.style) for span in prompt.spans)  # type: ignore[union-attr]
        assert "[b]Refill[/b] asap" in screen_text(app)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        pytest.param(("down", "enter"), ("dial", "soon"), id="enter-dials-the-highlighted"),
        pytest.param(("x",), ("done", "late"), id="x-hands-back-to-record-as-done"),
        pytest.param(("escape",), None, id="escape-closes-without-a-choice"),
    ],
)
async def test_keys_hand_back_the_choice(
    keys: tuple[str, ...], expected: tuple[str, str] | None
) -> None:
    app = CallbacksApp(CALLBACKS)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*keys)
        await wait_for(pilot, lambda: bool(app.returned), what="dismiss")
    [choice] = app.returned
    got = None if choice is None else (choice.action, choice.callback.id)
    assert got == expected


async def test_nothing_due_says_so_and_keys_do_nothing_but_close() -> None:
    app = CallbacksApp([callback("closed", NOW, status="done")])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert EMPTY in screen_text(app)
        await pilot.press("enter", "x")
        await pilot.pause()
        assert app.returned == []
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(app.returned), what="dismiss")
    assert app.returned == [None]


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (NOW + timedelta(hours=1), "today 15:00"),
        (NOW + timedelta(hours=12), "tomorrow 02:00"),
        (NOW + timedelta(days=3), "Sun 14:00"),
        (NOW - timedelta(days=1), "yesterday 14:00"),
        (NOW + timedelta(days=10), "2026-03-15 14:00"),
    ],
)
def test_due_times_read_in_local_time(due: datetime, expected: str) -> None:
    assert describe_due(due, NOW, LOCAL) == expected


@pytest.mark.parametrize(
    ("late", "expected"),
    [
        (timedelta(seconds=-1), ""),
        (timedelta(seconds=20), "1m"),
        (timedelta(minutes=25), "25m"),
        (timedelta(hours=2, minutes=59), "2h"),
        (timedelta(days=3, hours=1), "3d"),
    ],
)
def test_how_late(late: timedelta, expected: str) -> None:
    assert overdue_by(NOW - late, NOW) == expected
