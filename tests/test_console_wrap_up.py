"""After-call work in the real console: the wrap-up form, its countdown, its
drafts surviving a killed console, and the interaction it writes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

from console.core.store import Store
from console.dialogs.callbacks import CallbacksDialog
from console.dialogs.wrap_up import WrapUpDialog
from tests.console_app import make_app, screen_text, scripted_call, sip_port, wait_for
from tests.support import Sipp, free_udp_port
from tests.test_demo_tmux import processes_mentioning
from tests.tmux import TmuxSession, console_pid


async def interactions(path: Path) -> list[tuple[object, ...]]:
    store = await Store.open(path)
    try:
        rows = await store.fetch_all(
            """SELECT i.disposition, i.script_id, i.answers, i.urgency,
                      (SELECT count(*) FROM outbox o WHERE o.entity_id = i.id),
                      (SELECT count(*) FROM callbacks c WHERE c.interaction_id = i.id)
               FROM interactions i ORDER BY i.created_at"""
        )
        return [tuple(row) for row in rows]
    finally:
        await store.close()


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
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        events = await store.fetch_all(
            "SELECT json_extract(payload, '$.event'), json_extract(payload, '$.queue') "
            "FROM outbox WHERE kind = 'call_event' ORDER BY seq"
        )
        states = await store.fetch_all(
            "SELECT json_extract(payload, '$.availability'), json_extract(payload, '$.on_call') "
            "FROM outbox WHERE kind = 'agent_state' ORDER BY seq"
        )
    finally:
        await store.close()
    assert [tuple(e) for e in events] == [
        ("offered", "refills"),
        ("answered", "refills"),
        ("ended", "refills"),
        ("wrapped", "refills"),
    ]
    assert ("wrap_up", 0) in [tuple(s) for s in states]
    assert tuple(states[-1]) == ("available", 0)
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
    port = free_udp_port()
    config = tmp_path / "console.yaml"
    config.write_text("wrap_up:\n  mode: mandatory\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k.startswith(("XDG_", "HOME", "PATH"))}
    env.update(
        TERM="xterm-256color", CARELINE_SIP__LISTEN=f"127.0.0.1:{port}", CARELINE_UI__BELL="false"
    )
    command = [sys.executable, "-m", "console", "--config", str(config), "run"]
    first = TmuxSession(command, env)
    second: TmuxSession | None = None
    try:
        first.wait_for("phone online", 30)
        sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", port, service="refills")
        first.wait_for("ringing", 15)
        first.keys("a")
        first.wait_for("talking", 10)
        first.keys("h")
        first.wait_for("ctrl+s save", 10)
        first.keys("m")  # refill requested
        time.sleep(0.5)  # the draft is saved on the change, in the background
        assert sipp.wait() == 0, sipp.report()
        os.kill(console_pid(str(config)), signal.SIGKILL)
        first.wait_for("CARELINE-EXIT", 10)

        second = TmuxSession(command, env)
        screen = second.wait_for("ctrl+s save", 30)  # reopened at start
        assert "Refill" in screen
        second.keys("C-s")
        second.wait_for("Ready", 10)
    finally:
        first.kill()
        if second is not None:
            second.kill()
        for line in processes_mentioning(str(isolated_home)):
            os.kill(int(line.split(":", 1)[0]), signal.SIGTERM)
    store = isolated_home / "xdg_data_home" / "careline" / "careline.sqlite3"
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT disposition FROM interactions").fetchall()
        drafts = db.execute("SELECT count(*) FROM wrap_up_drafts").fetchone()[0]
    assert (rows, drafts) == ([("refill_requested",)], 0)
