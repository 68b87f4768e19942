# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's protocol client keeps reading whatever one engine line does.

A hostile or broken line (30,000 nested brackets, an event the console fails
on) is logged and skipped: the connection, the engine and its calls stay up.
The engine here is a fake speaking the protocol on the socket (the layer above
the engine: the real engine is driven in tests/test_engine_*.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from console.core.phone import EngineStart, PhoneClient, PhoneStatus
from sip.protocol import PROTOCOL_VERSION


def line(message: dict[str, Any]) -> bytes:
    return (json.dumps(message) + "\n").encode()


async def test_a_bad_line_or_a_failing_handler_does_not_cost_the_connection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    socket_path = tmp_path / "engine.sock"
    hello = {"type": "event", "event": "hello", "protocol": PROTOCOL_VERSION, "status": []}
    later = {"type": "event", "event": "registration", "state": "registered"}

    async def engine(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(line(hello))
        writer.write(b"[" * 30_000 + b"]" * 30_000 + b"\n")  # under 64 KiB: RecursionError
        writer.write(line({"type": "event", "event": "boom"}))
        writer.write(line(later))
        await writer.drain()
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_unix_server(engine, path=str(socket_path), limit=1 << 20)
    seen: list[str] = []
    statuses: list[PhoneStatus] = []

    caller = "Maria " + "Lopez"  # (built, so the traceback's source lines do not show it)

    def on_event(message: dict[str, Any]) -> None:
        if message.get("event") == "boom":
            raise RuntimeError(caller)  # a console bug; its message must not be logged
        seen.append(str(message.get("event")))

    client = PhoneClient(["false"], socket_path, on_event=on_event, on_status=statuses.append)
    client.attach_only = True
    caplog.set_level(logging.WARNING, logger="console.core.phone")
    client.start()
    try:
        for _ in range(100):
            if "registration" in seen:
                break
            await asyncio.sleep(0.05)
        assert seen == ["hello", "registration"]
        assert client.status.online
        assert [s.online for s in statuses] == [True]
        assert "malformed line" in caplog.text
        assert "RuntimeError" in caplog.text
        assert "Maria" not in caplog.text
    finally:
        await client.stop()
        server.close()
        await server.wait_closed()


def open_descriptors() -> set[str]:
    """What this process's descriptors point at (``pipe:[inode]``, paths…)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # listdir's own, closed by now
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
    return found


FAKE_ENGINE = """
import json, os, socket, sys
assert os.read(int(sys.argv[3]), 100) == b"settings"  # the descriptor it was handed
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen(1)
conn, _ = server.accept()
hello = {"type": "event", "event": "hello", "protocol": int(sys.argv[2]), "status": []}
conn.sendall((json.dumps(hello) + "\\n").encode())
conn.recv(65536)  # any command (the console's shutdown) ends this engine
"""


async def test_an_engine_command_given_as_a_function_is_asked_off_the_event_loop(
    tmp_path: Path,
) -> None:
    """The demo decides its audio mode from a sound probe that may still be running
    when the console paints: the function that waits for it blocks a thread, not the
    screen, and is asked only when an engine is spawned."""
    socket_path = tmp_path / "engine.sock"
    asked: list[float] = []  # when the function was called

    handed: list[int] = []  # the settings pipe's inode

    def command() -> EngineStart:
        asked.append(time.monotonic())
        time.sleep(0.3)  # a probe still running
        read, write = os.pipe()
        os.write(write, b"settings")
        os.close(write)
        handed.append(os.fstat(read).st_ino)
        argv = [sys.executable, "-c", FAKE_ENGINE, str(socket_path), str(PROTOCOL_VERSION)]
        return EngineStart([*argv, str(read)], (read,))

    statuses: list[PhoneStatus] = []
    client = PhoneClient(command, socket_path, on_event=lambda _m: None, on_status=statuses.append)
    assert asked == []  # not at construction: the console paints first
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    beat = asyncio.create_task(ticker())
    client.start()
    try:
        for _ in range(200):
            if client.status.online:
                break
            await asyncio.sleep(0.05)
        assert client.status.online
        assert len(asked) == 1
        assert ticks >= 15  # the loop kept running while the function waited 0.3 s
        # The engine has the settings pipe; the console closed its own copy.
        assert f"pipe:[{handed[0]}]" not in open_descriptors()
    finally:
        beat.cancel()
        await client.stop()
