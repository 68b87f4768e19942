# SPDX-License-Identifier: GPL-2.0-or-later
"""The agent workspace driven by keys: the real console, the real engine, SIPp peers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.app import CarelineApp
from console.dialogs.availability import AvailabilityPicker
from console.dialogs.help import HelpScreen
from console.dialogs.target_picker import TargetPicker
from console.messages import PhoneEvent
from console.widgets.active_call import ActiveCallPanel
from console.widgets.history import CallHistory
from console.widgets.status_bar import StatusBar
from tests.baresip import Baresip
from tests.console_app import make_app, screen_text, sip_port, talking, wait_for
from tests.engine_events import call, incoming
from tests.support import Sipp

DIRECTORY = """
directory:
  - name: Nurse line
    number: sip:nurse@127.0.0.1:5999
    description: Clinical questions
    hours: 24/7
  - name: Emergency desk
    number: sip:911@127.0.0.1:5998
    type: emergency
  - name: "[b]Billing[/b]"
    number: "4200"
keymap:
  call.mute: f6
"""


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[CarelineApp, Pilot[int]]]:
    """The console with a directory and one remapped key, online."""
    app = make_app(tmp_path, DIRECTORY)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        yield app, pilot


async def answered_call(app: CarelineApp, pilot: Pilot[int], tmp_path: Path, scenario: str) -> Sipp:
    sipp = Sipp(tmp_path, scenario, sip_port(app))
    await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()), what="ringing")
    await pilot.press("a")
    await wait_for(pilot, lambda: talking(app), what="answered")
    return sipp


def panel(app: CarelineApp) -> str:
    return str(app.agent_screen.query_one(ActiveCallPanel).render())


async def test_hold_and_resume_with_one_key(
    console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    app, pilot = console
    sipp = await answered_call(app, pilot, tmp_path, "uac_held_by_agent.xml")
    assert "o Hold" in screen_text(app)  # the footer offers it now
    # SIPp offers PCMA, PCMU: the answer takes our preference...
    await wait_for(pilot, lambda: "· PCMU 8 kHz" in panel(app), what="the codec shown")
    await pilot.press("o")
    await wait_for(pilot, lambda: "on hold" in panel(app), what="held")
    # ...and its answer to our hold re-INVITE picks PCMA: the panel follows.
    await wait_for(pilot, lambda: "· PCMA 8 kHz" in panel(app), what="the renegotiated codec")
    assert "on hold" in screen_text(app)
    await pilot.pause(0.5)
    await pilot.press("o")
    await wait_for(pilot, lambda: "talking" in panel(app), what="resumed")
    history = app.agent_screen.query_one(CallHistory)
    await wait_for(pilot, lambda: history.row_count == 1, what="caller hung up")
    assert sipp.wait() == 0, sipp.report()


async def test_remapped_mute_key_and_dtmf_pad(
    console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    app, pilot = console
    sipp = await answered_call(app, pilot, tmp_path, "uac_agent_hangs_up.xml")
    await pilot.press("m")  # remapped away: does nothing
    await pilot.pause(0.3)
    assert "MUTED" not in panel(app)
    await pilot.press("f6")
    await wait_for(pilot, lambda: "MUTED" in panel(app), what="muted")
    await pilot.press("number_sign")
    await pilot.press("1", "2", "asterisk")
    await pilot.press("escape")
    await wait_for(pilot, lambda: "DTMF sent: 12*" in panel(app), what="digits shown")
    await pilot.press("h")
    await wait_for(pilot, lambda: app.agent_screen.query_one(CallHistory).row_count == 1)
    assert sipp.wait() == 0, sipp.report()


async def test_blind_transfer_from_the_directory_picker(
    console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    app, pilot = console
    sipp = await answered_call(app, pilot, tmp_path, "uac_transferee_ok.xml")
    await pilot.press("t")
    await wait_for(pilot, lambda: isinstance(app.screen, TargetPicker), what="picker")
    text = screen_text(app)
    assert text.index("EMERGENCY") < text.index("Nurse line")  # emergency targets first
    assert "[b]Billing[/b]" in text  # config text is shown literally
    await pilot.press(*"nurse")
    await pilot.press("enter")
    history = app.agent_screen.query_one(CallHistory)
    await wait_for(pilot, lambda: history.row_count == 1, 15, "transferred")
    assert "transferred" in screen_text(app)
    assert sipp.wait() == 0, sipp.report()


async def test_consult_then_complete_with_a_typed_target(
    console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    app, pilot = console
    sipp = await answered_call(app, pilot, tmp_path, "uac_transferee_attended.xml")
    target = Sipp(tmp_path, "uas_target_answers.xml")
    target.wait_listening()
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, TargetPicker), what="picker")
    await pilot.press(*f"sip:target@127.0.0.1:{target.port}")
    await pilot.press("enter")
    screen = app.agent_screen

    def consult_answered() -> bool:
        pair = screen.queue.consult_pair()
        return pair is not None and pair[1].state == "active"

    await wait_for(pilot, consult_answered, what="consult answered")
    text = screen_text(app)
    assert "on hold" in text
    assert "consult" in text
    assert "f Complete" in text
    assert "x Cancel consult" in text
    await pilot.press("f")
    history = screen.query_one(CallHistory)
    await wait_for(pilot, lambda: history.row_count == 2, 15, "both legs ended")
    assert sipp.wait() == 0, sipp.report()
    assert target.wait() == 0, target.report()


async def test_agent_state_picker_and_why_no_calls(
    console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    app, pilot = console
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(app.screen, AvailabilityPicker), what="picker")
    await pilot.press("down", "down")  # Ready, Not ready — Break, Not ready — Lunch
    await pilot.press("enter")
    status = app.agent_screen.query_one(StatusBar)
    await wait_for(pilot, lambda: status.state.availability == "not_ready", what="not ready")
    assert "Not ready: Lunch" in screen_text(app)
    sipp = Sipp(tmp_path, "uac_queue_call.xml", sip_port(app))
    assert sipp.wait() == 0, sipp.report()  # turned away with 480
    await pilot.press("w")
    await wait_for(
        pilot, lambda: "Why am I (not) getting calls?" in screen_text(app), what="explanation"
    )
    words = " ".join(screen_text(app).split())  # the toast wraps its sentence
    assert "Not ready since" in words
    assert "turned away" in words


async def test_help_screen_and_command_palette(
    console: tuple[CarelineApp, Pilot[int]],
) -> None:
    app, pilot = console
    await pilot.press("question_mark")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, HelpScreen) and "call.answer" in screen_text(app),
        what="help",
    )
    text = screen_text(app)
    for binding_id in ("call.answer", "call.hold", "call.consult", "call.swap", "agent.why"):
        assert binding_id in text
    assert "f6" in text  # the remapped key is what help shows
    await pilot.press("escape")
    await pilot.press("ctrl+p")
    await pilot.pause(0.3)
    await pilot.press(*"why no")
    await pilot.pause(0.5)
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: "Why am I (not) getting calls?" in screen_text(app),
        what="the palette ran the action",
    )


@pytest.mark.parametrize("theme", ["high-contrast", "monochrome"])
async def test_themes_from_config(tmp_path: Path, theme: str) -> None:
    app = make_app(tmp_path, f"ui:\n  theme: {theme}\n")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        assert app.theme == theme


async def test_small_terminal_keeps_the_calls_usable(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = Sipp(
            tmp_path,
            "uac_agent_hangs_up.xml",
            sip_port(app),
            callers=[("Maria Lopez", "+12025550142")],
        )
        await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()))
        text = screen_text(app)
        assert app.agent_screen.has_class("-compact")
        assert "Maria Lopez" in text
        assert "ringing" in text
        assert "a Answer" in text
        assert all(len(line) <= 80 for line in text.splitlines())
        await pilot.press("a")
        await wait_for(pilot, lambda: talking(app))
        await pilot.press("h")
        assert sipp.wait() == 0, sipp.report()


async def test_ringing_toast_shows_hostile_caller_text_literally(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        hostile = call("fake-1", "[bold red]Dr Evil[/] \x1b[2J\u202e", "+1555")
        app.agent_screen.post_message(PhoneEvent(incoming(hostile)))
        await wait_for(pilot, lambda: "Incoming call" in screen_text(app), what="toast")
        text = screen_text(app)
        assert "Ringing: [bold red]Dr Evil[/]" in text
        assert "\x1b" not in text
        assert "\u202e" not in text


async def test_swap_cancel_consult_dial_and_next_call_keys(
    console: tuple[CarelineApp, Pilot[int]], tmp_path: Path
) -> None:
    app, pilot = console
    screen = app.agent_screen
    history = screen.query_one(CallHistory)
    with (
        Baresip(tmp_path, user="patient") as patient,
        Baresip(tmp_path, user="nurse", auto_answer=True) as nurse,
    ):
        patient.dial(f"sip:queue@127.0.0.1:{sip_port(app)}")
        await wait_for(pilot, lambda: bool(screen.queue.ringing()), what="ringing")
        await pilot.press("a")
        await wait_for(pilot, lambda: talking(app), what="answered")
        caller_id = screen.queue.calls()[0].id
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, TargetPicker), what="picker")
        await pilot.press(*nurse.uri)
        await pilot.press("enter")

        def consult_up() -> bool:
            pair = screen.queue.consult_pair()
            return pair is not None and pair[1].state == "active"

        def caller_held() -> bool:
            caller = screen.queue.get(caller_id)
            return caller is not None and caller.local_hold

        await wait_for(pilot, consult_up, what="consult answered")
        assert caller_held()
        await pilot.pause(0.5)
        await pilot.press("s")  # back to the patient; the nurse waits
        await wait_for(pilot, lambda: not caller_held(), what="swapped to the patient")
        await pilot.pause(0.5)
        await pilot.press("s")  # and to the nurse again
        await wait_for(pilot, caller_held, what="swapped to the nurse")
        await pilot.pause(0.5)
        await pilot.press("x")  # the nurse is not needed after all
        await wait_for(pilot, lambda: screen.queue.consult_pair() is None, what="consult ended")
        nurse.wait_event("CALL_CLOSED")
        await wait_for(pilot, lambda: not caller_held(), what="patient back")
        await pilot.press("h")
        await wait_for(pilot, lambda: history.row_count == 2, 15, "both calls in history")
        patient.wait_event("CALL_CLOSED")

        await pilot.press("p")  # dial the nurse directly
        await wait_for(pilot, lambda: isinstance(app.screen, TargetPicker), what="picker")
        await pilot.press(*nurse.uri)
        await pilot.press("enter")
        await wait_for(pilot, lambda: talking(app), what="dialled call answered")
        await pilot.press("tab")  # one call: the selection stays on it
        await pilot.press("h")
        await wait_for(pilot, lambda: history.row_count == 3, 15, "dialled call ended")
