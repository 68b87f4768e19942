# SPDX-License-Identifier: GPL-2.0-or-later
"""Sign-in at start: agent id + PIN before any patient data, calls ring on, attempts audited."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input

from console import cli, launch
from console.app import CarelineApp
from console.core import pin as pin_rules
from console.core.audit import COLUMNS, GENESIS, AuditLog, row_hash
from console.core.pin import (
    AgentPin,
    PinAttempts,
    PinError,
    default_pin_file,
    hash_pin,
    save_pin_file,
    sign_in_pin,
)
from console.core.store import Store, migrations
from console.dialogs.confirm import ConfirmDialog
from console.messages import PhoneEvent, SignedIn
from console.screens.lock import LockScreen
from console.screens.sign_in import SignInScreen, calls_text
from tests.console_app import screen_text, wait_for
from tests.engine_events import STATES, hello
from tests.support import Sipp, free_udp_port, wait_udp_bound
from tests.test_audit import tamper
from tests.test_demo_tmux import processes_mentioning
from tests.test_lock import PIN, SSH, audit_rows, make, pin_file
from tests.tmux import TmuxSession

pytestmark = pytest.mark.usefixtures("utc_local_time")

WRONG = "739164"
TERMINAL = "ssh:203.0.113.9:51022"
SECRETS = ("Maria", "Lopez", "2025550142", "+1")
"""What the ringing call of STATES["ringing"] would put on screen."""


def signed_in_hook(reached: list[str]) -> Callable[[Message], None]:
    """A message hook that notes every SignedIn (it goes to the agent screen only and
    does not bubble); once one is noted, the agent screen must have taken it."""

    def hook(message: Message) -> None:
        if isinstance(message, SignedIn):
            reached.append(message.agent_id)

    return hook


def agent_screen_signed_in(app: CarelineApp, reached: list[str]) -> bool:
    """SignedIn was sent once and the agent screen acted on it."""
    return reached == ["agent"] and app.agent_screen.audio.signed_in


async def sign_in_rows(path: Path) -> list[tuple[str, str, str, str]]:
    return await audit_rows(path, ("sign_in",))


def ring(app: CarelineApp) -> None:
    """Maria Lopez calls in (the engine's call.incoming, which also raises a toast)."""
    app.agent_screen.post_message(PhoneEvent(hello([])))
    incoming = {"type": "event", "event": "call.incoming", "seq": 1, "time": hello([])["time"]}
    app.agent_screen.post_message(PhoneEvent({**incoming, "call": STATES["ringing"][0]}))


def shows(app: CarelineApp, text: str) -> Callable[[], bool]:
    """A predicate: ``text`` is on screen."""
    return lambda: text in screen_text(app)


def files_holding(root: Path, secret: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``secret``."""
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_wrong_pins_earn_a_growing_pause() -> None:
    attempts = PinAttempts()
    assert [attempts.failed(100.0) for _ in range(4)] == [0.0] * 4
    assert attempts.wait(100.0) == 0.0
    assert attempts.failed(100.0) == 30.0  # the 5th
    assert attempts.wait(110.0) == 20.0
    assert attempts.failed(130.0) == 60.0
    assert attempts.failed(190.0) == 120.0
    for _ in range(30):
        longest = attempts.failed(1000.0)
    assert longest == 900.0  # 15 minutes at most
    attempts.passed()
    assert (attempts.failures, attempts.wait(1000.0)) == (0, 0.0)


def test_when_the_console_asks_to_sign_in(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    assert sign_in_pin("auto", "alice", missing) is None  # fresh install: starts as before
    with pytest.raises(PinError, match=r"required and no PIN is set for alice; run: careline pin"):
        sign_in_pin("required", "alice", missing)
    path = pin_file(tmp_path, "alice")
    for mode in ("auto", "required"):
        found = sign_in_pin(mode, "alice", path)
        assert found is not None
        assert (found.agent_id, found.problem) == ("alice", "")
        assert found.pin_hash is not None
        assert pin_rules.check_pin(PIN, found.pin_hash)
        with pytest.raises(PinError, match="PIN file is for alice, not bob; run: careline pin set"):
            sign_in_pin(mode, "bob", path)
    assert sign_in_pin("off", "bob", path) is None
    path.chmod(0o644)
    with pytest.raises(PinError, match="unusable"):
        sign_in_pin("auto", "alice", path)
    assert calls_text(0, 0) == "No calls"
    assert calls_text(1, 1) == "1 call ringing"
    assert calls_text(2, 3) == "2 calls ringing, 1 call in progress"
    assert calls_text(0, 2) == "2 calls in progress"


async def test_nothing_of_a_ringing_call_shows_before_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", SSH)
    app = make(tmp_path, pin=pin_file(tmp_path), sign_in="auto")
    reached: list[str] = []
    hook = signed_in_hook(reached)
    async with app.run_test(size=(120, 36), message_hook=hook, notifications=True) as pilot:
        assert isinstance(app.screen, SignInScreen)
        assert app.screen.query_one("#agent-id", Input).value == "agent"  # agent.id
        assert "careline — sign in" in screen_text(app)
        ring(app)
        await wait_for(pilot, lambda: "1 call ringing" in screen_text(app), what="call count")
        await pilot.pause(0.5)  # the agent screen's "Ringing: <caller>" toast comes a frame later
        text = screen_text(app)
        for secret in SECRETS:
            assert secret not in text
        await pilot.press("ctrl+p", "ctrl+l", "ctrl+q")  # no palette, lock or quit yet
        await pilot.pause(0.3)
        assert isinstance(app.screen, SignInScreen)
        assert app.is_running
        assert reached == []
        await pilot.press(*PIN, "enter")
        await wait_for(pilot, lambda: app.screen is app.agent_screen, what="signed in")
        assert "Maria Lopez" in screen_text(app)  # the call rang on meanwhile
        assert len(app.agent_screen.queue) == 1
        await wait_for(
            pilot, lambda: agent_screen_signed_in(app, reached), what="SignedIn at the screen"
        )
        await pilot.pause(0.3)
        assert reached == ["agent"]  # once
    assert await sign_in_rows(tmp_path / "store.sqlite3") == [
        ("sign_in", "pass", "session", TERMINAL)
    ]


def test_sign_in_screen_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    app = make(tmp_path, pin=pin_file(tmp_path), sign_in="auto")

    async def run_before(pilot: Pilot[int]) -> None:
        ring(app)
        await pilot.pause(0.6)
        await pilot.press(*WRONG, "enter")
        await wait_for(pilot, shows(app, "Wrong PIN (1)"))
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_a_call_ringing_under_the_lock_shows_no_caller_either(tmp_path: Path) -> None:
    app = make(tmp_path, pin=pin_file(tmp_path), sign_in="off")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen), what="lock")
        ring(app)
        await wait_for(pilot, lambda: "calls in progress: 1" in screen_text(app), what="count")
        await pilot.pause(0.5)
        text = screen_text(app)
        for secret in SECRETS:
            assert secret not in text


async def enter_wrong_pins(pilot: Pilot[int], app: CarelineApp, count: int) -> None:
    """Type ``count`` wrong PINs, each refused on screen before the next."""
    for n in range(1, count + 1):
        await pilot.press(*WRONG, "enter")
        await wait_for(pilot, shows(app, f"Wrong PIN ({n}"), what=f"refusal {n}")


async def test_wrong_pins_are_refused_paused_and_audited_without_the_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", SSH)
    app = make(tmp_path, pin=pin_file(tmp_path), sign_in="required")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, SignInScreen)
        field = screen.query_one("#pin", Input)
        await enter_wrong_pins(pilot, app, 4)
        assert not field.disabled
        await pilot.press(*WRONG, "enter")
        await wait_for(pilot, lambda: "Wrong PIN (5 in a row): wait 30 s" in screen_text(app))
        assert field.disabled
        await pilot.press(*PIN, "enter")  # not taken during the pause
        await pilot.pause(0.3)
        assert app.screen is screen
        app.session_lock.attempts.paused_until = 0.0  # the 30 s have passed
        await wait_for(pilot, lambda: not field.disabled, 3, "pause over")
        await pilot.press(*WRONG, "enter")
        await wait_for(pilot, lambda: "Wrong PIN (6 in a row): wait 60 s" in screen_text(app))
        app.session_lock.attempts.paused_until = 0.0
        await wait_for(pilot, lambda: not field.disabled, 3, "pause over")
        await pilot.press(*PIN, "enter")
        await wait_for(pilot, lambda: app.screen is app.agent_screen, what="signed in")
    rows = await sign_in_rows(tmp_path / "store.sqlite3")
    assert rows == [
        *[("sign_in", "fail", "session", TERMINAL)] * 6,
        ("sign_in", "pass", "session", TERMINAL),
    ]
    for secret in (PIN, WRONG):
        assert files_holding(tmp_path, secret) == []


async def test_a_new_terminal_goes_on_with_the_pause(tmp_path: Path) -> None:
    """Wrong PINs counted in the audit log hold across consoles (careline attach)."""
    first = make(tmp_path, pin=pin_file(tmp_path), sign_in="auto")
    async with first.run_test(size=(120, 36)) as pilot:
        await enter_wrong_pins(pilot, first, 5)
    second = make(tmp_path, pin=pin_file(tmp_path), sign_in="auto")  # the same store
    async with second.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, shows(second, "Wrong PIN (5 in a row): wait 30 s"), what="pause")
        assert second.screen.query_one("#pin", Input).disabled
        second.session_lock.attempts.paused_until = 0.0
        await pilot.pause(1.2)
        await pilot.press(*PIN, "enter")
        await wait_for(pilot, lambda: second.screen is second.agent_screen, what="signed in")
    third = make(tmp_path, pin=pin_file(tmp_path), sign_in="auto")
    async with third.run_test(size=(120, 36)):
        assert third.session_lock.attempts.failures == 0  # the right PIN ended the run


async def test_a_wrong_agent_id_does_not_reset_the_count_of_wrong_pins(tmp_path: Path) -> None:
    first = make(tmp_path, pin=pin_file(tmp_path), sign_in="auto")
    async with first.run_test(size=(120, 36)) as pilot:
        await enter_wrong_pins(pilot, first, 4)
        first.screen.query_one("#agent-id", Input).value = "somebody-else"
        await pilot.press(*WRONG, "enter")
        await wait_for(pilot, shows(first, "set up for agent"), what="denied")
    second = make(tmp_path, pin=pin_file(tmp_path), sign_in="auto")  # the same store
    async with second.run_test(size=(120, 36)):
        assert second.session_lock.attempts.failures == 4


async def test_another_agent_id_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_CONNECTION", SSH)
    app = make(tmp_path, pin=pin_file(tmp_path, "alice"), sign_in="auto", agent_id="alice")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, SignInScreen)
        screen.query_one("#agent-id", Input).value = "bob"
        await pilot.press(*PIN, "enter")
        await wait_for(pilot, lambda: "set up for agent alice" in screen_text(app), what="refusal")
        assert app.screen is screen
        screen.query_one("#agent-id", Input).value = "alice"
        await pilot.press(*PIN, "enter")
        await wait_for(pilot, lambda: app.screen is app.agent_screen, what="signed in")
    assert [outcome for _, outcome, _, _ in await sign_in_rows(tmp_path / "store.sqlite3")] == [
        "denied",
        "pass",
    ]


async def test_a_pin_file_of_another_agent_cannot_sign_in(tmp_path: Path) -> None:
    """The launcher refuses to start like this (below); an app built anyway stays covered."""
    app = make(tmp_path, pin=pin_file(tmp_path, "bob"), sign_in="auto", agent_id="alice")
    async with app.run_test(size=(120, 36)) as pilot:
        assert isinstance(app.screen, SignInScreen)
        assert "The PIN file is for bob, not alice; run `careline pin set`." in screen_text(app)
        await pilot.press(*PIN, "enter")
        await wait_for(pilot, lambda: "Cannot sign in" in screen_text(app), what="refusal")
        assert isinstance(app.screen, SignInScreen)
        await pilot.press("ctrl+q")  # no call is live: leaving is allowed
        await wait_for(pilot, lambda: app.return_value == 0, what="quit")
    assert [outcome for _, outcome, _, _ in await sign_in_rows(tmp_path / "store.sqlite3")] == [
        "denied"
    ]


@pytest.mark.parametrize(
    ("sign_in", "pin_for", "message"),
    [
        ("required", None, "session.sign_in is required and no PIN is set for alice"),
        ("auto", "bob", "cannot sign in: The PIN file is for bob, not alice"),
    ],
)
@pytest.mark.parametrize("command", ["run", "attach"])
def test_without_a_usable_pin_the_console_does_not_start(
    tmp_path: Path,
    isolated_home: Path,
    command: str,
    sign_in: str,
    pin_for: str | None,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = pin_file(tmp_path, pin_for) if pin_for else tmp_path / "no-pin"
    config = tmp_path / "careline.yaml"
    config.write_text(
        f"agent:\n  id: alice\nsession:\n  sign_in: {sign_in}\n  pin_file: {target}\n"
    )

    def started(*_args: object, **_kwargs: object) -> CarelineApp:
        raise AssertionError("the console started")

    monkeypatch.setattr(launch, "create_app", started)
    assert cli.main(["--config", str(config), command]) == 1
    assert capsys.readouterr().err == f"careline: {message}; run: careline pin set\n"
    assert not list(isolated_home.rglob("*.sqlite3"))  # nothing was started or created


@pytest.mark.parametrize(("sign_in", "with_pin"), [("auto", False), ("off", True)])
async def test_without_sign_in_the_console_starts_at_once(
    tmp_path: Path, sign_in: str, with_pin: bool
) -> None:
    app = make(tmp_path, pin=pin_file(tmp_path) if with_pin else None, sign_in=sign_in)
    reached: list[str] = []
    async with app.run_test(size=(120, 36), message_hook=signed_in_hook(reached)) as pilot:
        assert app.screen is app.agent_screen
        await wait_for(pilot, lambda: agent_screen_signed_in(app, reached), what="SignedIn")
        await pilot.pause(0.3)
        assert reached == ["agent"]
    assert await sign_in_rows(tmp_path / "store.sqlite3") == []


async def test_a_dialog_opened_before_sign_in_is_covered_again(tmp_path: Path) -> None:
    # Idle lock after 1.2 s: long enough for a loaded machine to see the dialog between
    # the sign-in and the next lock (at 0.3 s, CI's poll came after the lock).
    app = make(tmp_path, pin=pin_file(tmp_path), sign_in="auto", idle_minutes="0.02")
    async with app.run_test(size=(120, 36)) as pilot:
        first = app.screen
        assert isinstance(first, SignInScreen)
        late = ConfirmDialog("a wrap-up form of a call that ended")
        app.push_screen(late)
        await wait_for(pilot, lambda: app.screen is late, what="dialog")
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen), 3, "sign-in on top")
        assert app.screen is not first
        await pilot.pause(1.5)  # past the idle time: no lock screen over the sign-in
        assert isinstance(app.screen, SignInScreen)
        await pilot.press(*PIN, "enter")
        await wait_for(pilot, lambda: app.screen is late, what="the dialog after sign-in")
        late.dismiss(False)
        await wait_for(pilot, lambda: first not in app.screen_stack, what="first sign-in gone")
        assert not any(isinstance(s, SignInScreen) for s in app.screen_stack)
        # Signed in, the idle lock works again.
        await wait_for(pilot, lambda: app.session_lock.locked, 5, "idle lock after sign-in")


async def test_a_store_from_before_sign_in_upgrades_and_keeps_its_chain(tmp_path: Path) -> None:
    """Opening a store at migration 9 runs 0010: the old rows (and hashes) stay, the
    chain verifies, 'sign_in' is now allowed and the log stays append-only."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        for _, migration in migrations()[:9]:
            db.executescript(migration.read_text(encoding="utf-8"))
        prev = GENESIS
        for seq, action in enumerate(("lock", "unlock", "view"), start=1):
            fields: dict[str, object] = dict.fromkeys(COLUMNS[:8], "x")
            fields.update(seq=seq, patient_id=None, action=action, outcome="ok")
            digest = row_hash(prev, fields)
            db.execute(
                f"INSERT INTO audit ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * 10)})",
                (*fields.values(), prev, digest),
            )
            prev = digest
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            db.execute(
                "INSERT INTO audit SELECT 4, at, agent_id, patient_id, category, "
                "'sign_in', outcome, terminal, hash, hash FROM audit WHERE seq = 3"
            )
        db.execute("PRAGMA user_version = 9")
    store = await Store.open(path)
    try:
        log = AuditLog(store)
        await log.append("agent-1", "sign_in", "session", "fail", terminal=TERMINAL)
        result = await log.verify()
        assert (result.ok, result.checked) == (True, 4)
        rows = await store.fetch_all("SELECT action FROM audit ORDER BY seq")
        assert [row[0] for row in rows] == ["lock", "unlock", "view", "sign_in"]
    finally:
        await store.close()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        tamper(path, "UPDATE audit SET outcome = 'pass' WHERE seq = 4")


def test_agent_pin_names_the_problem(tmp_path: Path) -> None:
    assert pin_rules.agent_pin("alice", tmp_path / "none") == AgentPin("alice", None, "No PIN set")


def test_sign_in_in_a_real_terminal_while_a_call_rings(tmp_path: Path, isolated_home: Path) -> None:
    """`careline run` with a PIN: the sign-in covers the console while a real call
    rings at the engine, then the agent signs in and takes it."""
    save_pin_file(default_pin_file(), "agent", hash_pin(PIN))
    port = free_udp_port()
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith(("XDG_", "HOME", "PATH"))},
        "TERM": "xterm-256color",
        "CARELINE_SIP__LISTEN": f"127.0.0.1:{port}",
        "CARELINE_UI__BELL": "false",
        "CARELINE_WRAP_UP__MODE": "off",
    }
    with ExitStack() as stop:  # whatever was started is stopped, last first

        @stop.callback
        def stop_engine() -> None:
            for line in processes_mentioning(str(isolated_home)):
                os.kill(int(line.split(":", 1)[0]), signal.SIGTERM)

        term = TmuxSession([sys.executable, "-m", "console", "run"], env)
        stop.callback(term.kill)
        screen = term.wait_for("careline — sign in", 30)
        # The sign-in's first write can land over the startup screen (its pane titles, no
        # data) just before its full frame: the agent screen's own text is what must not show.
        assert "No call in progress." not in screen
        assert "Notes (n to type" not in screen
        # The engine's socket comes up before its SIP port: an INVITE sent in
        # between is refused (ICMP) and SIPp gives up, so wait for the port itself.
        wait_udp_bound(port)
        sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", port)
        stop.callback(sipp.stop)
        screen = term.wait_for("1 call ringing", 15)
        assert "Test Patient" not in screen
        assert "+1" not in screen
        term.keys("-l", WRONG)
        term.keys("Enter")
        term.wait_for("Wrong PIN (1)", 10)
        term.keys("-l", PIN)
        term.keys("Enter")
        # The agent screen's pane titles show around the sign-in: wait for it to go (on a
        # loaded machine the titles were on screen before the PIN was checked).
        term.wait_gone("careline — sign in", 10)
        term.wait_for("Call queue", 10)
        term.wait_for("ringing", 10)
        term.keys("a")
        term.wait_for("talking", 10)
        term.keys("h")
        assert sipp.wait() == 0, sipp.report()
        term.wait_for("No call in progress.", 10)
        term.keys("q")
        term.wait_for("CARELINE-EXIT 0", 20)
