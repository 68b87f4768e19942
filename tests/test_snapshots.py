# SPDX-License-Identifier: GPL-2.0-or-later
"""Snapshots of the main screen's states, at 80×24 and 160×48.

The console runs without an engine (start_phone=False) at a frozen time;
the engine's facts are fed in as the protocol events it would send. This is
the layer above the engine, so a fake is fine here; the same screens are
driven against the real engine in test_console_workspace.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import CarelineApp
from console.core.demo import demo_care, demo_patients
from console.core.patients.directory import PatientDirectory
from console.core.phone import PhoneStatus
from console.core.store import Store
from console.messages import PhoneEvent, PhoneStatusChanged
from console.widgets.patient_card import PatientCard
from tests.console_app import screen_text
from tests.engine_events import NOW, STATES, hello, make

pytestmark = pytest.mark.usefixtures("utc_local_time")


def feed(state: str) -> Callable[[Pilot[int]], Any]:
    """A run_before hook that puts the console in ``state``."""

    async def run_before(pilot: Pilot[int]) -> None:
        app = pilot.app
        assert isinstance(app, CarelineApp)
        screen = app.agent_screen
        screen.post_message(PhoneStatusChanged(PhoneStatus(True, "online", "127.0.0.1:5070")))
        screen.post_message(PhoneEvent(hello(STATES[state])))
        await pilot.pause(0.3)
        await pilot.wait_for_scheduled_animations()

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("state", list(STATES))
def test_main_screen(snap_compare: Any, tmp_path: Path, state: str, size: tuple[int, int]) -> None:
    assert snap_compare(make(tmp_path), terminal_size=size, run_before=feed(state))


def seed_demo_patients(path: Path) -> None:
    """The demo's invented patients and their context, dated from NOW."""

    async def load() -> None:
        store = await Store.open(path)
        try:
            await PatientDirectory(store, "US").import_records(
                [*demo_patients(), *demo_care(NOW.date())]
            )
        finally:
            await store.close()

    asyncio.run(load())


def patient_card(verified: bool) -> Callable[[Pilot[int]], Any]:
    """Maria rings; optionally the agent verifies her (date of birth + family name)."""
    ringing = feed("ringing")

    async def run_before(pilot: Pilot[int]) -> None:
        await ringing(pilot)
        app = pilot.app
        assert isinstance(app, CarelineApp)
        card = app.agent_screen.query_one(PatientCard)
        while card.matches is None:
            await pilot.pause(0.05)
        if verified:
            await pilot.press("v", *"1961-03-09", "enter", *"lopez", "enter")
            while card.context is None:
                await pilot.pause(0.05)
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("verified", [False, True], ids=["greeting_only", "verified"])
def test_patient_card(
    snap_compare: Any, tmp_path: Path, verified: bool, size: tuple[int, int]
) -> None:
    """Before verification the card shows a first name and hints, nothing else."""
    seed_demo_patients(tmp_path / "store.sqlite3")
    assert snap_compare(make(tmp_path), terminal_size=size, run_before=patient_card(verified))


async def test_nothing_beyond_the_greeting_before_verification(tmp_path: Path) -> None:
    """The whole screen, not just the card: no detail of Maria's leaks anywhere."""
    await asyncio.to_thread(seed_demo_patients, tmp_path / "store.sqlite3")
    app = make(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await patient_card(verified=False)(pilot)
        text = screen_text(app)
        assert "Greet: Maria" in text
        for detail in ("1961", "DEMO-0001", "Diabetes", "Metformin", "Moreau", "Riverside"):
            assert detail not in text
