# SPDX-License-Identifier: GPL-2.0-or-later
"""`careline demo` end to end in a real terminal: ring, answer, hang up, quit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support import ROOT
from tests.tmux import TmuxSession


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain ``text`` (our isolated HOME)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and "tmux" not in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


def demo_session(*, interval: float) -> TmuxSession:
    """``careline demo`` in a tmux pane, a caller every ``interval`` seconds."""
    env = {k: v for k, v in os.environ.items() if k.startswith(("XDG_", "HOME", "PATH"))}
    env["TERM"] = "xterm-256color"
    return TmuxSession([sys.executable, "-m", "console", "demo", "--interval", str(interval)], env)


def quit_clean(session: TmuxSession, home: Path) -> None:
    """q (and y if a demo caller is ringing): exit 0, and nothing left running of ``home``."""
    session.keys("q")
    time.sleep(0.5)
    if "anyway?" in session.screen():  # a demo caller is ringing ("Quit anyway?", may wrap)
        session.keys("y")
    session.wait_for("CARELINE-EXIT 0", 20)
    deadline = time.monotonic() + 10
    while processes_mentioning(str(home)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_mentioning(str(home)) == []


def test_demo_rings_answers_hangs_up_and_quits_cleanly(isolated_home: Path) -> None:
    session = demo_session(interval=1)
    try:
        session.wait_for("phone online", 30)
        session.wait_for("ringing", 30)
        session.keys("a")
        screen = session.wait_for("talking", 10)
        assert "No call in progress" not in screen
        session.keys("o")  # hold
        session.wait_for("on hold", 10)
        time.sleep(0.5)
        session.keys("o")  # and back
        session.wait_for("● talking", 10)
        time.sleep(0.5)
        # n and the notes in one write, as a fast typist over SSH sends them: the words
        # are notes, not call keys ("h" in them would hang up).
        session.keys("-l", "nAsked about [b]refill[/b] then hold")
        session.wait_for("then hold", 10)
        # ESC followed at once by a key reads as Alt+key, as in any terminal: the next
        # write waits until the notes are left (the call keys are back in the footer).
        session.keys("Escape")
        session.wait_for(" c Consult", 10)
        # c (consult), the demo nurse line's name and Enter in one write: the name goes
        # into the picker that c opens (it once went nowhere, and Enter took the first
        # entry of the directory).
        session.keys("-l", "cnurse\r")
        session.wait_for("caller held:", 15)
        session.wait_for("● talking", 15)  # the nurse line answered (not "dialling…")
        session.keys("f")  # complete the attended transfer
        screen = session.wait_for("ctrl+s save", 20)  # the wrap-up opens for the transferred caller
        assert "Asked about [b]refill[/b] then hold" in screen  # its notes, shown literally
        session.keys("t")  # disposition: transferred (its hot key)
        time.sleep(0.3)
        session.keys("C-s")
        screen = session.wait_for("Ready", 10)
        screen = session.wait_for("transferred", 20)
        deadline = time.monotonic() + 10
        while screen.count("transferred") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # the nurse leg, ended by the target's Replaces, is a transfer too
            screen = session.screen()
        assert screen.count("transferred") == 2, screen
        # The call is over: its notes left the box with it (saved, in the wrap-up).
        assert "Asked about [b]refill[/b]" not in screen
        quit_clean(session, isolated_home)
    finally:
        session.kill()
    store = isolated_home / "xdg_data_home" / "careline" / "demo.sqlite3"
    rows = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("
            "\"select count(*) from calls where notes like 'Asked about%'\").fetchone()[0])",
            str(store),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert rows.stdout.strip() == "1"


def test_the_demo_moves_marias_appointment_and_requests_her_refill_in_the_terminal(
    isolated_home: Path,
) -> None:
    """The newcomer's path with no setup: verify Maria, k, move her follow-up (the
    preparation shows), l, request her Lisinopril refill, wrap up."""
    session = demo_session(interval=3)
    try:
        session.wait_for("Maria Lopez", 30)
        session.wait_for("ringing", 30)
        session.keys("a")  # the longest waiting: Maria, the demo's first caller
        session.wait_for("talking", 10)
        session.keys("v")
        session.wait_for("Verify the caller", 10)
        for part in ("1961-03-09", "Enter", "lopez", "Enter"):
            session.keys(*(["-l", part] if part != "Enter" else [part]))
            time.sleep(0.3)  # one field at a time: tmux would deliver all at once
        screen = session.wait_for("k: book, move or cancel", 10)
        assert "Dr. Ines Moreau" in screen  # her follow-up, from the demo
        session.keys("k")
        session.wait_for("Appointments for Maria", 10)
        session.keys("Down")
        time.sleep(0.3)
        session.keys("Enter")  # Move …
        session.wait_for("free,", 10)
        session.keys("Down")
        time.sleep(0.3)
        session.keys("Enter")  # her doctor's second free slot
        screen = session.wait_for("Moved to", 10)
        assert "Upcoming appointments" in screen
        session.wait_for("Before Diabetes review", 10)  # the preparation to read out
        session.keys("l")  # her Lisinopril refill
        session.wait_for("Refill for Maria", 10)
        session.keys("Enter")  # Lisinopril: the first, by name
        screen = session.wait_for("Refill of Lisinopril 10 mg tablet requested", 10)
        assert "Tell the patient" in screen
        session.keys("h")
        session.wait_for("ctrl+s save", 10)
        session.keys("a")  # disposition: appointment booked or changed
        time.sleep(0.3)
        session.keys("C-s")
        session.wait_for("Ready", 10)
        quit_clean(session, isolated_home)
    finally:
        session.kill()


def next_preview(session: TmuxSession) -> str:
    """Wait for the worklist's next preview, declining demo callers meanwhile (inbound
    calls come first: no item is offered while one rings); the screen."""
    deadline = time.monotonic() + 40
    while "Worklist: Appointment reminders" not in (screen := session.screen()):
        assert time.monotonic() < deadline, screen
        if "ringing" in screen:
            session.keys("d")
        time.sleep(0.5)
    return screen


def leave_worklist(session: TmuxSession) -> None:
    """Escape from the worklist's preview until the agent is Ready again: a demo caller
    who rings between the preview and the key displaces the preview, so the key finds
    nothing to leave; that caller is declined and the preview, back, left again."""
    deadline = time.monotonic() + 40
    session.keys("Escape")  # leave the list: the claim goes back
    while "Ready" not in (screen := session.screen()):
        assert time.monotonic() < deadline, screen
        if "ringing" in screen:
            session.keys("d")
        elif "Worklist: Appointment reminders" in screen:
            session.keys("Escape")
        time.sleep(0.5)


def test_the_demo_works_its_reminder_list_in_the_terminal(isolated_home: Path) -> None:
    """W: the demo's reminder list, previewed, dialled and recorded; inbound calls first."""
    session = demo_session(interval=600)
    try:
        session.wait_for("phone online", 30)
        session.keys("W")
        screen = next_preview(session)
        assert "Outbound" in screen
        assert "Attempt 1 of 3" in screen
        outcomes = []
        for _ in range(2):  # two items: each dialled, then its outcome saved
            session.keys("Enter")
            deadline = time.monotonic() + 45  # a number nobody answers rings 30 s
            preview_gone = False
            while not any(t in (screen := session.screen()) for t in ("How did", "talking")):
                assert time.monotonic() < deadline, screen
                previewing = "Worklist: Appointment reminders" in screen
                if "ringing" in screen:  # inbound first: a caller displaced the preview
                    session.keys("d")
                elif previewing and preview_gone:  # it came back after the decline: dial it
                    session.keys("Enter")
                    preview_gone = False
                preview_gone = preview_gone or not previewing
                time.sleep(0.3)
            if "talking" in screen and "How did" not in screen:
                assert "read exactly this" in screen  # the voicemail text, beside the script
                session.keys("h")
                screen = session.wait_for("How did the call to", 10)
                outcomes.append("confirmed")
                session.keys("1")
            else:
                outcomes.append(screen.split("proposed: ", 1)[1].split(")", 1)[0])
                session.keys("Enter")  # the proposed outcome
            next_preview(session)
        assert len(outcomes) == 2, outcomes
        leave_worklist(session)
        quit_clean(session, isolated_home)
    finally:
        session.kill()
