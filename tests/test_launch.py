# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's launch: its first frame before the configuration, and what stops it.

On a terminal ``careline run`` and ``demo`` paint the startup screen first and read
the configuration, check the store and load the agent screen behind it, in a thread.
What stops the launch is then printed once the terminal is back, as it was before
any frame: the same line, the same exit code.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

import console.core.config as configuration
from console.app import AppWiring, launching_app
from console.core.config import CarelineConfig, ConfigError
from console.screens.agent import AgentScreen
from console.screens.startup import StartupScreen
from console.startup import Ready, Step
from tests.console_app import SIZE, make_app, wait_for
from tests.support import ROOT
from tests.tiny_disk import TinyDisk
from tests.tmux import TmuxSession

NOT_ON_THE_FIRST_FRAME = (
    "pydantic",
    "yaml",
    "aiosqlite",
    "phonenumbers",
    "console.core.config.sections",
    "console.core.schema",
    "console.core.store",
    "console.screens.agent",
    "console.services",
    "console.idle",
)
"""What the command line and the first frame's modules must not load: the validation
models, the store, the agent screen (a third of a second of imports, measured)."""


def test_the_command_line_and_the_first_frame_load_no_configuration_models() -> None:
    modules = ("console.cli", "console.launch", "console.app", "console.screens.startup")
    script = f"import sys; import {', '.join(modules)}; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(result.stdout.split())
    assert [name for name in NOT_ON_THE_FIRST_FRAME if name in loaded] == []


def test_every_configuration_name_loads_on_first_use() -> None:
    for name in configuration.__all__:
        assert getattr(configuration, name) is not None, name
    assert set(configuration._LAZY) | {"ConfigError"} == set(configuration.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nonesuch'"):
        configuration.Nonesuch  # noqa: B018


class HeldPreparation:
    """A launcher's preparation that waits until the test lets it go."""

    def __init__(self, outcome: tuple[CarelineConfig, AppWiring] | BaseException) -> None:
        self.outcome = outcome
        self.go = threading.Event()

    def __call__(self, step: Step, ready: Ready) -> tuple[CarelineConfig, AppWiring]:
        step("Reading the configuration… [b]not markup[/b]")
        self.go.wait(20)
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        ready(*self.outcome)
        return self.outcome


async def test_the_startup_screen_stands_until_the_preparation_fails() -> None:
    held = HeldPreparation(ConfigError("careline.yaml: line 3: sip.listen: not a host:port"))
    app = launching_app(held)
    try:
        async with app.run_test(size=SIZE) as pilot:
            startup = app.screen
            assert isinstance(startup, StartupScreen)
            await wait_for(
                pilot, lambda: "not markup" in str(startup.query_one("#startup-step").render())
            )
            step = str(startup.query_one("#startup-step").render())
            assert "[b]not markup[/b]" in step  # a step is text, never markup
            assert not app.configured
            held.go.set()
            await wait_for(pilot, lambda: app.launch_error is not None, what="the launch error")
    finally:
        held.go.set()
    assert isinstance(app.launch_error, ConfigError)
    assert app.return_code == 1


async def test_quitting_while_careline_starts() -> None:
    held = HeldPreparation(ConfigError("never raised: the agent quit first"))
    app = launching_app(held)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+l")  # nothing to lock yet: no error
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, what="the exit")
            held.go.set()
    finally:
        held.go.set()
    assert app.return_code == 0


async def test_after_the_preparation_the_agent_screen_replaces_the_startup_screen(
    tmp_path: Path,
) -> None:
    tested = make_app(tmp_path)  # a real configuration and wiring, and its engine
    held = HeldPreparation((tested.config, tested.wiring))
    app = launching_app(held)
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert isinstance(app.screen, StartupScreen)
            held.go.set()
            await wait_for(
                pilot, lambda: isinstance(app.screen, AgentScreen), what="the agent screen"
            )
            assert not any(isinstance(screen, StartupScreen) for screen in app.screen_stack)
            await wait_for(pilot, lambda: app.phone.status.online, 20, "the engine online")
    finally:
        held.go.set()
    assert app.launch_error is None


def terminal(command: list[str], home: Path) -> TmuxSession:
    """``careline`` in a real terminal, in the isolated home."""
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "TERM": "xterm-256color",
        **{name: str(home / name.lower()) for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME")},
        "XDG_STATE_HOME": str(home / "xdg_state_home"),
        "XDG_RUNTIME_DIR": str(home / "run"),
    }
    return TmuxSession([sys.executable, "-m", "console", *command], env)


def said_at_exit(tmp_path: Path, home: Path, setting: str, code: int) -> str:
    """``careline run`` with ``setting`` as its configuration, in a real terminal, until it
    exits with ``code``: what the restored terminal shows, on one line."""
    config = tmp_path / "careline.yaml"
    config.write_text(setting)
    session = terminal(["--config", str(config), "run"], home)
    try:
        screen = session.wait_for(f"CARELINE-EXIT {code}", 30)
    finally:
        session.kill()
    return " ".join(screen.split())


@pytest.mark.parametrize(
    ("setting", "code", "said"),
    [
        ("sip:\n  listen: nowhere\n", 2, "sip.listen"),
        (
            "agent:\n  id: alice\nsession:\n  sign_in: required\n",
            1,
            "session.sign_in is required and no PIN is set for alice; run: careline pin set",
        ),
    ],
)
def test_on_a_terminal_what_stops_the_launch_is_said_after_the_first_frame(
    tmp_path: Path, isolated_home: Path, setting: str, code: int, said: str
) -> None:
    assert said in said_at_exit(tmp_path, isolated_home, setting, code)
    assert not list(isolated_home.rglob("*.sqlite3"))  # nothing was created


def test_on_a_terminal_a_store_on_a_full_disk_is_said_after_the_first_frame(
    tmp_path: Path, isolated_home: Path, tiny_disk: TinyDisk
) -> None:
    """The store is opened behind the first frame: a full disk stops the launch with the
    disk's condition on the restored terminal, never a traceback, and exit code 1."""
    tiny_disk.fill()
    setting = f"store:\n  path: {tiny_disk.path / 'careline.sqlite3'}\n"
    said = said_at_exit(tmp_path, isolated_home, setting, 1)
    assert "disk is full" in said or "No space left" in said, said
    assert "Traceback" not in said
    assert not list(isolated_home.rglob("engine.sock"))  # no engine left behind


def test_on_a_terminal_a_store_that_is_not_a_database_is_said(
    tmp_path: Path, isolated_home: Path
) -> None:
    """A store file that is something else (a bad copy, a wrong path) is named on the
    restored terminal with exit code 1, and the file is left as it was."""
    store = tmp_path / "careline.sqlite3"
    store.write_bytes(b"not a database\n" * 512)
    said = said_at_exit(tmp_path, isolated_home, f"store:\n  path: {store}\n", 1)
    assert str(store.name) in said, said
    assert "Traceback" not in said
    assert store.read_bytes() == b"not a database\n" * 512
