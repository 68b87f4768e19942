# SPDX-License-Identifier: GPL-2.0-or-later
"""The sign-in fails closed: nothing read from the store at start can uncover the console.

A real ``careline run`` in tmux with a PIN, on a store whose audit log carries a forged
``sign_in`` row (someone with file access appended it: the log is append-only, not
unwritable) with a time the console cannot read. Carrying the count of wrong PINs over
from the log then fails; the console must still be covered by the sign-in, or not start
— never show the agent screen to someone not signed in.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.core.audit import COLUMNS, AuditLog
from console.core.pin import default_pin_file, hash_pin, save_pin_file
from console.core.store import Store
from tests.test_lock import PIN
from tests.tmux import TmuxSession
from tests.tmux_console import TerminalConsole, stop_processes_of

AGENT_ONLY = ("No call in progress.", "Notes (n to type")
"""Text of the agent screen (the startup screen has its pane titles, not these)."""


def forge_sign_in_failure(store: Path, at: str) -> None:
    """Append a ``sign_in`` failure for ``agent`` at ``at``, as a sqlite3 shell would."""
    with sqlite3.connect(store) as db:
        (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM audit").fetchone()
        fields: dict[str, object] = dict.fromkeys(COLUMNS, "x")
        fields.update(
            seq=seq, at=at, agent_id="agent", patient_id=None, action="sign_in", outcome="fail"
        )
        db.execute(
            f"INSERT INTO audit ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            tuple(fields.values()),
        )


async def created(path: Path) -> None:
    """A new, empty store at ``path`` (its schema, an empty audit log)."""
    store = await Store.open(path)
    await store.close()


@pytest.mark.parametrize("at", ["not a time", "2026-12-06T10:00:00"])  # garbage; no zone
def test_a_forged_audit_row_never_uncovers_the_console(
    tmp_path: Path, isolated_home: Path, at: str
) -> None:
    save_pin_file(default_pin_file(), "agent", hash_pin(PIN))
    console = TerminalConsole.make(tmp_path, "off")
    console.store.parent.mkdir(parents=True)
    asyncio.run(created(console.store))
    forge_sign_in_failure(console.store, at)
    term = TmuxSession(console.command("run"), console.env)
    try:
        deadline = time.monotonic() + 10  # the sign-in shows in 1-2 s: watched till then
        while time.monotonic() < deadline:
            screen = term.screen()
            assert not any(text in screen for text in AGENT_ONLY), screen
            if "CARELINE-EXIT" in screen:
                break  # it did not start: closed, as a failure must be
            time.sleep(0.02)
        screen = term.screen()
        covered = "careline — sign in" in screen and "careline · starting" not in screen
        assert covered or "CARELINE-EXIT 1" in screen, screen
    finally:
        term.kill()
        stop_processes_of(isolated_home)


@pytest.mark.parametrize("at", ["not a time", "2026-12-06T10:00:00"])
async def test_a_failure_whose_time_cannot_be_read_counts_as_just_now(
    store: Store, at: str
) -> None:
    """The pause after wrong PINs is the longest, never skipped, for such a row."""
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    await store.close()
    forge_sign_in_failure(store.path, at)
    reopened = await Store.open(store.path)
    try:
        log = AuditLog(reopened, clock=lambda: now)
        assert await log.failures_in_a_row("agent", ("sign_in", "unlock")) == (1, now)
    finally:
        await reopened.close()
