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
import functools
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from console.core.held_writes import HeldWrites
from console.core.store import Store
from tests.support import Sipp
from tests.tmux import TmuxSession
from tests.tmux_console import TerminalConsole, stop_processes_of

CALLER = ("Maria Lopez", "+12025550142")

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


@pytest.mark.realtime  # screen timings against the clock: run alone
@pytest.mark.parametrize("locked_from", ["before the ring", "while it rings"])
def test_a_call_rings_and_is_answered_at_once_while_another_program_holds_the_store(
    tmp_path: Path, isolated_home: Path, locked_from: str
) -> None:
    """``locked_from``: when the other program takes the lock (the first write to meet it is
    the ring's, or the answer's)."""
    console = TerminalConsole.make(tmp_path, "off")
    session = TmuxSession(console.command("run"), console.env)
    sipp: Sipp | None = None
    other = None
    try:
        session.wait_for("phone online", 30)
        other = sqlite3.connect(console.store, isolation_level=None, timeout=10)
        if locked_from == "before the ring":
            other.execute("BEGIN IMMEDIATE")  # the write lock, held until ROLLBACK
        sipp = Sipp(tmp_path, "uac_caller_hangs_up.xml", console.port, callers=[CALLER])
        ringing = seconds_until(session, queue_row("ringing"), 15)
        assert ringing < AT_ONCE_S, f"the ringing row took {ringing:.2f} s"
        if locked_from == "while it rings":
            other.execute("BEGIN IMMEDIATE")
        session.keys("a")
        talking = seconds_until(session, queue_row("talking"), 15)
        assert talking < AT_ONCE_S, f"the answered call took {talking:.2f} s to show"
        assert sipp.wait() == 0, sipp.report()
        session.wait_for("NOT SAVED", 15)  # the busy timeout ran out: the agent is told
        other.execute("ROLLBACK")
        other.close()
        other = None
        deadline = time.monotonic() + 20  # held writes are retried every 5 s
        events = [("offered",), ("answered",), ("ended",), ("wrapped",)]  # wrap-up off: at once
        while stored(console.store)[1] != events:
            assert time.monotonic() < deadline, f"not all written: {stored(console.store)}"
            time.sleep(0.2)
        assert stored(console.store)[0] == [("Maria Lopez", 1, "completed")]
        seconds_until(session, lambda screen: "NOT SAVED" not in screen, 10)
    finally:
        if other is not None:
            other.close()
        session.kill()
        if sipp is not None:
            sipp.stop()
        stop_processes_of(isolated_home)


def interactions(store: Path) -> list[tuple[object, ...]]:
    """The stored interactions' dispositions (the wrap-up's outcome)."""
    with sqlite3.connect(store) as db:
        return db.execute("SELECT disposition FROM interactions").fetchall()


@pytest.mark.realtime  # screen timings against the clock: run alone
@pytest.mark.parametrize("wrap_up", ["off", "optional"])
def test_a_call_ends_on_screen_at_once_while_another_program_holds_the_store(
    tmp_path: Path, isolated_home: Path, wrap_up: str
) -> None:
    """The caller hangs up while the store is locked: the wrap-up opens at once (its draft
    waits behind), or with wrap-up off the call leaves the queue at once (its interaction
    waits behind); all of it is on disk once the other program lets go."""
    console = TerminalConsole.make(tmp_path, wrap_up)
    session = TmuxSession(console.command("run"), console.env)
    sipp: Sipp | None = None
    other = None
    try:
        session.wait_for("phone online", 30)
        sipp = Sipp(tmp_path, "uac_caller_hangs_up.xml", console.port, callers=[CALLER])
        seconds_until(session, queue_row("ringing"), 15)
        session.keys("a")
        seconds_until(session, queue_row("talking"), 15)
        other = sqlite3.connect(console.store, isolation_level=None, timeout=10)
        other.execute("BEGIN IMMEDIATE")  # the caller hangs up 1.5 s after the answer
        assert sipp.wait() == 0, sipp.report()
        if wrap_up == "optional":
            shown = seconds_until(session, lambda screen: "Esc skip" in screen, 15)
        else:
            shown = seconds_until(session, lambda screen: "No calls waiting." in screen, 15)
        assert shown < AT_ONCE_S, f"the call's end took {shown:.2f} s to show"
        if wrap_up == "optional":
            session.keys("Escape")  # skipped: recorded with the default disposition
            seconds_until(session, lambda screen: "Esc skip" not in screen, 15)
        other.execute("ROLLBACK")
        other.close()
        other = None
        deadline = time.monotonic() + 20  # held writes are retried every 5 s
        while len(interactions(console.store)) != 1 or len(stored(console.store)[1]) != 4:
            assert time.monotonic() < deadline, f"not all written: {stored(console.store)}"
            time.sleep(0.2)
        assert stored(console.store) == (
            [("Maria Lopez", 1, "completed")],
            [("offered",), ("answered",), ("ended",), ("wrapped",)],
        )
    finally:
        if other is not None:
            other.close()
        session.kill()
        if sipp is not None:
            sipp.stop()
        stop_processes_of(isolated_home)


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
