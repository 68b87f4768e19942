# SPDX-License-Identifier: GPL-2.0-or-later
"""Running the real console (with its real engine) under Textual's Pilot."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from rich.cells import cell_len
from textual import events
from textual.app import App
from textual.pilot import Pilot

from console.app import AppWiring, CarelineApp, create_app
from console.core.config import load_config
from console.core.engine_settings import engine_starter
from console.core.scripts.runner import ScriptRun
from console.widgets.guidance import GuidancePane
from tests.support import Sipp, free_udp_port

SIZE = (120, 36)


def make_app(tmp_path: Path, config_text: str = "", *, wrap_up: str = "off") -> CarelineApp:
    """A console on a free SIP port with its own socket, store and logs.

    ``config_text`` is YAML for the console's own configuration file;
    ``wrap_up`` the wrap-up mode (off unless a test is about wrap-up).
    """
    port = free_udp_port()
    path = None
    if config_text:
        path = tmp_path / "console.yaml"
        path.write_text(config_text)
    config = load_config(
        path,
        environ={
            "CARELINE_UI__BELL": "false",
            "CARELINE_ENGINE__RESTART_DELAY": "0.2",
            "CARELINE_WRAP_UP__MODE": wrap_up,
        },
    )
    socket_path = tmp_path / "engine.sock"
    wiring = AppWiring(
        engine_argv=engine_starter(
            config,
            socket_path=socket_path,
            listen=f"127.0.0.1:{port}",
            log_path=tmp_path / "engine.log",
        ),
        socket_path=socket_path,
        store_path=tmp_path / "store.sqlite3",
        engine_stderr=tmp_path / "engine.err",
    )
    app = create_app(config, wiring)
    app.sip_port = port  # type: ignore[attr-defined]
    return app


@contextlib.contextmanager
def engine_beside(app: CarelineApp) -> Iterator[subprocess.Popen[bytes]]:
    """The app's engine started beside it, as an earlier console leaves one running: the
    app attaches to it at start, so a link that drops leaves the engine and its calls up
    and the app attaches again. Stopped by its PID at the end if the app did not stop it."""
    command = app.wiring.engine_argv
    assert callable(command)
    start = command()
    try:
        engine = subprocess.Popen(
            start.argv,
            pass_fds=start.pass_fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        for fd in start.pass_fds:
            os.close(fd)
    try:
        # Serving before the app starts: an app that found no engine would start its own.
        deadline = time.monotonic() + 15
        while not _answers(app.wiring.socket_path):
            assert engine.poll() is None, f"the engine exited with {engine.returncode}"
            assert time.monotonic() < deadline, "the engine never opened its socket"
            time.sleep(0.05)
        yield engine
    finally:
        if engine.poll() is None:
            engine.terminate()
            try:
                engine.wait(10)
            except subprocess.TimeoutExpired:
                engine.kill()
                engine.wait()


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def sip_port(app: CarelineApp) -> int:
    """The SIP port the app's engine listens on."""
    return int(app.sip_port)  # type: ignore[attr-defined]


async def wait_for(
    pilot: Pilot[int], predicate: Callable[[], bool], seconds: float = 10.0, what: str = "condition"
) -> None:
    """Let the app run until ``predicate`` holds, then let that frame be painted."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
    await pilot.pause()


def talking(app: CarelineApp) -> bool:
    """True once the agent's active call is connected."""
    call = app.agent_screen.queue.active()
    return call is not None and call.state == "active"


SVG_CELL_WIDTH = 12.2
"""Pixels per terminal cell in Textual's SVG screenshot (Rich's export_svg: 20 px × 0.61)."""


def screen_text(app: App[Any]) -> str:
    """Everything the app has on screen (top screen, modals included), as plain text.

    Read from Textual's public screenshot (``App.export_screenshot``, SVG): each
    run of text is placed at its cell on its line; cells drawn only as a
    background are spaces. Every test that reads the screen comes through here.
    """
    root = ElementTree.fromstring(app.export_screenshot())
    lines: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for element in root.iter("{http://www.w3.org/2000/svg}text"):
        line = re.search(r"-line-(\d+)\)", element.get("clip-path", ""))
        if line is not None:
            cell = round(float(element.get("x", "0")) / SVG_CELL_WIDTH)
            text = (element.text or "").replace("\xa0", " ").rstrip("\n")
            lines[int(line.group(1))].append((cell, text))
    rows = []
    for _, runs in sorted(lines.items()):
        row, width = "", 0
        for cell, text in sorted(runs, key=lambda run: run[0]):
            row += " " * max(0, cell - width) + text
            width = max(width, cell) + cell_len(text)
        rows.append(row)
    return "\n".join(rows)


def toasts(app: App[Any]) -> list[str]:
    """The text (title, then message) of every toast on the screen now."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


def shows_toast(app: App[Any], text: str) -> bool:
    """Whether a toast on the screen now says ``text``."""
    return any(text in toast for toast in toasts(app))


async def scripted_call(
    app: CarelineApp, pilot: Pilot[int], tmp_path: Path, scenario: str, queue: str
) -> tuple[Sipp, ScriptRun]:
    """A SIPp caller on ``queue``, answered, with the script it chose running."""
    sipp = Sipp(tmp_path, scenario, sip_port(app), service=queue)
    await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()), what="ringing")
    await pilot.press("a")
    await wait_for(pilot, lambda: talking(app), what="answered")
    pane = app.agent_screen.query_one(GuidancePane)
    await wait_for(pilot, lambda: pane.run is not None, what="script")
    assert pane.run is not None
    return sipp, pane.run


def press_together(app: App[Any], *keys: str) -> None:
    """Keys that arrive in one read of the terminal (a fast typist, an SSH link): all
    queued at the App before any is handled, as Textual's driver posts them. A key is a
    Textual key name or one character (" " is the space bar)."""
    named = {"enter": "\r", "escape": "\x1b", "tab": "\t", "space": " "}
    for key in ("space" if key == " " else key for key in keys):
        if key in named:
            character: str | None = named[key]
        elif key.startswith("ctrl+") and len(key) == 6:
            character = chr(ord(key[-1]) - ord("a") + 1)
        else:
            character = key if len(key) == 1 else None
        app.post_message(events.Key(key, character))
