"""The lock screen: covers the whole console until the agent's PIN is entered.

It is a full :class:`Screen`, not a modal, so nothing of the screens below it
(caller names, numbers, the patient card) is rendered. It shows the agent's
name, how many calls are in progress (a count only) and a PIN field. Calls
are not touched: the engine goes on while the console is locked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Label

from console.core.audit import Outcome
from console.core.pin import check_pin

MAX_FAILURES = 5
"""Wrong PINs in a row before the pause."""
PAUSE_SECONDS = 30.0
"""How long the PIN field is disabled after MAX_FAILURES wrong PINs."""

Unlocked = Callable[[Outcome], Awaitable[None]]
"""Told of every unlock attempt (``pass``, ``fail``, or ``ok`` without a PIN)."""


class LockScreen(Screen[None]):
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
    LockScreen #message { color: $error; height: auto; }
    """

    def __init__(
        self,
        agent_name: str,
        pin_hash: str | None,
        problem: str,
        live_calls: Callable[[], int],
        on_attempt: Unlocked,
        is_locked: Callable[[], bool],
    ) -> None:
        super().__init__()
        self.agent_name = agent_name
        self.pin_hash = pin_hash
        self.problem = problem
        self.live_calls = live_calls
        self.on_attempt = on_attempt
        self.is_locked = is_locked
        self.failures = 0
        """Wrong PINs since the last pause."""

    def compose(self) -> ComposeResult:
        """Title, agent, call count, PIN field, message."""
        with Vertical():
            yield Label("careline — locked", id="title", markup=False)
            yield Label(f"Agent: {self.agent_name}", markup=False)
            yield Label(self._calls_text(), id="calls", markup=False)
            if self.pin_hash is None:
                yield Label(f"{self.problem}.", id="problem", markup=False)
                yield Label("Press Enter to unlock; run `careline pin set`.", markup=False)
            yield Input(
                placeholder="PIN" if self.pin_hash else "press Enter",
                password=True,
                id="pin",
            )
            yield Label("", id="message", markup=False)

    def on_mount(self) -> None:
        """Keep the call count current; focus the PIN field."""
        self.set_interval(1.0, self._refresh_calls)
        self.query_one("#pin", Input).focus()

    def on_screen_resume(self) -> None:
        """A lock left below a dialog that was unlocked meanwhile goes away."""
        if not self.is_locked():
            self.dismiss()

    def _calls_text(self) -> str:
        return f"calls in progress: {self.live_calls()}"

    def _refresh_calls(self) -> None:
        self.query_one("#calls", Label).update(self._calls_text())

    @on(Input.Submitted, "#pin")
    async def _submitted(self, event: Input.Submitted) -> None:
        field = event.input
        pin, field.value = event.value, ""
        if self.pin_hash is None:
            await self.on_attempt("ok")
            self.dismiss()
            return
        if not pin:
            return
        if await asyncio.to_thread(check_pin, pin, self.pin_hash):
            await self.on_attempt("pass")
            self.dismiss()
            return
        self.failures += 1
        await self.on_attempt("fail")
        message = self.query_one("#message", Label)
        if self.failures < MAX_FAILURES:
            message.update(f"Wrong PIN ({self.failures})")
            return
        message.update(f"Wrong PIN ({self.failures}): wait {PAUSE_SECONDS:.0f} s")
        field.disabled = True
        self.set_timer(PAUSE_SECONDS, self._resume)

    def _resume(self) -> None:
        self.failures = 0
        field = self.query_one("#pin", Input)
        field.disabled = False
        field.focus()
        self.query_one("#message", Label).update("")
