# SPDX-License-Identifier: GPL-2.0-or-later
"""After-call work in the real console: the wrap-up form, its countdown, its
drafts surviving a killed console, and the interaction it writes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

from console.core.store import Store
from console.dialogs.callbacks import CallbacksDialog
from console.dialogs.wrap_up import WrapUpDialog
from tests.console_app import make_app, screen_text, scripted_call, sip_port, wait_for
from tests.support import Sipp
from tests.tmux import TmuxSession
from tests.tmux_console import TerminalConsole, stop_processes_of


async def stored_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    """The rows ``sql`` selects from the store at ``path`` (opened for this alone)."""
    store = await Store.open(path)
    try:
        return [tuple(row) for row in await store.fetch_all(sql)]
    finally:
        await store.close()


async def interactions(path: Path) -> list[tuple[object, ...]]:
    """Each interaction's disposition, script, answers, urgency, outbox and callback counts."""
    return await stored_rows(
        path,
        """SELECT i.disposition, i.script_id, i.answers, i.urgency,
                  (SELECT count(*) FROM outbox o WHERE o.entity_id = i.id),
                  (SELECT count(*) FROM callbacks c WHERE c.interaction_id = i.id)
           FROM interactions i ORDER BY i.created_at""",
    )


async def test_scripted_call_wraps_up_with_a_hot_key_and_a_callback(tmp_path: Path) -> None:
    app = make_app(tmp_path, wrap_up="mandatory")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        sipp, _ = await scripted_call(app, pilot, tmp_path, "uac_agent_hangs_up.xml", "refills")
        await pilot.press("g", "enter", "1")  # greeting, identity verified: yes
        await wait_for(pilot, lambda: "step 3 of" in screen_text(app), what="step 3")
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, WrapUpDialog), what="wrap-up")
        await wait_for(pilot, lambda: app.agent_screen.agent.availability == "wrap_up")
        await pilot.press("escape")  # mandatory: refused
        await pilot.pause(0.2)
        assert "A disposition is required before the next call." in screen_text(app)
        await pilot.press("c")  # callback needed: opens the follow-up with its default due
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Follow-up reason: give a reason" in screen_text(app))
        await pilot.press(*"pharmacy", "ctrl+s")  # focus went to the field with the problem
        await wait_for(pilot, lambda: not isinstance(app.screen, WrapUpDialog), what="saved")
        await wait_for(pilot, lambda: app.agent_screen.agent.availability == "available")
        assert sipp.wait() == 0, sipp.report()
        await pilot.press("b")  # the callbacks list has the new one
        await wait_for(pilot, lambda: isinstance(app.screen, CallbacksDialog), what="callbacks")
        assert "pharmacy" in screen_text(app)
        await pilot.press("x")  # done without calling
        await wait_for(pilot, lambda: "Callback done and recorded." in screen_text(app))
    [row, closed] = await interactions(tmp_path / "store.sqlite3")
    assert closed[0] == "callback_closed"
    events = await stored_rows(
        tmp_path / "store.sqlite3",
        "SELECT json_extract(payload, '$.event'), json_extract(payload, '$.queue') "
        "FROM outbox WHERE kind = 'call_event' ORDER BY seq",
    )
    states = await stored_rows(
        tmp_path / "store.sqlite3",
        "SELECT json_extract(payload, '$.availability'), json_extract(payload, '$.on_call') "
        "FROM outbox WHERE kind = 'agent_state' ORDER BY seq",
    )
    assert events == [
        ("offered", "refills"),
        ("answered", "refills"),
        ("ended", "refills"),
        ("wrapped", "refills"),
    ]
    assert ("wrap_up", 0) in states
    assert states[-1] == ("available", 0)
    disposition, script_id, answers, urgency, outbox, callbacks = row
    assert (disposition, script_id, urgency, outbox, callbacks) == (
        "callback_needed",
        "medication-refill",
        "routine",
        1,
        1,
    )
    logged = json.loads(str(answers))
    assert [a["question"] for a in logged][:2] == ["greeting", "verify_identity"]
    assert all(a["at"].endswith(("Z", "+00:00")) for a in logged)


async def test_timed_wrap_up_runs_out_to_the_default_disposition(tmp_path: Path) -> None:
    app = make_app(tmp_path, "wrap_up:\n  seconds: 5\n", wrap_up="timed")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        sipp = Sipp(tmp_path, "uac_caller_hangs_up.xml", sip_port(app))
        await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()), what="ringing")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, WrapUpDialog), 15, "wrap-up")
        assert "Wrap-up 0:0" in screen_text(app)  # the countdown is on screen
        await wait_for(pilot, lambda: not isinstance(app.screen, WrapUpDialog), 10, "expired")
        assert sipp.wait() == 0, sipp.report()
    [row] = await interactions(tmp_path / "store.sqlite3")
    assert row[0] == "not_recorded"


def test_a_killed_console_reopens_the_wrap_up_draft(tmp_path: Path, isolated_home: Path) -> None:
    """kill -9 mid-wrap-up, start again: the draft is there with its call."""
    console = TerminalConsole.make(tmp_path, "mandatory")
    first = TmuxSession(console.command("run"), console.env)
    second: TmuxSession | None = None
    try:
        first.wait_for("phone online", 30)
        sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", console.port, service="refills")
        first.wait_for("ringing", 15)
        first.keys("a")
        first.wait_for("talking", 10)
        first.keys("h")
        first.wait_for("ctrl+s save", 10)
        first.keys("m")  # refill requested
        time.sleep(0.5)  # the draft is saved on the change, in the background
        assert sipp.wait() == 0, sipp.report()
        os.kill(console.pid(), signal.SIGKILL)
        first.wait_for("CARELINE-EXIT", 10)

        second = TmuxSession(console.command("run"), console.env)
        second.wait_for("ctrl+s save", 30)  # reopened at start
        # The form's hint can be painted a frame before its disposition bar.
        second.wait_for("Refill", 10)
        second.keys("C-s")
        second.wait_for("Ready", 10)
    finally:
        first.kill()
        if second is not None:
            second.kill()
        stop_processes_of(isolated_home)
    with sqlite3.connect(console.store) as db:
        rows = db.execute("SELECT disposition FROM interactions").fetchall()
        drafts = db.execute("SELECT count(*) FROM wrap_up_drafts").fetchone()[0]
    assert (rows, drafts) == ([("refill_requested",)], 0)
