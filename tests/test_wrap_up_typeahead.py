# SPDX-License-Identifier: GPL-2.0-or-later
"""The wrap-up saves what was typed before ctrl+s, even when the keys arrive together.

A fast agent (or an SSH link that delivers keys in one read) sends the last letters and
ctrl+s at once. ctrl+s must not overtake them: the record saved is the one on screen.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from textual.widgets import Input, TextArea

from console.core.wrap_up import WrapUpResult
from tests.console_app import press_together, wait_for
from tests.test_wrap_up_dialog import WrapUpApp


async def saved(first: str, box: str | None, *together: str) -> WrapUpResult:
    """What the wrap-up hands back after the key ``first``, the cursor put at the end of
    the text box ``box`` (if any), then the keys ``together`` in one read."""
    app = WrapUpApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(first)
        if box is not None:
            widget = app.dialog.query_one(box)
            widget.focus()
            if isinstance(widget, TextArea):
                widget.move_cursor(widget.document.end)
            await pilot.pause()
        press_together(app, *together)
        await wait_for(pilot, lambda: bool(app.returned), what="saved")
    result = app.returned[0]
    assert result is not None
    return result


async def test_a_disposition_changed_with_ctrl_s_at_once_is_the_one_saved() -> None:
    result = await saved("b", None, "r", "ctrl+s")  # booked; then resolved, and save
    assert result.disposition == "resolved"


async def test_the_last_words_of_the_notes_typed_with_ctrl_s_at_once_are_saved() -> None:
    result = await saved("r", "#notes", *" Call back Friday.", "ctrl+s")
    assert result.notes == "Asked about refill. Call back Friday."


async def test_a_field_typed_with_ctrl_s_at_once_is_saved_whole() -> None:
    result = await saved("r", "#field-visit", *"2026-03-20", "ctrl+s")
    assert result.fields["visit"] == date(2026, 3, 20)


async def typed_after(key: str, box: str, words: str, **options: Any) -> tuple[str, str | None]:
    """(what the box ``box`` holds, the disposition) after ``r``, then ``key`` and
    ``words`` in one read: ``key`` moves the focus to ``box``."""
    app = WrapUpApp(**options)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        press_together(app, key, *words)
        field = app.dialog.query_one(box, Input)
        await wait_for(pilot, lambda: field.value == words, 3, f"{words!r} in {box}")
        return field.value, app.dialog.disposition


async def test_a_due_time_typed_with_ctrl_f_goes_into_the_follow_up_not_the_disposition() -> None:
    # Its letters are disposition keys (r, b, c, n) outside the box.
    assert await typed_after("ctrl+f", "#due", "tomorrow 9am") == ("tomorrow 9am", "resolved")


async def test_a_reason_typed_with_ctrl_e_goes_into_its_box_not_the_disposition() -> None:
    words = "still on the phone"
    assert await typed_after("ctrl+e", "#extend-reason", words, mode="timed") == (
        words,
        "resolved",
    )
