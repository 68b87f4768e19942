# SPDX-License-Identifier: GPL-2.0-or-later
"""careline in a real terminal (tmux, tests/tmux.py): the console's config, environment
and store for a test, and stopping what the test's home still runs afterwards."""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_udp_port
from tests.test_demo_tmux import processes_mentioning
from tests.tmux import console_pid


@dataclass(frozen=True)
class TerminalConsole:
    """How a test starts ``careline`` in tmux: a free SIP port, a config file that sets the
    wrap-up mode (and names the console's process), and the environment."""

    port: int
    """The engine's SIP port on 127.0.0.1."""
    config: Path
    """The ``--config`` file."""
    env: dict[str, str]
    """This test's HOME, XDG directories and PATH, a 256-colour terminal, SIP on
    :attr:`port`, no bell, and the settings the test added."""

    @classmethod
    def make(cls, tmp_path: Path, wrap_up: str, **settings: str) -> TerminalConsole:
        """A console whose wrap-up ``mode`` is ``wrap_up``; ``settings``: more ``CARELINE_*``
        variables."""
        port = free_udp_port()
        config = tmp_path / "console.yaml"
        config.write_text(f"wrap_up:\n  mode: {wrap_up}\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k.startswith(("XDG_", "HOME", "PATH"))}
        env.update(
            TERM="xterm-256color",
            CARELINE_SIP__LISTEN=f"127.0.0.1:{port}",
            CARELINE_UI__BELL="false",
            **settings,
        )
        return cls(port, config, env)

    def command(self, name: str) -> list[str]:
        """``careline --config FILE NAME`` (``run``, ``attach``) as an argv."""
        return [sys.executable, "-m", "console", "--config", str(self.config), name]

    @property
    def store(self) -> Path:
        """The store the console writes (under the test's XDG data directory)."""
        return Path(self.env["XDG_DATA_HOME"]) / "careline" / "careline.sqlite3"

    def pid(self) -> int:
        """The PID of the one console running with this config (not its engine)."""
        return console_pid(str(self.config))


def stop_processes_of(home: Path) -> None:
    """SIGTERM, by PID, whatever still runs with ``home`` in its command line."""
    for line in processes_mentioning(str(home)):
        os.kill(int(line.split(":", 1)[0]), signal.SIGTERM)
