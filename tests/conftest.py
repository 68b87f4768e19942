# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared fixtures: an isolated HOME and XDG directories for every test, engines, a store."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from console.core.store import Store
from tests.audio_calls import patient_engine
from tests.support import EngineProcess
from tests.tiny_disk import TinyDisk

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from console.app import CarelineApp


@pytest.fixture
def snap_compare(snap_compare: Callable[..., bool]) -> Callable[..., bool]:
    """pytest-textual-snapshot's ``snap_compare``, with every text cursor held steady
    before the picture is taken.

    A focused Input's cursor blinks every 0.5 s: on a loaded machine more than that
    can pass between the focus and the picture, which then shows the cursor off.
    Textual keeps a cursor that does not blink drawn.
    """

    def compare(app: Any, *args: Any, run_before: Any = None, **kwargs: Any) -> bool:
        async def steady(pilot: Pilot[Any]) -> None:
            if run_before is not None:
                result = run_before(pilot)
                if inspect.isawaitable(result):
                    await result
            for widget in pilot.app.screen.query("Input, TextArea"):
                widget.cursor_blink = False  # type: ignore[attr-defined]
            await pilot.pause()

        return snap_compare(app, *args, run_before=steady, **kwargs)

    return compare


# The real PostgreSQL cluster and per-test hub databases (fixtures pg_cluster, hub).
pytest_plugins = ["tests.pg", "tests.alsa"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config, data, log and runtime directories."""
    home = tmp_path / "home"
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        path = home / name.lower()
        path.mkdir(parents=True)
        monkeypatch.setenv(name, str(path))
    runtime = home / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("HOME", str(home))
    for name in list(__import__("os").environ):
        if name.startswith("CARELINE_"):
            monkeypatch.delenv(name)
    return home


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    """A headless engine on a free port; stopped (and checked for a clean exit) after."""
    proc = EngineProcess(tmp_path)
    proc.wait_event("engine.ready")
    yield proc
    code = proc.stop()
    assert code == 0, f"engine exited {code}: {proc.log_tail()}"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh local store (migrated), closed after the test."""
    opened = await Store.open(tmp_path / "store.sqlite3")
    yield opened
    await opened.close()


@pytest.fixture
def utc_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC (snapshots and clocks on screen match on any machine)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def patient(tmp_path: Path) -> Iterator[EngineProcess]:
    """An engine playing the patient (tests.audio_calls.patient_engine), stopped after the test."""
    engine = patient_engine(tmp_path)
    yield engine
    assert engine.stop() == 0, engine.log_tail()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[TinyDisk]:
    """A mounted 8 MiB tmpfs (tests.tiny_disk) to fill up; unmounted after the test."""
    disk = TinyDisk(tmp_path / "disk")
    yield disk
    disk.unmount()


@pytest.fixture
def sipp_port() -> int:
    """A free UDP port for a SIPp patient, known before the console starts (its dial domain)."""
    from tests.support import free_udp_port

    return free_udp_port()


@pytest.fixture
async def worklist_console(
    tmp_path: Path, sipp_port: int
) -> AsyncIterator[tuple[CarelineApp, Pilot[int]]]:
    """A console that dials worklist patients at the SIPp on ``sipp_port``, phone online."""
    from tests.console_app import make_app, wait_for
    from tests.worklist_console import config

    app = make_app(tmp_path, config(f"127.0.0.1:{sipp_port}"))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        yield app, pilot
