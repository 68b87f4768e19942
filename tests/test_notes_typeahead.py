# SPDX-License-Identifier: GPL-2.0-or-later
"""Notes typed right after ``n`` are notes, even when the keys arrive together.

Over SSH (or from a fast typist) ``n`` and the first words come in one read. They used
to reach the call keys before the notes box had the focus: "hold on" hung the caller
up and put the call on hold twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import TextArea

from console.app import CarelineApp
from console.screens.agent import AgentScreen
from tests.console_app import press_together, wait_for
from tests.test_lock import make, maria_talking


def spy_commands(screen: AgentScreen, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The engine commands the screen sends from now on (and sends them)."""
    sent: list[str] = []
    send = screen.send_command

    def spy(cmd: str, **args: Any) -> None:
        sent.append(cmd)
        send(cmd, **args)

    monkeypatch.setattr(screen, "send_command", spy)
    return sent


@asynccontextmanager
async def maria_on_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[CarelineApp, Pilot[int], AgentScreen, list[str]]]:
    """A console with Maria Lopez's call up: (app, pilot, agent screen, commands sent)."""
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await maria_talking(app, pilot)
        yield app, pilot, screen, spy_commands(screen, monkeypatch)


def slow_call_queue(screen: AgentScreen, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the call queue take 10 ms per key, as on a loaded machine: keys queue up there
    on their way back up to the App."""
    queue = screen.query_one("#queue")
    handle = queue.on_event

    async def slowly(event: events.Event) -> None:
        if isinstance(event, events.Key):
            await asyncio.sleep(0.01)
        await handle(event)

    monkeypatch.setattr(queue, "on_event", slowly)


async def test_words_typed_with_n_go_into_the_notes_not_to_the_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with maria_on_the_line(tmp_path, monkeypatch) as (app, pilot, screen, sent):
        press_together(app, "n", *"hold on")
        notes = screen.query_one("#notes", TextArea)
        await wait_for(pilot, lambda: notes.text == "hold on", what="the notes")
        await pilot.pause(0.3)
        assert sent == []  # no hang-up, no hold
        await pilot.press(*" then n", "escape")  # n, typed in the box, is a letter
        await wait_for(pilot, lambda: notes.text == "hold on then n", what="more notes")
        await pilot.pause(0.3)
        assert app.focused is not notes
        await pilot.press("n")  # outside the box, n goes back into it
        await wait_for(pilot, lambda: app.focused is notes, what="back in the notes")
        assert notes.text == "hold on then n"


async def test_words_that_arrive_while_earlier_ones_are_on_their_way_keep_their_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The terminal's next read comes in just as ``n`` has focused the box, while the words
    of the first read are still going up from the call queue: they used to overtake them
    ("Asked about refill then hold" became "An holdsked about refill the")."""
    async with maria_on_the_line(tmp_path, monkeypatch) as (app, pilot, screen, sent):
        slow_call_queue(screen, monkeypatch)
        focus_notes = app.send_typed_ahead_to

        def and_the_next_read(target: Any) -> None:
            focus_notes(target)
            press_together(app, *" then hold")

        monkeypatch.setattr(app, "send_typed_ahead_to", and_the_next_read)
        press_together(app, "n", *"Asked about refill")
        notes = screen.query_one("#notes", TextArea)
        await wait_for(pilot, lambda: len(notes.text) >= 28, what="the notes")
        await pilot.pause(0.3)
        assert notes.text == "Asked about refill then hold"
        assert sent == []
