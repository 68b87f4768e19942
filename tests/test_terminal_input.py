# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's terminal input thread (console.terminal_input) on a real pseudo-terminal:
it sleeps while nothing is typed, delivers keys (a lone Esc after ESCDELAY), ends at
once when the app closes, and survives bytes that are not UTF-8."""

from __future__ import annotations

import asyncio
import os
import pty
import queue
import sys
import threading
import time
import tty
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple, cast

from textual import constants, events
from textual.app import App
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from bench.common import isolated_home
from console.terminal_input import QuietLinuxDriver, quiet_driver
from tests.support import free_udp_port
from tests.tmux import TmuxSession


class FakeApp:
    """What the input thread may call on its app: only the crash path."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []

    def _handle_exception(self, error: BaseException) -> None:
        self.errors.append(error)


class Reading(NamedTuple):
    """An input thread reading a pseudo-terminal, and what it dispatched."""

    driver: LinuxDriver
    thread: threading.Thread
    terminal: int
    """The terminal's side of the pty: what is written here is typed."""
    messages: queue.Queue[Message]
    app: FakeApp


@asynccontextmanager
async def reading(driver_class: type[LinuxDriver], fail: bool = False) -> AsyncIterator[Reading]:
    """``driver_class``'s input thread on a new pty (``fail``: dispatching raises)."""
    terminal, console_side = pty.openpty()
    tty.setraw(console_side)  # as the driver's application mode sets it: no line editing
    messages: queue.Queue[Message] = queue.Queue()

    class Recording(driver_class):  # type: ignore[valid-type, misc]
        def process_message(self, message: Message) -> None:
            if fail:
                raise RuntimeError("dispatch failed")
            messages.put(message)

    app = FakeApp()
    driver: LinuxDriver = Recording(cast(App[Any], app))
    driver.fileno = console_side
    thread = threading.Thread(target=driver._run_input_thread, daemon=True)
    thread.start()
    try:
        yield Reading(driver, thread, terminal, messages, app)
    finally:
        driver.exit_event.set()
        thread.join(2)
        driver.close()
        os.close(terminal)
        os.close(console_side)


def wakes(thread: threading.Thread) -> int:
    """How many times the thread has been put on a CPU so far."""
    stats = Path(f"/proc/self/task/{thread.native_id}/schedstat").read_text().split()
    return int(stats[2])


async def idle_wakes(thread: threading.Thread, seconds: float) -> int:
    await asyncio.sleep(0.2)  # past its start
    before = wakes(thread)
    await asyncio.sleep(seconds)
    return wakes(thread) - before


def keys(messages: queue.Queue[Message], count: int, seconds: float = 2.0) -> list[str]:
    """The next ``count`` keys dispatched (other messages skipped)."""
    got: list[str] = []
    deadline = time.monotonic() + seconds
    while len(got) < count:
        message = messages.get(timeout=max(0.0, deadline - time.monotonic()))
        if isinstance(message, events.Key):
            got.append(message.key)
    return got


async def test_an_idle_input_thread_sleeps_where_textuals_wakes_ten_times_a_second() -> None:
    async with reading(LinuxDriver) as textuals:
        baseline = await idle_wakes(textuals.thread, 1.0)
    async with reading(QuietLinuxDriver) as quiet:
        woke = await idle_wakes(quiet.thread, 1.0)
    assert baseline >= 8  # the measure sees Textual's 0.1 s select
    assert woke <= 1


async def test_keys_arrive_in_order_and_a_lone_escape_after_escdelay() -> None:
    async with reading(QuietLinuxDriver) as (_, _, terminal, messages, _):
        os.write(terminal, b"ab")
        os.write(terminal, "é".encode()[:1])  # a character split across two reads
        await asyncio.sleep(0.05)
        os.write(terminal, "é".encode()[1:])
        assert await asyncio.to_thread(keys, messages, 3) == ["a", "b", "é"]
        pressed = time.monotonic()
        os.write(terminal, b"\x1b")
        assert await asyncio.to_thread(keys, messages, 1) == ["escape"]
        assert time.monotonic() - pressed < constants.ESCAPE_DELAY + 0.3


async def test_the_thread_goes_back_to_sleep_after_typing() -> None:
    async with reading(QuietLinuxDriver) as (_, thread, terminal, messages, _):
        os.write(terminal, b"x")
        assert await asyncio.to_thread(keys, messages, 1) == ["x"]
        await asyncio.sleep(constants.ESCAPE_DELAY + 0.6)  # it polled a while for Esc
        assert await idle_wakes(thread, 1.0) <= 1


async def test_closing_wakes_the_thread_and_a_second_start_reads_again() -> None:
    """As a suspend and resume (Ctrl+Z, or an editor run from the console) do."""
    async with reading(QuietLinuxDriver) as (driver, thread, terminal, messages, _):
        closing = time.monotonic()
        driver.exit_event.set()
        thread.join(2)
        assert not thread.is_alive()
        assert time.monotonic() - closing < 0.3
        driver.exit_event.clear()
        again = threading.Thread(target=driver._run_input_thread, daemon=True)
        again.start()
        try:
            assert await idle_wakes(again, 0.5) <= 1  # no wake-up left over
            os.write(terminal, b"y")
            assert await asyncio.to_thread(keys, messages, 1) == ["y"]
        finally:
            driver.exit_event.set()
            again.join(2)


async def test_bytes_that_are_not_utf8_are_shown_as_such_not_a_crash() -> None:
    """A terminal or a paste over SSH may send them (8-bit meta keys, a wrong locale):
    Textual's own thread died of a UnicodeDecodeError and took the console with it."""
    async with reading(QuietLinuxDriver) as (_, thread, terminal, messages, app):
        os.write(terminal, b"\xff\xc3(z")
        assert await asyncio.to_thread(keys, messages, 4) == [
            "replacement_character",  # U+FFFD, as it is typed into a field
            "replacement_character",
            "left_parenthesis",
            "z",
        ]
        assert thread.is_alive()
        assert app.errors == []


async def test_a_character_split_between_two_reads_is_one_key_and_reading_goes_on() -> None:
    """A slow link delivers the two bytes of "é" in two reads. The first decodes to no
    text, and an empty feed is the end of input to Textual's parser: it closed, the next
    read raised, and the console crashed (CI caught it when a read fell between them)."""
    async with reading(QuietLinuxDriver) as (_, thread, terminal, messages, app):
        os.write(terminal, "é".encode()[:1])
        await asyncio.sleep(0.3)  # read on its own
        os.write(terminal, "é".encode()[1:] + b"z")
        assert await asyncio.to_thread(keys, messages, 2) == ["é", "z"]
        assert thread.is_alive()
        assert app.errors == []


async def test_input_at_its_end_is_no_crash_and_no_busy_loop() -> None:
    """Standard input that ends (a pipe, a closed terminal) reads as no bytes at once, for
    ever: the thread stops reading it and sleeps until the app closes."""
    read_end, write_end = os.pipe()
    app = FakeApp()
    keys: list[Message] = []

    class Recording(QuietLinuxDriver):
        def process_message(self, message: Message) -> None:
            keys.append(message)

    driver = Recording(cast(App[Any], app))
    driver.fileno = read_end
    thread = threading.Thread(target=driver._run_input_thread, daemon=True)
    thread.start()
    try:
        os.write(write_end, b"q")
        os.close(write_end)
        await asyncio.sleep(constants.ESCAPE_DELAY + 0.6)  # it polled a while for Esc
        assert await idle_wakes(thread, 1.0) <= 1
        assert thread.is_alive()
        assert app.errors == []
        assert [key.key for key in keys if isinstance(key, events.Key)] == ["q"]
    finally:
        driver.exit_event.set()
        thread.join(2)
        driver.close()
        os.close(read_end)
    assert not thread.is_alive()


def test_a_console_in_a_terminal_takes_bytes_that_are_not_utf8_and_goes_on() -> None:
    with isolated_home() as env:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{free_udp_port()}"
        session = TmuxSession([sys.executable, "-m", "console", "run"], env)
        try:
            session.wait_for("phone online", 30)
            session.type_bytes(b"\xff\xc3(")
            time.sleep(0.5)
            session.type_bytes("é".encode()[:1])  # "é" over a slow link: two reads
            time.sleep(0.3)
            session.type_bytes("é".encode()[1:])
            time.sleep(0.3)
            assert "Traceback" not in session.screen()
            session.keys("q")  # the console still reads its keys: it quits, with 0
            session.wait_for("CARELINE-EXIT 0", 20)
        finally:
            session.kill()


async def test_a_failure_in_the_thread_ends_the_app_as_any_crash_does() -> None:
    """Not Textual's panic, which exits with 0: the app's exception handler (exit code
    1, the traceback without the frames' locals)."""
    async with reading(QuietLinuxDriver, fail=True) as (_, thread, terminal, _, app):
        os.write(terminal, b"k")
        thread.join(2)
        await asyncio.sleep(0.05)  # handed to the app's loop
        assert [str(error) for error in app.errors] == ["dispatch failed"]


def test_the_quiet_driver_replaces_only_textuals_linux_driver() -> None:
    assert quiet_driver(LinuxDriver) is QuietLinuxDriver
    from textual.drivers.headless_driver import HeadlessDriver

    assert quiet_driver(HeadlessDriver) is HeadlessDriver
