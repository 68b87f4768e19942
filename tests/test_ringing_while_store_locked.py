# SPDX-License-Identifier: GPL-2.0-or-later
"""A ringing call never waits for the disk: the real console in a real terminal (tmux), its
real engine, a SIPp caller, and another program holding the store's write lock (a
transaction left open, as a ``sqlite3`` shell or a long export would).

The ringing row is on screen at once, the agent answers and sees the call talking at
once; the call's records wait behind (the busy timeout, then held in memory, said in the
status bar) and are all on disk, in order, once the other program lets go.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.core.held_writes import HeldWrites
from console.core.store import Store
from tests.support import Sipp
from tests.tmux import TmuxSession
from tests.tmux_console import TerminalConsole, stop_processes_of

CALLER = ("Maria Lopez", "+12025550142")
NOTES = "needs a refill"

AT_ONCE_S = 2.0
"""How long the screen may take to show a change (the store's busy timeout is 5 s)."""


def seconds_until(session: TmuxSession, shown: Callable[[str], bool], timeout: float) -> float:
    """Seconds until ``shown`` holds for the terminal's screen (polled every 50 ms)."""
    start = time.monotonic()
    while not shown(session.screen()):
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not shown in {timeout} s; screen:\n{session.screen()}")
        time.sleep(0.05)
    return time.monotonic() - start


def queue_row(state: str) -> Callable[[str], bool]:
    """Whether the screen has Maria's row in the call queue in ``state``."""
    return lambda screen: any(
        "Maria Lopez" in line and state in line for line in screen.split("\n")
    )


def stored(store: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The calls (caller, answered, end reason) and the floor's call events, in order."""
    with sqlite3.connect(store) as db:
        calls = db.execute(
            "SELECT caller_name, answered_at IS NOT NULL, end_reason FROM calls"
        ).fetchall()
        events = db.execute(
            "SELECT json_extract(payload, '$.event') FROM outbox "
            "WHERE kind = 'call_event' ORDER BY seq"
        ).fetchall()
    return calls, events


@dataclass
class LockedStoreRig:
    """A real console in tmux, the SIPp caller once placed, and the other program's
    connection to the console's store (it takes the lock with ``BEGIN IMMEDIATE``)."""

    console: TerminalConsole
    session: TmuxSession
    other: sqlite3.Connection
    sipp: Sipp | None = None

    def call(self, tmp_path: Path, scenario: str = "uac_caller_hangs_up.xml") -> Sipp:
        """Maria calls (by default she hangs up 1.5 s after she is answered)."""
        self.sipp = Sipp(tmp_path, scenario, self.console.port, callers=[CALLER])
        return self.sipp

    def let_go(self) -> None:
        """The other program ends its transaction: the lock goes."""
        self.other.execute("ROLLBACK")

    def written(self, done: Callable[[], bool]) -> None:
        """Wait until ``done`` (held writes are retried every 5 s)."""
        deadline = time.monotonic() + 20
        while not done():
            assert time.monotonic() < deadline, f"not all written: {stored(self.console.store)}"
            time.sleep(0.2)


@contextlib.contextmanager
def locked_store_rig(tmp_path: Path, home: Path, wrap_up: str) -> Iterator[LockedStoreRig]:
    """:class:`LockedStoreRig` with the phone online; everything stopped at the end."""
    console = TerminalConsole.make(tmp_path, wrap_up)
    session = TmuxSession(console.command("run"), console.env)
    rig = None
    try:
        session.wait_for("phone online", 30)
        other = sqlite3.connect(console.store, isolation_level=None, timeout=10)
        rig = LockedStoreRig(console, session, other)
        yield rig
    finally:
        if rig is not None:
            rig.other.close()
            if rig.sipp is not None:
                rig.sipp.stop()
        session.kill()
        stop_processes_of(home)


@pytest.mark.realtime  # screen timings against the clock: run alone
@pytest.mark.parametrize("locked_from", ["before the ring", "while it rings"])
def test_a_call_rings_and_is_answered_at_once_while_another_program_holds_the_store(
    tmp_path: Path, isolated_home: Path, locked_from: str
) -> None:
    """``locked_from``: when the other program takes the lock (the first write to meet it is
    the ring's, or the answer's)."""
    with locked_store_rig(tmp_path, isolated_home, "off") as rig:
        session = rig.session
        if locked_from == "before the ring":
            rig.other.execute("BEGIN IMMEDIATE")  # the write lock, held until ROLLBACK
        sipp = rig.call(tmp_path)
        ringing = seconds_until(session, queue_row("ringing"), 15)
        assert ringing < AT_ONCE_S, f"the ringing row took {ringing:.2f} s"
        if locked_from == "while it rings":
            rig.other.execute("BEGIN IMMEDIATE")
        session.keys("a")
        talking = seconds_until(session, queue_row("talking"), 15)
        assert talking < AT_ONCE_S, f"the answered call took {talking:.2f} s to show"
        assert sipp.wait() == 0, sipp.report()
        session.wait_for("NOT SAVED", 15)  # the busy timeout ran out: the agent is told
        rig.let_go()
        events = [("offered",), ("answered",), ("ended",), ("wrapped",)]  # wrap-up off: at once
        rig.written(lambda: stored(rig.console.store)[1] == events)
        assert stored(rig.console.store)[0] == [("Maria Lopez", 1, "completed")]
        seconds_until(session, lambda screen: "NOT SAVED" not in screen, 10)


def interactions(store: Path) -> list[tuple[object, ...]]:
    """The stored interactions' dispositions (the wrap-up's outcome)."""
    with sqlite3.connect(store) as db:
        return db.execute("SELECT disposition FROM interactions").fetchall()


@pytest.mark.realtime  # screen timings against the clock: run alone
@pytest.mark.parametrize("wrap_up", ["off", "optional"])
def test_a_call_ends_on_screen_at_once_while_another_program_holds_the_store(
    tmp_path: Path, isolated_home: Path, wrap_up: str
) -> None:
    """The agent hangs up while the store is locked, with notes typed whose save is due:
    the wrap-up opens at once (its draft waits behind), or with wrap-up off the call leaves
    the queue at once (its interaction waits behind); all of it is on disk once the other
    program lets go."""
    with locked_store_rig(tmp_path, isolated_home, wrap_up) as rig:
        session = rig.session
        sipp = rig.call(tmp_path, "uac_agent_hangs_up.xml")
        seconds_until(session, queue_row("ringing"), 15)
        session.keys("a")
        seconds_until(session, queue_row("talking"), 15)
        time.sleep(0.5)  # the notes box reads the call's stored notes (read-only till then)
        session.keys("n")
        seconds_until(session, lambda screen: "n Notes" not in screen, 5)  # the box has focus
        session.keys("-l", NOTES)
        session.wait_for(NOTES, 5)
        session.keys("Escape")  # saved a second after the typing: the lock is in its way
        rig.other.execute("BEGIN IMMEDIATE")
        time.sleep(0.3)  # a lone Esc is a key after ESCDELAY: Esc h at once would be alt+h
        session.keys("h")
        ended = "Esc skip" if wrap_up == "optional" else "No calls waiting."
        shown = seconds_until(session, lambda screen: ended in screen, 15)
        assert shown < AT_ONCE_S, f"the call's end took {shown:.2f} s to show"
        assert sipp.wait() == 0, sipp.report()
        if wrap_up == "optional":
            session.keys("Escape")  # skipped: recorded with the default disposition
            seconds_until(session, lambda screen: "Esc skip" not in screen, 15)
        rig.let_go()
        rig.written(
            lambda: (
                len(interactions(rig.console.store)) == 1 and len(stored(rig.console.store)[1]) == 4
            )
        )
        assert stored(rig.console.store) == (
            [("Maria Lopez", 1, "completed")],
            [("offered",), ("answered",), ("ended",), ("wrapped",)],
        )
        with sqlite3.connect(rig.console.store) as db:
            assert db.execute("SELECT notes FROM calls").fetchall() == [(NOTES,)]
            assert db.execute("SELECT notes FROM interactions").fetchall() == [(NOTES,)]


async def test_a_write_made_behind_returns_at_once_and_later_writes_go_after_it(
    store: Store,
) -> None:
    """Another program holds the store's lock: the call's row is asked for behind and the
    caller goes on at once; the notes saved next (awaited) wait behind it, so once the lock
    goes they land on the row (saved first, they would have found no row to update)."""
    other = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.5, other.execute, ("ROLLBACK",))
    held = HeldWrites()
    call = {"id": "c1", "caller": {"display_name": "Ann"}, "received_at": "2026-01-01T10:00:00Z"}
    loop = asyncio.get_running_loop()
    try:
        release.start()
        asked = loop.time()
        held.behind("call record", functools.partial(store.call_started, "agent-1", call))
        assert loop.time() - asked < 0.05
        await held.run("notes", functools.partial(store.save_notes, "c1", "needs a refill"))
        assert loop.time() - asked > 0.4  # it waited for the lock, behind the row
        await held.settled()
    finally:
        release.join()
        other.close()
    assert await store.call_notes("c1") == "needs a refill"
    assert held.count == 0
