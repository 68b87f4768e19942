# SPDX-License-Identifier: GPL-2.0-or-later
"""The demo supervisor listens in on a demo call, in real terminals (issue 20):
``careline demo`` takes a call, ``careline supervise --demo`` beside it presses 1 on the
demo agent, the agent sees who listens, x leaves, both quit cleanly."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from tests.test_demo_tmux import demo_session, quit_clean
from tests.tmux import TmuxSession


def test_the_demo_supervisor_listens_in_on_a_demo_call_and_leaves(isolated_home: Path) -> None:
    demo = demo_session(interval=1)
    wallboard: TmuxSession | None = None
    try:
        demo.wait_for("phone online", 30)
        demo.wait_for("ringing", 30)
        demo.keys("a")
        demo.wait_for("talking", 10)
        env = {k: v for k, v in os.environ.items() if k.startswith(("XDG_", "HOME", "PATH"))}
        env["TERM"] = "xterm-256color"
        wallboard = TmuxSession([sys.executable, "-m", "console", "supervise", "--demo"], env)
        wallboard.wait_for("Demo Agent", 30)
        time.sleep(0.5)
        wallboard.keys("1")
        wallboard.wait_for("Listening to Demo Agent", 30)
        demo.wait_for("Supervisor on the call:", 10)
        assert "listening" in demo.screen()
        wallboard.keys("x")
        wallboard.wait_for("Left Demo Agent's call", 10)
        deadline = time.monotonic() + 10
        while "Supervisor on the call:" in demo.screen() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "Supervisor on the call:" not in demo.screen()
        wallboard.keys("q")
        wallboard.wait_for("CARELINE-EXIT 0", 20)
        quit_clean(demo, isolated_home)
    finally:
        demo.kill()
        if wallboard is not None:
            wallboard.kill()
