# SPDX-License-Identifier: GPL-2.0-or-later
"""How soon the screen pop greets: the greeting does not wait for its audit row to reach
the disk (the row is still written), and neither an idle console nor an E.164 caller's
card loads the phone-number library (issue 17: INVITE → greeting). Real console, real
engine, SIPp."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import console.controllers.patients as patients_controller
from console.core.calls import LiveCall
from console.core.demo import demo_care, demo_patients
from console.core.desk import CallWork, ForCall
from console.core.patients.context import greeting_hints
from console.core.store import Store
from console.screens.agent import AgentScreen
from console.widgets.patient_card import PatientCard
from tests.console_app import make_app, screen_text, sip_port, wait_for
from tests.support import Sipp
from tests.test_console_patients import FAMILY_PHONE, patient, seed


async def _searches(store: Store) -> int:
    rows = await store.fetch_all("SELECT count(*) FROM audit WHERE action = 'search'")
    return int(rows[0][0])


def slow_directory(app: Any, seconds: float) -> None:
    """Make the console's directory take ``seconds`` longer to answer a lookup."""
    directory = app.services.directory
    find = directory.find_by_phone

    async def slow(number: str) -> Any:
        await asyncio.sleep(seconds)
        return await find(number)

    directory.find_by_phone = slow


async def test_greeting_is_painted_while_its_audit_row_is_written(tmp_path: Path) -> None:
    await seed(tmp_path / "store.sqlite3", [patient("MRN-7", "Maria", "Lopez", "1961-03-09")])
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        log = app.services.audit.log
        append = log.append
        release = asyncio.Event()

        async def slow_disk(*args: Any, **kwargs: Any) -> Any:
            # A disk slow to take the row (the call's own records queue before it).
            await release.wait()
            return await append(*args, **kwargs)

        log.append = slow_disk  # type: ignore[method-assign]
        # The lookup ends after the ringing row's own repaints: only the screen pop
        # itself can show the greeting.
        slow_directory(app, 0.5)
        sipp = Sipp(tmp_path, "uac_ring.xml", sip_port(app), callers=[("M", FAMILY_PHONE)])
        await wait_for(pilot, lambda: "Greet: Maria" in screen_text(app), what="greeting")
        assert await _searches(app.services.store) == 0  # painted before the row was on disk
        release.set()
        for _ in range(100):  # the row is written once the disk takes it
            if await _searches(app.services.store) == 1:
                break
            await pilot.pause(0.05)
        assert await _searches(app.services.store) == 1
        await pilot.press("d")
        assert sipp.wait() == 0, sipp.report()


CONSOLE_SCRIPT = """
import asyncio, sys
from pathlib import Path
from tests.console_app import make_app, screen_text, sip_port, wait_for
from tests.support import Sipp
from tests.test_console_patients import FAMILY_PHONE
from tests.test_screen_pop_paint import slow_directory

async def main() -> None:
    tmp = Path(sys.argv[1])
    app = make_app(tmp)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
{body}
asyncio.run(main())
"""
"""A fresh interpreter's console, online, then ``body`` (indented to run in its pilot)."""

LIBRARY_CHECK = """
        await pilot.pause(1.5)  # its first timers and after-refresh work have run
        print("idle:", "phonenumbers" in sys.modules)
        directory = app.services.directory
        find = directory.find_by_phone
        loaded_at_greeting = []

        async def watched(number):
            found = await find(number)
            loaded_at_greeting.append("phonenumbers" in sys.modules)
            return found

        directory.find_by_phone = watched
        sipp = Sipp(tmp, "uac_ring.xml", sip_port(app), callers=[("M", FAMILY_PHONE)])
        await wait_for(pilot, lambda: "Greet: Maria" in screen_text(app), what="greeting")
        print("greeting:", loaded_at_greeting[0])
        await wait_for(
            pilot, lambda: "phonenumbers.data.region_US" in sys.modules, 10, "the library"
        )
        print("after:", True)
        await pilot.press("d")
        assert sipp.wait() == 0, sipp.report()
"""

GONE_CHECK = """
        slow_directory(app, 2.0)  # the caller gives up after 1 s, before the answer
        sipp = Sipp(tmp, "uac_cancel.xml", sip_port(app), callers=[("M", FAMILY_PHONE)])
        await asyncio.to_thread(sipp.wait)
        await wait_for(pilot, lambda: not app.screen.desk.queue.calls(), 10, "the call gone")
        await wait_for(
            pilot, lambda: "phonenumbers.data.region_US" in sys.modules, 10, "the library"
        )
        print("greeted:", "Greet: Maria" in screen_text(app))
"""


def _console_script(body: str, tmp_path: Path) -> list[str]:
    """The lines ``body`` printed, run on a console over a store with Maria Lopez
    (:data:`CONSOLE_SCRIPT`)."""
    # Seeded here: a patient import normalises its numbers, so it loads the library.
    maria = patient("MRN-7", "Maria", "Lopez", "1961-03-09")
    asyncio.run(seed(tmp_path / "store.sqlite3", [maria]))
    done = subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT.format(body=body), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


def test_the_phone_number_library_loads_after_the_first_callers_card(tmp_path: Path) -> None:
    """An idle console has not loaded the phone-number library (about 0.6 MiB of an idle
    console, bench.idle_memory), and a caller whose number comes in E.164, as many PBXs send it,
    is greeted without it: the number is looked up as written. Once the first card is up
    the library and the region's metadata load in a thread, so that a later caller's number
    in another shape is not held up by it (about 25 ms)."""
    lines = _console_script(LIBRARY_CHECK, tmp_path)
    assert lines[-3:] == ["idle: False", "greeting: False", "after: True"]


def test_the_library_loads_after_a_first_caller_gone_before_their_card(tmp_path: Path) -> None:
    """The first caller gives up while the directory is still looking: no card, and the
    library still loads once that lookup is over."""
    assert _console_script(GONE_CHECK, tmp_path)[-1:] == ["greeted: False"]


async def test_greeting_does_not_wait_for_the_hints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The greeting needs only the first name: it is on screen while the reason hints
    (two more store reads) are still being read, and the hints follow."""
    await seed(tmp_path / "store.sqlite3", [*demo_patients(), *demo_care(datetime.now(UTC).date())])
    release = asyncio.Event()

    async def slow_hints(*args: Any) -> tuple[str, ...]:
        await release.wait()
        return await greeting_hints(*args)

    monkeypatch.setattr(patients_controller, "greeting_hints", slow_hints)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = Sipp(tmp_path, "uac_ring.xml", sip_port(app), callers=[("M", "+12025550142")])
        await wait_for(pilot, lambda: "Greet: Maria" in screen_text(app), what="greeting")
        assert "Likely about" not in screen_text(app)
        release.set()
        await wait_for(
            pilot,
            lambda: "Likely about: upcoming appointment" in screen_text(app),
            what="hints",
        )
        await pilot.press("d")
        assert sipp.wait() == 0, sipp.report()


def _card_when_the_ringing_row_is_drawn(app: Any) -> list[object]:
    """What the patient card holds each time the call panes are redrawn with a call
    ringing: the first entry is the frame that first shows the ringing row."""
    screen = app.screen
    card = screen.query_one(PatientCard)
    repaint = screen.effects.repaint
    seen: list[object] = []

    def watching() -> None:
        if screen.queue.ringing():
            seen.append(card.matches)
        repaint()

    screen.effects.repaint = watching
    return seen


async def test_the_greeting_is_drawn_with_the_ringing_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ringing row waits for the directory (a few milliseconds; up to
    GREETING_WAIT_S), so the caller's name is on the card in the row's own frame, not a
    frame or two after it (issue 17: INVITE → greeting)."""
    monkeypatch.setattr(patients_controller, "GREETING_WAIT_S", 30.0)  # a loaded CI machine
    await seed(tmp_path / "store.sqlite3", [patient("MRN-7", "Maria", "Lopez", "1961-03-09")])
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        seen = _card_when_the_ringing_row_is_drawn(app)
        sipp = Sipp(tmp_path, "uac_ring.xml", sip_port(app), callers=[("M", FAMILY_PHONE)])
        await wait_for(pilot, lambda: "Greet: Maria" in screen_text(app), what="greeting")
        first = seen[0]
        assert isinstance(first, tuple)
        assert [match.given_names for match in first] == ["Maria"]
        await pilot.press("d")
        assert sipp.wait() == 0, sipp.report()


async def test_a_slow_directory_does_not_hold_the_ringing_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past GREETING_WAIT_S the row is drawn without the card, which follows."""
    monkeypatch.setattr(patients_controller, "GREETING_WAIT_S", 0.05)
    await seed(tmp_path / "store.sqlite3", [patient("MRN-7", "Maria", "Lopez", "1961-03-09")])
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        slow_directory(app, 2)
        seen = _card_when_the_ringing_row_is_drawn(app)
        sipp = Sipp(tmp_path, "uac_ring.xml", sip_port(app), callers=[("M", FAMILY_PHONE)])
        await wait_for(pilot, lambda: "ringing" in screen_text(app), what="the ringing row")
        assert seen[0] is None
        assert "Greet: Maria" not in screen_text(app)
        await wait_for(pilot, lambda: "Greet: Maria" in screen_text(app), what="greeting")
        await pilot.press("d")
        assert sipp.wait() == 0, sipp.report()


async def test_calls_the_engine_comes_back_with_share_one_wait_for_their_cards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An engine that comes back (Hello) with several calls has each looked up before the
    repaint: on a slow directory their rows wait GREETING_WAIT_S once, not once a call."""
    monkeypatch.setattr(patients_controller, "GREETING_WAIT_S", 0.3)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        slow_directory(app, 5)
        screen = app.screen
        assert isinstance(screen, AgentScreen)
        now = datetime.now(UTC)
        calls = [
            LiveCall(f"c{n}", "", f"+1202555014{n}", "sip:desk@127.0.0.1", "ringing", now)
            for n in range(4)
        ]
        for call in calls:
            screen.queue.add(call)
        started = time.monotonic()
        await screen.effects.run([ForCall(CallWork.LOOK_UP_PATIENT, call) for call in calls])
        assert time.monotonic() - started < 0.9  # one wait of 0.3 s, not four (1.2 s)
