# SPDX-License-Identifier: GPL-2.0-or-later
"""Driving the real TUI in a real terminal: tmux on a private server socket."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest


def _tmux_environment() -> dict[str, str]:
    """This process's environment for the tmux server, without COLUMNS and LINES: a pytest-xdist
    worker sets them to 80x24, and the console in the pane would take them over the pane's size
    (Rich reads them first), drawing 80x24 in a 120x36 terminal."""
    hidden = ("COLUMNS", "LINES", "TMUX")
    return {key: value for key, value in os.environ.items() if key not in hidden} | {"TMUX": ""}


class TmuxSession:
    """One detached tmux session running a command; stopped by ``kill``."""

    def __init__(
        self, command: list[str], env: Mapping[str, str], size: tuple[int, int] = (120, 36)
    ):
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed: run the README test command (it installs tmux)")
        self.server = f"careline-test-{uuid.uuid4().hex[:8]}"
        self.name = "t"
        env_prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        shell = f"env {env_prefix} {shlex.join(command)}; echo CARELINE-EXIT $?; sleep 60"
        self._tmux(
            "new-session", "-d", "-s", self.name, "-x", str(size[0]), "-y", str(size[1]), shell
        )

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.server, *args],
            capture_output=True,
            text=True,
            timeout=20,
            env=_tmux_environment(),
        )
        return result.stdout

    def screen(self) -> str:
        """What the terminal shows now."""
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        """Type keys (tmux key names or literal text)."""
        self._tmux("send-keys", "-t", self.name, *keys)

    def type_bytes(self, data: bytes) -> None:
        """Type raw bytes, UTF-8 or not (as a terminal in another locale would send)."""
        self._tmux("send-keys", "-t", self.name, "-H", *(f"{byte:02x}" for byte in data))

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """Wait until ``text`` is on screen; returns the screen."""
        return self._wait(lambda screen: text in screen, f"{text!r} never appeared", timeout)

    def wait_gone(self, text: str, timeout: float = 20.0) -> str:
        """Wait until ``text`` is off the screen; returns the screen."""
        return self._wait(lambda screen: text not in screen, f"{text!r} never went", timeout)

    def _wait(self, done: Callable[[str], bool], failure: str, timeout: float) -> str:
        """Poll the screen every 0.1 s until ``done`` holds for it; ``failure`` is the
        assertion's words when ``timeout`` runs out first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if done(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{failure}; screen:\n{self.screen()}")

    def socket_path(self) -> str:
        """Where the session's tmux server listens."""
        return self._tmux("display-message", "-p", "#{socket_path}").strip()

    def kill(self) -> None:
        """Kill the tmux server (and so whatever still runs in it), and remove its socket,
        which tmux 3.3 leaves behind."""
        socket = self.socket_path()
        self._tmux("kill-server")
        if socket:
            Path(socket).unlink(missing_ok=True)


def console_pid(config: str) -> int:
    """PID of the one console started with ``--config config`` … ``run`` (not its engine)."""
    from tests.test_demo_tmux import processes_mentioning

    python_dir = sys.executable.rsplit("/", 1)[0]
    consoles = [
        line
        for line in processes_mentioning(config)
        if line.split(": ", 1)[1].startswith(python_dir) and line.rstrip().endswith(" run")
    ]
    assert len(consoles) == 1, consoles
    return int(consoles[0].split(":", 1)[0])
