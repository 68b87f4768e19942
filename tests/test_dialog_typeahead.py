# SPDX-License-Identifier: GPL-2.0-or-later
"""Keys typed with the key that opens a dialog go into the dialog, in order.

Over SSH (or from a fast typist) ``p`` and the number to dial come in one read. The
dialog was on top before its search box had the focus, and the number went nowhere:
the agent saw an empty box. Keys for a dialog without a field (``y`` after ``q``)
still answer it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, OptionList, TextArea

from console.dialogs.base import Dialog
from console.dialogs.target_picker import TargetPicker
from console.dialogs.wrap_up import WrapUpDialog
from console.messages import PhoneEvent
from tests.console_app import press_together, wait_for
from tests.engine_events import event
from tests.test_lock import make, maria_talking
from tests.test_notes_typeahead import maria_on_the_line, slow_call_queue


async def test_a_number_typed_with_p_is_dialled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        dialled: list[object] = []
        monkeypatch.setattr(
            app.agent_screen, "send_command", lambda cmd, **args: dialled.append((cmd, args))
        )
        press_together(app, "p", *"5551234", "enter")
        await wait_for(pilot, lambda: bool(dialled), what="the dial command")
        assert dialled == [
            ("dial", {"number": "5551234"})
        ]  # what was typed, not the directory's first
        assert not isinstance(app.screen, TargetPicker)


async def test_typed_ahead_keys_keep_their_order_with_keys_typed_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with maria_on_the_line(tmp_path, monkeypatch) as (app, pilot, screen, sent):
        press_together(app, "t", *"555")
        press_together(app, *"12")
        await wait_for(pilot, lambda: isinstance(app.screen, TargetPicker), what="the picker")
        field = app.screen.query_one(Input)
        await wait_for(pilot, lambda: field.value == "55512", what="the typed number")
        await pilot.pause(0.2)
        assert field.value == "55512"
        assert sent == []  # nothing went to the call meanwhile


async def test_escape_typed_with_the_opening_key_closes_the_dialog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with maria_on_the_line(tmp_path, monkeypatch) as (app, pilot, screen, sent):
        press_together(app, "t", *"55", "escape")
        await wait_for(pilot, lambda: app.screen is screen, what="the dialog closed")
        await pilot.pause(0.3)
        assert app.screen is screen
        assert sent == []


async def test_a_dialog_without_a_field_still_takes_its_answer_in_the_same_read(
    tmp_path: Path,
) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await maria_talking(app, pilot)
        press_together(app, "q", "y")  # a call is up: quitting asks first
        await wait_for(pilot, lambda: not app.is_running, what="the console to quit")


async def test_an_n_typed_into_a_dialog_is_a_letter_not_the_notes_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``c`` and "nurse" together: the n is the name's, not the key that opens the notes
    (which, acted on as it arrived, once overtook the c and took the rest of the name)."""
    async with maria_on_the_line(tmp_path, monkeypatch) as (app, pilot, screen, sent):
        press_together(app, "c", *"nurse")
        await wait_for(pilot, lambda: isinstance(app.screen, TargetPicker), what="the picker")
        field = app.screen.query_one(Input)
        await wait_for(pilot, lambda: field.value == "nurse", what="the typed name")
        assert screen.query_one("#notes", TextArea).text == ""
        assert sent == []


class Reopens(Dialog[None]):
    """A dialog that acts on "3" in its own key handler, without stopping the key, by
    closing and opening its successor (the worklist's outcome picker asks again so)."""

    def __init__(self, acted: list[str]) -> None:
        super().__init__()
        self.acted = acted

    def compose(self) -> ComposeResult:
        with Vertical():
            yield OptionList("one", "two")

    def on_key(self, event: events.Key) -> None:
        if event.character == "3":
            self.acted.append("3")
            self.dismiss()
            self.app.push_screen(Reopens(self.acted))


async def test_a_key_a_dialog_acted_on_is_not_typed_ahead_of_the_next_one(
    tmp_path: Path,
) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        acted: list[str] = []
        app.push_screen(Reopens(acted))
        await wait_for(pilot, lambda: isinstance(app.screen, Reopens), what="the dialog")
        await pilot.pause(0.2)
        await pilot.press("3")
        await wait_for(pilot, lambda: bool(acted), what="the dialog to act")
        await pilot.pause(0.5)
        assert acted == ["3"]  # once: the next dialog did not take it again (in a loop)


async def test_keys_that_arrive_while_earlier_ones_are_on_their_way_keep_their_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The terminal's next read comes in just as ``c`` has opened the picker, while the
    first read's letters are still going up from the call queue: they used to overtake
    them (the demo's "c", "nurse" and Enter once consulted nobody)."""
    async with maria_on_the_line(tmp_path, monkeypatch) as (app, pilot, screen, sent):
        slow_call_queue(screen, monkeypatch)
        push = app.push_screen

        def and_the_next_read(*args: Any, **kwargs: Any) -> Any:
            pushed = push(*args, **kwargs)
            press_together(app, *"rse")
            return pushed

        monkeypatch.setattr(app, "push_screen", and_the_next_read)
        press_together(app, "c", *"nu")
        await wait_for(pilot, lambda: isinstance(app.screen, TargetPicker), what="the picker")
        field = app.screen.query_one(Input)
        await wait_for(pilot, lambda: len(field.value) >= 5, what="the typed name")
        await pilot.pause(0.3)
        assert field.value == "nurse"
        assert sent == []


async def the_wrap_up_on_top(app: Any) -> None:
    """Wait (up to 5 s) for the wrap-up to be on top, from inside one of the app's tasks,
    where the pilot cannot wait (it waits for them)."""
    for _ in range(500):
        if isinstance(app.screen, WrapUpDialog):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the wrap-up never opened")


def hold_keys_until_the_wrap_up(
    app: Any, screen: Any, monkeypatch: pytest.MonkeyPatch, *passed: str
) -> None:
    """The call queue holds each key (but ``passed``) until the wrap-up is up: typed for the
    agent's screen, they come back up to the App over the wrap-up."""
    queue = screen.query_one("#queue")
    handle = queue.on_event

    async def after_the_wrap_up_opens(message: events.Event) -> None:
        if isinstance(message, events.Key) and message.key not in passed:
            await the_wrap_up_on_top(app)
        await handle(message)

    monkeypatch.setattr(queue, "on_event", after_the_wrap_up_opens)


def the_caller_hangs_up(screen: Any) -> None:
    screen.post_message(
        PhoneEvent(event("call.ended", "c1", reason="completed", ended_by="caller"))
    )


async def no_disposition_chosen_yet(app: Any, pilot: Any) -> None:
    """The wrap-up is up with no disposition and nothing over it; ``r`` typed on it is its."""
    await wait_for(pilot, lambda: isinstance(app.screen, WrapUpDialog), what="the wrap-up")
    wrap_up = next(s for s in app.screen_stack if isinstance(s, WrapUpDialog))
    await pilot.pause(0.5)
    assert app.screen is wrap_up  # and no State picker over it
    assert wrap_up.disposition is None
    await pilot.press("r")
    await wait_for(pilot, lambda: wrap_up.disposition == "resolved", what="resolved")


async def test_a_key_typed_for_the_screen_below_is_not_taken_by_a_dialog_that_opened_by_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``r`` (State) pressed as the caller hangs up: the key is still on its way up from
    the call queue when the wrap-up opens. It was typed for the agent's screen, not for the
    wrap-up, where ``r`` chose "resolved" for the agent."""
    async with maria_on_the_line(tmp_path, monkeypatch) as (app, pilot, screen, _sent):
        hold_keys_until_the_wrap_up(app, screen, monkeypatch)
        press_together(app, "r")
        the_caller_hangs_up(screen)
        await no_disposition_chosen_yet(app, pilot)


async def test_a_dialog_pushed_while_a_key_waits_in_its_action_is_not_that_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``b`` (the callbacks, read from the store) and ``r`` typed together as the caller
    hangs up: the wrap-up opens (on the agent's screen's phone event) while ``b``'s action
    waits. It is not ``b``'s dialog, and ``r`` was not typed for it."""
    async with maria_on_the_line(tmp_path, monkeypatch) as (app, pilot, screen, _sent):
        hold_keys_until_the_wrap_up(app, screen, monkeypatch, "b")

        async def callbacks_while_the_caller_hangs_up() -> None:
            the_caller_hangs_up(screen)
            await the_wrap_up_on_top(app)

        monkeypatch.setattr(screen, "action_callbacks", callbacks_while_the_caller_hangs_up)
        press_together(app, "b", "r")
        await no_disposition_chosen_yet(app, pilot)
