# SPDX-License-Identifier: GPL-2.0-or-later
"""The lock screen: covers the whole console until the agent's PIN is entered.

It is a :class:`PinScreen` (shared with the sign-in screen): a full
:class:`Screen`, not a modal, so nothing of the screens below it (caller
names, numbers, the patient card) is rendered. It shows the agent's
name, how many calls are in progress (a count only) and a PIN field. Calls
are not touched: the engine goes on while the console is locked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from console.core.audit import Outcome
from console.core.pin import PinAttempts
from console.dialogs.base import ClosesOnce
from console.widgets.pin_entry import CallCount, PinEntry

Attempted = Callable[[Outcome], Awaitable[None]]
"""Told of every PIN attempt on a :class:`PinScreen`, to audit it."""


class PinScreen(ClosesOnce[None]):
    """A full screen that covers the console until a PIN opens it (sign-in, lock).

    A full :class:`Screen`, not a modal, so nothing of the screens below is
    rendered. A copy left below a dialog (one opened meanwhile gets another
    copy on top) goes away as soon as it shows again and is no longer needed.
    """

    OPENS: ClassVar[frozenset[Outcome]] = frozenset({"pass"})
    """The :class:`PinEntry.Checked` outcomes that dismiss the screen."""

    def __init__(
        self, on_attempt: Attempted, still_needed: Callable[[], bool], attempts: PinAttempts
    ) -> None:
        super().__init__()
        self.on_attempt = on_attempt
        self.still_needed = still_needed
        self.attempts = attempts
        """Wrong PINs in a row (kept by the session, so a new screen goes on counting)."""

    def on_mount(self) -> None:
        """Start in the PIN field."""
        self.query_one(PinEntry).focus_pin()

    def on_screen_resume(self) -> None:
        """A copy left below a dialog goes away once the PIN was entered on another."""
        if not self.still_needed():
            self.dismiss()

    async def on_pin_entry_checked(self, event: PinEntry.Checked) -> None:
        """Audit the attempt; dismiss on the outcomes in :attr:`OPENS`."""
        if not self.is_active:
            return  # an Enter that came with the one that opened it: no attempt
        await self.on_attempt(event.outcome)
        if event.outcome in self.OPENS:
            self.dismiss()


class LockScreen(PinScreen):
    """Everything hidden; Enter with the right PIN unlocks.

    Without a PIN (``pin_hash`` None, ``problem`` says why) Enter unlocks, so
    the console stays usable before ``careline pin set``; that unlock is
    audited with outcome ``ok`` rather than ``pass``.
    """

    DEFAULT_CSS = """
    LockScreen { align: center middle; }
    LockScreen > Vertical {
        width: 60; height: auto; border: thick $accent; background: $surface; padding: 0 1;
    }
    LockScreen Label { width: 100%; }
    LockScreen #title { text-style: bold; }
    """

    OPENS: ClassVar[frozenset[Outcome]] = frozenset({"pass", "ok"})

    def __init__(
        self,
        agent_name: str,
        pin_hash: str | None,
        problem: str,
        live_calls: Callable[[], int],
        on_attempt: Attempted,
        is_locked: Callable[[], bool],
        attempts: PinAttempts,
    ) -> None:
        super().__init__(on_attempt, is_locked, attempts)
        self.agent_name = agent_name
        self.pin_hash = pin_hash
        self.problem = problem
        self.live_calls = live_calls

    def compose(self) -> ComposeResult:
        """Title, agent, call count, PIN field, message."""
        with Vertical():
            yield Label("careline — locked", id="title", markup=False)
            yield Label(f"Agent: {self.agent_name}", markup=False)
            yield CallCount(lambda: f"calls in progress: {self.live_calls()}", id="calls")
            if self.pin_hash is None:
                yield Label(f"{self.problem}.", id="problem", markup=False)
                yield Label("Press Enter to unlock; run `careline pin set`.", markup=False)
            yield PinEntry(
                self.pin_hash,
                self.attempts,
                placeholder="PIN" if self.pin_hash else "press Enter",
            )
