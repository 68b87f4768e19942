# SPDX-License-Identifier: GPL-2.0-or-later
"""Inbound first: a caller who rings while the worklist preview is offered (or prepared)
takes its place, and the agent's screen is never closed with it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot

from console.app import CarelineApp
from console.dialogs.worklist import WorklistPreview
from console.screens.agent import AgentScreen
from tests.console_app import shows_toast, sip_port, wait_for
from tests.support import Sipp
from tests.worklist_console import item, seed, start_worklist


async def test_a_ringing_inbound_call_takes_the_previews_place(
    worklist_console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    app, pilot = worklist_console
    await seed(app)
    await start_worklist(app, pilot)
    caller = Sipp(tmp_path, "uac_ring.xml", sip_port(app))
    await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()), what="ringing")
    await wait_for(pilot, lambda: not isinstance(app.screen, WorklistPreview), what="yielded")
    await wait_for(pilot, lambda: app.agent_screen.worklist.attempt is None, what="released")
    await pilot.pause(0.3)
    assert (await item(app))[:2] == ("pending", 0)
    await pilot.press("a")
    await wait_for(pilot, lambda: app.agent_screen.queue.active() is not None, what="answered")
    assert not isinstance(app.screen, WorklistPreview)  # not offered while a call is up
    await pilot.press("h")
    caller.wait()


async def ring_over_the_preview(
    app: CarelineApp, pilot: Pilot[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Callable[[], None], Sipp]:
    """The first preview shows, then a caller rings with the worklist's refresh held back
    (the caller and the real refresh, for the test to call when it chooses)."""
    await seed(app)
    await start_worklist(app, pilot)
    flow = app.agent_screen.worklist
    refresh = flow.refresh
    monkeypatch.setattr(flow, "refresh", lambda: None)
    caller = Sipp(tmp_path, "uac_ring.xml", sip_port(app))
    await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()), what="ringing")
    assert isinstance(app.screen, WorklistPreview)
    return refresh, caller


async def only_the_preview_closed(app: CarelineApp, pilot: Pilot[int], caller: Sipp) -> None:
    """The agent's screen is on top, the item back on the list; the caller declined."""
    await pilot.pause(0.3)
    assert isinstance(app.screen, AgentScreen)
    assert (await item(app))[:2] == ("pending", 0)
    await pilot.press("d")
    caller.wait()


async def test_call_events_that_come_together_close_the_preview_once(
    worklist_console: tuple[CarelineApp, Pilot[int]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ringing call brings several events before the preview's closing is handled; each
    asks the worklist to yield. Only the preview may close: closing it again closed the
    agent's screen, and a blank terminal was left (CI saw it end-to-end in the demo)."""
    app, pilot = worklist_console
    refresh, caller = await ring_over_the_preview(app, pilot, tmp_path, monkeypatch)
    refresh()  # the call rang …
    refresh()  # … and its next event, before the first closing's callback ran
    flow = app.agent_screen.worklist
    await wait_for(pilot, lambda: flow.attempt is None, what="released")
    await only_the_preview_closed(app, pilot, caller)


async def test_a_preview_answered_as_the_call_rings_is_not_closed_again(
    worklist_console: tuple[CarelineApp, Pilot[int]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The agent presses Esc on the preview just as a caller rings: the preview has closed
    itself, and the call's refresh must not close what is under it."""
    app, pilot = worklist_console
    refresh, caller = await ring_over_the_preview(app, pilot, tmp_path, monkeypatch)
    app.screen.dismiss("leave")  # the agent's Esc, its callback not yet run …
    refresh()  # … when the call's event asks the worklist to yield
    flow = app.agent_screen.worklist
    await wait_for(pilot, lambda: not flow.working, what="left")
    await only_the_preview_closed(app, pilot, caller)


async def test_a_preview_under_the_command_palette_cannot_dial_over_a_ringing_call(
    worklist_console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    """The agent opened the command palette over the preview when a caller rang: the
    palette stays, and Enter on the preview afterwards yields instead of dialling."""
    app, pilot = worklist_console
    await seed(app)
    await start_worklist(app, pilot)
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
    caller = Sipp(tmp_path, "uac_ring.xml", sip_port(app))
    await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()), what="ringing")
    await pilot.pause(0.3)
    assert isinstance(app.screen, CommandPalette)  # not closed under the agent's hands
    await pilot.press("escape")
    await wait_for(pilot, lambda: isinstance(app.screen, WorklistPreview), what="preview")
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.agent_screen.worklist.attempt is None, what="released")
    assert shows_toast(app, "Not dialled: a call is ringing")
    assert app.agent_screen.queue.ringing()  # the caller still rings, first
    await only_the_preview_closed(app, pilot, caller)  # not dialled: no attempt counted


async def test_a_call_ringing_while_the_offer_is_prepared_holds_it_back(
    worklist_console: tuple[CarelineApp, Pilot[int]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The item is claimed, then a caller rings while its rule and name are read: the
    preview must not open over the ringing call (CI once saw that race end-to-end)."""
    app, pilot = worklist_console
    await seed(app)
    flow = app.agent_screen.worklist
    gate = asyncio.Event()
    load_rules = flow.reader.rules

    async def slow_rules() -> Any:
        await gate.wait()  # the call rings between the claim and the preview
        return await load_rules()

    monkeypatch.setattr(flow.reader, "rules", slow_rules)
    await pilot.press("W")
    await wait_for(pilot, lambda: flow.attempt is None and flow._busy, what="claiming")
    caller = Sipp(tmp_path, "uac_ring.xml", sip_port(app))
    await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()), what="ringing")
    gate.set()
    await wait_for(pilot, lambda: not flow._busy, what="offer settled")
    await pilot.pause(0.3)
    assert not isinstance(app.screen, WorklistPreview)
    assert flow.attempt is None
    assert (await item(app))[:2] == ("pending", 0)  # back on the list, no attempt counted
    await pilot.press("d")
    caller.wait()
