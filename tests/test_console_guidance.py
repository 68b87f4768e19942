# SPDX-License-Identifier: GPL-2.0-or-later
"""The call script in the guidance pane, red flags and the one-key escalation:
the real console, the real engine, SIPp callers."""

from __future__ import annotations

from pathlib import Path

from console.core.store import Store
from console.dialogs.script_picker import ScriptPicker
from console.widgets.guidance import GuidancePane
from console.widgets.history import CallHistory
from console.widgets.red_flag import RedFlagBanner
from tests.console_app import make_app, screen_text, scripted_call, wait_for

CONFIG = """
directory:
  - name: Emergency desk
    number: sip:911@127.0.0.1:5998
    type: emergency
guidance:
  organisation: "[b]Evil[/b] Clinic"
  emergency_number: "112"
"""


async def test_red_flag_banner_and_one_key_emergency_transfer(tmp_path: Path) -> None:
    app = make_app(tmp_path, CONFIG)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        sipp, run = await scripted_call(
            app, pilot, tmp_path, "uac_transferee_ok.xml", "after-hours"
        )
        assert run.script.id == "after-hours-symptom-screening"  # chosen by the queue
        assert "e ESCALATE" not in screen_text(app)
        assert "[b]Evil[/b] Clinic" in screen_text(app)  # config text shown literally
        await pilot.press("g", "enter", "1")
        await wait_for(pilot, lambda: "chest" in screen_text(app).lower(), what="chest question")
        await pilot.press("1")  # yes: chest pain
        banner = app.agent_screen.query_one(RedFlagBanner)
        await wait_for(pilot, lambda: bool(banner.flags), what="red flag")
        text = screen_text(app)
        assert "RED FLAG: Chest pain or pressure — press e to transfer to Emergency desk" in text
        assert "dial 112" in text
        assert "urgency EMERGENCY" in text
        await pilot.press("left")  # going back never lowers the urgency
        await wait_for(pilot, lambda: "urgency EMERGENCY" in screen_text(app), what="urgency")
        await pilot.press("e")
        history = app.agent_screen.query_one(CallHistory)
        await wait_for(pilot, lambda: history.row_count == 1, 15, "transferred")
        assert "transferred" in screen_text(app)
        assert not banner.flags
        assert sipp.wait() == 0, sipp.report()
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        rows = await store.fetch_all("SELECT action, category FROM audit WHERE action = 'escalate'")
        assert [tuple(r) for r in rows] == [("escalate", "red_flag")]
    finally:
        await store.close()


async def test_steps_back_and_switching_scripts(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        sipp, run = await scripted_call(app, pilot, tmp_path, "uac_agent_hangs_up.xml", "refills")
        assert run.script.id == "medication-refill"
        pane = app.agent_screen.query_one(GuidancePane)
        await pilot.press("g", "enter")
        await wait_for(pilot, lambda: "step 2 of" in screen_text(app), what="step 2")
        await pilot.press("left")
        await wait_for(pilot, lambda: "step 1 of" in screen_text(app), what="back to step 1")
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, ScriptPicker), what="picker")
        await pilot.press(*"general")  # type-ahead is not needed: arrows pick
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ScriptPicker), what="closed")
        assert pane.run is not None
        assert pane.run.script.id == "medication-refill"
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, ScriptPicker), what="picker")
        await pilot.press("home", "enter")
        await wait_for(
            pilot,
            lambda: pane.run is not None and pane.run.script.id != "medication-refill",
            what="switched",
        )
        await pilot.press("h")
        await wait_for(pilot, lambda: app.agent_screen.query_one(CallHistory).row_count == 1)
        assert sipp.wait() == 0, sipp.report()
