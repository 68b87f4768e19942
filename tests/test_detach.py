# SPDX-License-Identifier: GPL-2.0-or-later
"""A dropped SSH session never drops the call: the terminal's hangup ends the
console, the engine (in its own session) keeps the call, and `careline attach`
brings the screen back to it."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.audio_tone import dominant_frequency, read_wav_mono16, rms
from tests.baresip import Baresip
from tests.careline_cli import careline
from tests.support import Sipp
from tests.test_demo_tmux import processes_mentioning
from tests.tmux import TmuxSession
from tests.tmux_console import TerminalConsole, stop_processes_of

AGENT_TONE = 1000.0


def lost_rows(store: Path) -> list[tuple[object, ...]]:
    """Each call's end reason, and whether it was answered."""
    with sqlite3.connect(store) as db:
        return db.execute("SELECT end_reason, answered_at IS NOT NULL FROM calls").fetchall()


def stored_notes(store: Path) -> list[tuple[str]]:
    """The notes of every call in the console's store."""
    with sqlite3.connect(store) as db:
        return [(str(row[0]),) for row in db.execute("SELECT notes FROM calls")]


def clean_up(home: Path, *terminals: TmuxSession | None, sipp: Sipp | None = None) -> None:
    """Close the consoles' terminals, stop the caller, and SIGTERM whatever this
    test's home still runs (the engine lives on in its own session)."""
    for terminal in terminals:
        if terminal is not None:
            terminal.kill()
    if sipp is not None:
        sipp.stop()
    stop_processes_of(home)


@pytest.fixture
def console(tmp_path: Path) -> TerminalConsole:
    """careline for tmux, its wrap-up optional."""
    return TerminalConsole.make(tmp_path, "optional")


def call_with_notes(
    tmp_path: Path, console: TerminalConsole, session: TmuxSession, notes: str
) -> Sipp:
    """Once the console is online a SIPp caller rings; the agent answers and types
    ``notes``. Returns the caller once the store has the notes (typed, not saved by
    hand: they are saved once typing stops); stops it if that fails."""
    session.wait_for("phone online", 30)
    sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", console.port)
    try:
        for on_screen, key in (("ringing", "a"), ("talking", "n")):  # answer, open the notes
            session.wait_for(on_screen, 15)
            session.keys(key)
        time.sleep(0.3)  # the focus moves on the next frame; tmux would deliver all at once
        session.keys("-l", notes)
        deadline = time.monotonic() + 10
        while stored_notes(console.store) != [(notes,)]:
            assert time.monotonic() < deadline, (stored_notes(console.store), session.screen())
            time.sleep(0.2)
    except BaseException:
        sipp.stop()
        raise
    return sipp


def test_terminal_hangup_mid_call_keeps_the_call_and_attach_restores_it(
    tmp_path: Path, isolated_home: Path, console: TerminalConsole
) -> None:
    first = TmuxSession(console.command("run"), console.env)
    second: TmuxSession | None = None
    sipp: Sipp | None = None
    try:
        sipp = call_with_notes(tmp_path, console, first, "caller asked about a refill")
        first.wait_for("caller asked about a refill", 10)
        pid = console.pid()
        first.kill()  # the terminal goes away: SIGHUP to the console, as when SSH drops
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{pid}").exists()
        assert stored_notes(console.store) == [("caller asked about a refill",)]  # still there
        engines = _engine_pids(isolated_home)
        assert len(engines) == 1, engines  # the engine, with its call, is still there
        assert sipp.proc.poll() is None  # and the caller is still connected

        second = TmuxSession(console.command("attach"), console.env)
        screen = second.wait_for("talking 0:", 30)  # the call and its running timer
        screen = second.wait_for("caller asked about a refill", 10)  # and its notes
        assert "Test Patient" in screen or "+1" in screen
        second.keys("h")
        assert sipp.wait() == 0, sipp.report()
        second.wait_for("Esc", 15)  # the wrap-up of the call taken before the drop
    finally:
        clean_up(isolated_home, first, second, sipp=sipp)


def test_attach_without_an_engine_says_so() -> None:
    result = careline("attach", env={"TERM": "dumb"})
    assert result.returncode == 1
    assert "no phone engine is running" in result.stderr


@pytest.mark.realtime  # audio measured against the clock: run alone
def test_the_caller_keeps_hearing_the_agent_side_after_the_terminal_drops(
    tmp_path: Path, isolated_home: Path
) -> None:
    """The call's audio does not depend on the console: baresip records a tone
    the engine sends, before and after the console dies with its terminal."""
    console = TerminalConsole.make(
        tmp_path,
        "optional",
        CARELINE_SIP__AUDIO_SOURCE=f"tone:{int(AGENT_TONE)}",
        CARELINE_AUDIO__MODE="none",
    )
    heard = tmp_path / "caller-heard.wav"
    session = TmuxSession(console.command("run"), console.env)
    try:
        session.wait_for("phone online", 30)
        with Baresip(tmp_path, user="patient", tone_hz=600, record_to=heard) as caller:
            caller.dial(f"sip:queue@127.0.0.1:{console.port}")
            session.wait_for("ringing", 15)
            session.keys("a")
            caller.wait_event("CALL_ESTABLISHED")
            time.sleep(1.0)
            session.kill()  # SIGHUP to the console
            time.sleep(3.0)  # the last seconds of the recording are all after the drop
            caller.hangup()
            caller.wait_event("CALL_CLOSED")
            caller.save_recording()
    finally:
        session.kill()
        stop_processes_of(isolated_home)
    rate, samples = read_wav_mono16(heard)
    after_drop = samples[-2 * rate :]
    assert rms(after_drop) > 1000, "the caller heard nothing after the terminal dropped"
    assert abs(dominant_frequency(after_drop, rate) - AGENT_TONE) < 15


def _engine_pids(home: Path) -> list[int]:
    """The engines serving ``home``'s socket: ``careline engine`` becomes ``python -m sip``."""
    return [
        int(line.split(":", 1)[0]) for line in processes_mentioning(str(home)) if " -m sip " in line
    ]


def test_attach_restarts_an_engine_that_dies_under_it(
    isolated_home: Path, console: TerminalConsole
) -> None:
    """`careline attach` serves a running engine; when that engine dies, it starts a
    new one as `careline run` would, instead of staying offline for good."""
    first = TmuxSession(console.command("run"), console.env)
    second: TmuxSession | None = None
    try:
        first.wait_for("phone online", 30)
        first.kill()  # the terminal goes; the engine stays
        time.sleep(1.0)
        [engine] = _engine_pids(isolated_home)
        second = TmuxSession(console.command("attach"), console.env)
        second.wait_for("phone online", 30)
        os.kill(engine, signal.SIGKILL)
        second.wait_for("phone offline", 10)
        second.wait_for("phone online", 30)
        pids = _engine_pids(isolated_home)
        assert len(pids) == 1
        assert pids != [engine]
    finally:
        clean_up(isolated_home, first, second)


def test_a_power_cut_mid_call_is_closed_as_lost_and_wrapped_up_at_the_next_start(
    tmp_path: Path, isolated_home: Path, console: TerminalConsole
) -> None:
    """Console and engine killed together (SIGKILL) mid-call: the next `careline run`
    closes the call as lost, keeps its notes and opens its wrap-up."""
    first = TmuxSession(console.command("run"), console.env)
    second: TmuxSession | None = None
    sipp: Sipp | None = None
    try:
        sipp = call_with_notes(tmp_path, console, first, "wants a call back about results")
        for pid in [*_engine_pids(isolated_home), console.pid()]:
            os.kill(pid, signal.SIGKILL)  # the power goes
        sipp.stop()
        first.kill()
        second = TmuxSession(console.command("run"), console.env)
        screen = second.wait_for("CALL LOST", 30)  # its wrap-up is open
        assert "wants a call back about results" in screen
        deadline = time.monotonic() + 5  # the row is written behind the screen: soon after
        while (rows := lost_rows(console.store)) != [("lost", 1)]:
            assert time.monotonic() < deadline, rows
            time.sleep(0.05)
    finally:
        clean_up(isolated_home, first, second, sipp=sipp)
