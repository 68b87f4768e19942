"""A dropped SSH session never drops the call: the terminal's hangup ends the
console, the engine (in its own session) keeps the call, and `careline attach`
brings the screen back to it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.support import ROOT, Sipp, free_udp_port
from tests.test_demo_tmux import processes_mentioning
from tests.tmux import TmuxSession, console_pid


def stored_notes(store: Path) -> list[tuple[str]]:
    """The notes of every call in the console's store."""
    with sqlite3.connect(store) as db:
        return [(str(row[0]),) for row in db.execute("SELECT notes FROM calls")]


def test_terminal_hangup_mid_call_keeps_the_call_and_attach_restores_it(
    tmp_path: Path, isolated_home: Path
) -> None:
    port = free_udp_port()
    config = tmp_path / "console.yaml"
    config.write_text("wrap_up:\n  mode: optional\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k.startswith(("XDG_", "HOME", "PATH"))}
    env.update(
        TERM="xterm-256color", CARELINE_SIP__LISTEN=f"127.0.0.1:{port}", CARELINE_UI__BELL="false"
    )
    careline = [sys.executable, "-m", "console", "--config", str(config)]
    first = TmuxSession([*careline, "run"], env)
    second: TmuxSession | None = None
    sipp: Sipp | None = None
    try:
        first.wait_for("phone online", 30)
        sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", port)
        first.wait_for("ringing", 15)
        first.keys("a")
        first.wait_for("talking", 10)
        first.keys("n")
        time.sleep(0.3)  # the focus moves on the next frame; tmux would deliver all at once
        first.keys("-l", "caller asked about a refill")
        first.wait_for("caller asked about a refill", 10)
        store = isolated_home / "xdg_data_home" / "careline" / "careline.sqlite3"
        deadline = time.monotonic() + 10  # typed, not saved by hand: saved once typing stops
        while stored_notes(store) != [("caller asked about a refill",)]:
            assert time.monotonic() < deadline, (stored_notes(store), first.screen())
            time.sleep(0.2)
        console = console_pid(str(config))
        first.kill()  # the terminal goes away: SIGHUP to the console, as when SSH drops
        deadline = time.monotonic() + 10
        while Path(f"/proc/{console}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{console}").exists()
        assert stored_notes(store) == [("caller asked about a refill",)]  # still there
        engines = [p for p in processes_mentioning(str(isolated_home)) if " engine " in p]
        assert len(engines) == 1, engines  # the engine, with its call, is still there
        assert sipp.proc.poll() is None  # and the caller is still connected

        second = TmuxSession([*careline, "attach"], env)
        screen = second.wait_for("talking 0:", 30)  # the call and its running timer
        screen = second.wait_for("caller asked about a refill", 10)  # and its notes
        assert "Test Patient" in screen or "+1" in screen
        second.keys("h")
        assert sipp.wait() == 0, sipp.report()
        second.wait_for("Esc", 15)  # the wrap-up of the call taken before the drop
    finally:
        first.kill()
        if second is not None:
            second.kill()
        if sipp is not None:
            sipp.stop()
        for line in processes_mentioning(str(isolated_home)):
            os.kill(int(line.split(":", 1)[0]), signal.SIGTERM)


def test_attach_without_an_engine_says_so() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "console", "attach"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "TERM": "dumb"},
    )
    assert result.returncode == 1
    assert "no phone engine is running" in result.stderr
