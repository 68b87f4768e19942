# SPDX-License-Identifier: GPL-2.0-or-later
"""Sign-in PIN and idle lock: no PHI on screen while locked, calls go on, attempts audited."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import AppWiring, CarelineApp, create_app
from console.core.config import load_config
from console.core.demo import demo_care, demo_patients
from console.core.patients.directory import PatientDirectory
from console.core.phone import PhoneStatus
from console.core.pin import (
    PinError,
    check_pin,
    check_rules,
    hash_pin,
    load_pin_file,
    save_pin_file,
)
from console.core.store import Store
from console.dialogs.confirm import ConfirmDialog
from console.dialogs.wrap_up import WrapUpDialog
from console.idle import GUARD_S, IDLE_CHECK_S
from console.messages import PhoneEvent, PhoneStatusChanged
from console.screens.agent import AgentScreen
from console.screens.lock import LockScreen
from console.screens.sign_in import SignInScreen
from console.widgets.patient_card import PatientCard
from tests.console_app import make_app, screen_text, sip_port, talking, wait_for
from tests.engine_events import NOW, STATES, call, event, hello
from tests.support import ROOT, Sipp

pytestmark = pytest.mark.usefixtures("utc_local_time")

PIN = "482913"
SSH = "203.0.113.9 51022 10.0.0.5 22"


def pin_file(tmp_path: Path, agent_id: str = "agent") -> Path:
    path = tmp_path / "careline-pin"
    save_pin_file(path, agent_id, hash_pin(PIN))
    return path


def make(
    tmp_path: Path,
    *,
    idle_minutes: str = "0",
    pin: Path | None = None,
    sign_in: str = "off",
    agent_id: str = "agent",
) -> CarelineApp:
    """A console with no engine at a frozen time, its PIN file in tmp_path.

    The sign-in at start is off unless a test is about it (tests/test_sign_in.py).
    """
    config = load_config(
        environ={
            "CARELINE_UI__BELL": "false",
            "CARELINE_AGENT__NAME": "Robin",
            "CARELINE_AGENT__ID": agent_id,
            "CARELINE_SESSION__IDLE_LOCK_MINUTES": idle_minutes,
            "CARELINE_SESSION__PIN_FILE": str(pin or tmp_path / "no-pin"),
            "CARELINE_SESSION__SIGN_IN": sign_in,
        }
    )
    wiring = AppWiring(
        engine_argv=["true"],
        socket_path=tmp_path / "none.sock",
        store_path=tmp_path / "store.sqlite3",
    )
    return create_app(config, wiring, clock=lambda: NOW, start_phone=False)


async def maria_talking(app: CarelineApp, pilot: Pilot[int]) -> AgentScreen:
    """The phone online and Maria Lopez's call up (told as the engine would, no engine);
    the agent screen."""
    screen = app.agent_screen
    screen.post_message(PhoneStatusChanged(PhoneStatus(True, "online", "127.0.0.1:5070")))
    talking_call = call("c1", "Maria Lopez", "+12025550142", state="active", talked=5)
    screen.post_message(PhoneEvent(hello([talking_call])))
    await wait_for(pilot, lambda: screen.calls.current() is not None, what="a call up")
    return screen


async def audit_rows(
    path: Path, actions: tuple[str, ...] = ("lock", "unlock")
) -> list[tuple[str, str, str, str]]:
    """``(action, outcome, category, terminal)`` of the audit rows of ``actions``."""
    store = await Store.open(path)
    try:
        rows = await store.fetch_all(
            "SELECT action, outcome, category, terminal FROM audit "
            f"WHERE action IN ({', '.join('?' * len(actions))}) ORDER BY seq",
            actions,
        )
    finally:
        await store.close()
    return [(str(a), str(b), str(c), str(d)) for a, b, c, d in rows]


def test_pin_hash_and_rules(tmp_path: Path) -> None:
    stored = hash_pin(PIN)
    assert stored.startswith("scrypt$16384$8$1$")
    assert PIN not in stored
    assert hash_pin(PIN) != stored  # salted
    assert check_pin(PIN, stored)
    assert not check_pin("482914", stored)
    assert not check_pin(PIN, "garbage")
    for bad in ("12345", "abc", "short7!", " 1234567"):
        with pytest.raises(PinError):
            check_rules(bad)
    check_rules("123456")
    check_rules("correct horse")
    path = pin_file(tmp_path, "alice")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_pin_file(path) == ("alice", load_pin_file(path)[1])  # type: ignore[index]
    path.chmod(0o640)
    with pytest.raises(PinError, match="0600"):
        load_pin_file(path)
    assert load_pin_file(tmp_path / "missing") is None


def test_pin_set_cli(tmp_path: Path) -> None:
    config = tmp_path / "careline.yaml"
    target = tmp_path / "pin"
    config.write_text(f"agent:\n  id: alice\nsession:\n  pin_file: {target}\n")
    argv = [sys.executable, "-m", "console", "--config", str(config), "pin", "set", "--pin-stdin"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    short = subprocess.run(argv, input="1234\n", text=True, capture_output=True, env=env)
    assert short.returncode == 1
    assert "6 digits" in short.stderr
    assert not target.exists()
    done = subprocess.run(argv, input=f"{PIN}\n", text=True, capture_output=True, env=env)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    stored = load_pin_file(target)
    assert stored is not None
    assert stored[0] == "alice"
    assert check_pin(PIN, stored[1])


async def test_idle_lock_hides_phi_and_unlocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", SSH)
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        await PatientDirectory(store, "US").import_records(
            [*demo_patients(), *demo_care(NOW.date())]
        )
    finally:
        await store.close()
    app = make(tmp_path, idle_minutes="0.02", pin=pin_file(tmp_path))  # 1.2 s
    # Not idle until the card is verified: on a loaded machine the start, the screen pop
    # and the keys typed can take longer than the 1.2 s, and the lock would take them.
    app.session_lock.idle_seconds = 3600
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.agent_screen
        screen.post_message(PhoneStatusChanged(PhoneStatus(True, "online", "127.0.0.1:5070")))
        screen.post_message(
            PhoneEvent(hello([call("c1", "Maria Lopez", "+12025550142", state="active", talked=5)]))
        )
        card = screen.query_one(PatientCard)
        await wait_for(pilot, lambda: card.matches is not None, what="screen pop")
        await pilot.press("v", *"1961-03-09", "enter", *"lopez", "enter")
        await wait_for(pilot, lambda: card.context is not None, what="verified card")
        app.session_lock.idle_seconds = 1.2  # the session's timer checks every 0.3 s
        secrets = ("Maria", "Lopez", "2025550142", "1961")
        assert "Lopez" in screen_text(app)
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen), 5, "idle lock")
        text = screen_text(app)
        assert "careline — locked" in text
        assert "Robin" in text
        assert "calls in progress: 1" in text
        for secret in secrets:
            assert secret not in text
        await pilot.press(*"111111", "enter")
        await wait_for(pilot, lambda: "Wrong PIN (1)" in screen_text(app), what="refusal")
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*PIN, "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, LockScreen), what="unlock")
        assert "Lopez" in screen_text(app)
        assert len(screen.queue) == 1  # nothing happened to the call
    rows = await audit_rows(tmp_path / "store.sqlite3")
    terminal = "ssh:203.0.113.9:51022"
    assert rows[:3] == [
        ("lock", "ok", "session", terminal),
        ("unlock", "fail", "session", terminal),
        ("unlock", "pass", "session", terminal),
    ]


async def test_lock_goes_over_dialogs_and_without_pin_enter_unlocks(tmp_path: Path) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.agent_screen
        screen.post_message(PhoneEvent(hello(STATES["ringing"])))
        await wait_for(pilot, lambda: len(screen.queue) == 1, what="ringing")
        await pilot.press("q")  # a call is live: the confirm dialog
        await wait_for(pilot, lambda: app.screen is not screen, what="dialog")
        dialog = app.screen
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen), what="lock")
        text = screen_text(app)
        assert "No PIN set" in text
        assert "careline pin set" in text
        assert "Maria" not in text
        await pilot.press("ctrl+q", "ctrl+p")  # no quitting, no command palette while locked
        await pilot.pause(0.3)
        assert isinstance(app.screen, LockScreen)
        assert app.is_running
        late = ConfirmDialog("opened while locked")
        app.push_screen(late)  # e.g. a wrap-up form after the caller hangs up
        await wait_for(pilot, lambda: app.screen is late, what="late dialog")
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen), 3, "lock on top again")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is late, what="late dialog after unlock")
        late.dismiss(False)
        await wait_for(pilot, lambda: app.screen is dialog, what="first dialog, lock gone")
        assert len(screen.queue) == 1
    rows = await audit_rows(tmp_path / "store.sqlite3")
    assert [(a, o) for a, o, _, _ in rows] == [("lock", "ok"), ("unlock", "ok")]


async def test_a_wrap_up_that_waited_behind_the_lock_opens_once_unlocked(tmp_path: Path) -> None:
    """The caller hangs up while the screen is locked: the wrap-up (its title names the
    caller) waits, and opens over the agent screen when the agent unlocks. It used to
    open under the lock's dismissal, which then closed the wrap-up and crashed."""
    app = make(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await maria_talking(app, pilot)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen), what="lock")
        hang_up = event("call.ended", "c1", reason="completed", ended_by="caller")
        screen.post_message(PhoneEvent(hang_up))
        await wait_for(pilot, lambda: len(screen.queue) == 0, what="the caller hung up")
        await pilot.pause(0.3)
        assert isinstance(app.screen, LockScreen)
        await pilot.press("enter")  # no PIN set: Enter unlocks
        await wait_for(pilot, lambda: isinstance(app.screen, WrapUpDialog), 5, "wrap-up")
        await pilot.pause(0.5)
        assert app.is_running
        assert isinstance(app.screen, WrapUpDialog)
        assert not any(isinstance(s, LockScreen) for s in app.screen_stack)


async def test_call_goes_on_while_locked(tmp_path: Path) -> None:
    path = pin_file(tmp_path)
    app = make_app(tmp_path, f"session:\n  idle_lock_minutes: 0\n  pin_file: {path}\n")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen), what="sign-in")
        await pilot.press(*PIN, "enter")  # a PIN file: the agent signs in first
        await wait_for(pilot, lambda: app.screen is app.agent_screen, what="signed in")
        await wait_for(pilot, lambda: app.phone.status.online, 20, "engine")
        sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", sip_port(app))
        await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()), what="ringing")
        await pilot.press("a")
        await wait_for(pilot, lambda: talking(app), what="answered")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen), what="lock")
        await pilot.pause(2.0)
        assert talking(app)
        assert "calls in progress: 1" in screen_text(app)
        await pilot.press(*PIN, "enter")
        await wait_for(pilot, lambda: app.screen is app.agent_screen, what="unlock")
        assert talking(app)
        await pilot.press("h")
        assert sipp.wait() == 0, sipp.report()


def locked(state: str) -> Callable[[Pilot[int]], Any]:
    """A run_before hook: the console in ``state``, then ctrl+l."""

    async def run_before(pilot: Pilot[int]) -> None:
        app = pilot.app
        assert isinstance(app, CarelineApp)
        app.agent_screen.post_message(
            PhoneStatusChanged(PhoneStatus(True, "online", "127.0.0.1:5070"))
        )
        app.agent_screen.post_message(PhoneEvent(hello(STATES[state])))
        await pilot.pause(0.3)
        await pilot.press("ctrl+l")
        await pilot.pause(0.3)
        await pilot.wait_for_scheduled_animations()
        # Past one blink of the PIN box's cursor, as on a loaded machine: the picture
        # must not depend on when it is taken (tests/conftest.py holds cursors steady).
        await pilot.pause(0.6)

    return run_before


def test_lock_screen_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    app = make(tmp_path, pin=pin_file(tmp_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=locked("two_calls_one_held"))


def session_period(app: CarelineApp) -> float | None:
    """The period of the session's timer, None when it has none."""
    timer = app.session_lock._timer
    return None if timer is None else float(timer._interval)


async def test_an_idle_console_looks_at_its_idle_time_rarely_and_guards_a_lock_often(
    tmp_path: Path,
) -> None:
    """Four wake-ups a second cost an idle console a third of its CPU: the session checks
    its idle time at most every IDLE_CHECK_S, and its screen four times a second only
    while it is locked."""
    app = make(tmp_path, idle_minutes="15", pin=pin_file(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        assert session_period(app) == IDLE_CHECK_S
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen), what="lock")
        assert session_period(app) == GUARD_S
        await pilot.press(*PIN, "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, LockScreen), what="unlock")
        assert session_period(app) == IDLE_CHECK_S
    never = make(tmp_path / "never", idle_minutes="0")
    (tmp_path / "never").mkdir()
    async with never.run_test(size=(120, 36)):
        assert session_period(never) is None  # nothing to count, nothing to guard
