# SPDX-License-Identifier: GPL-2.0-or-later
"""The sign-in screen: agent id and PIN before the console shows anything else.

It covers the console when it starts (``careline run``) and when a terminal
attaches to a running engine (``careline attach``), like the lock screen: a
full :class:`Screen`, so nothing of the agent screen below (caller names,
numbers, patients) is rendered. Calls ring and go on underneath; the screen
says only how many ("1 call ringing"), so the agent knows to hurry.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label

from console.core.pin import AgentPin, PinAttempts
from console.screens.lock import Attempted, PinScreen
from console.widgets.pin_entry import CallCount, PinEntry


def calls_text(ringing: int, live: int) -> str:
    """The calls as counts only: ``1 call ringing, 1 call in progress``."""

    def count(n: int, what: str) -> str:
        return f"{n} call{'' if n == 1 else 's'} {what}"

    parts = [count(ringing, "ringing")] if ringing else []
    if live > ringing:
        parts.append(count(live - ringing, "in progress"))
    return ", ".join(parts) or "No calls"


class SignInScreen(PinScreen):
    """Agent id (filled in from ``agent.id``) and PIN; Enter signs in.

    The agent id must be the configured one: the PIN file belongs to it. With
    no usable PIN for this agent (``pin.pin_hash`` None) every attempt is
    refused with the reason. Attempts are reported as ``pass``, ``fail`` (wrong
    PIN) or ``denied`` (wrong agent id, or no usable PIN).
    """

    def __init__(
        self,
        pin: AgentPin,
        attempts: PinAttempts,
        calls: Callable[[], tuple[int, int]],
        on_attempt: Attempted,
        is_signing_in: Callable[[], bool],
    ) -> None:
        super().__init__(on_attempt, is_signing_in, attempts)
        self.pin = pin
        self.calls = calls
        """``(ringing, live)`` call counts at the engine."""

    def compose(self) -> ComposeResult:
        """Title, call count, agent id, PIN field, message, hint."""
        with Vertical():
            yield Label("careline — sign in", id="title", markup=False)
            yield CallCount(lambda: calls_text(*self.calls()), id="calls")
            yield Label("Agent id", markup=False)
            yield Input(self.pin.agent_id, placeholder="agent id", id="agent-id")
            if self.pin.pin_hash is None:
                yield Label(
                    f"{self.pin.problem}; run `careline pin set`.", id="problem", markup=False
                )
            yield Label("PIN", markup=False)
            yield PinEntry(self.pin.pin_hash, self.attempts, refusal=self._refusal)
            yield Label("Enter signs in. Calls ring on meanwhile.", classes="hint", markup=False)

    @on(Input.Submitted, "#agent-id")
    def _agent_id_entered(self) -> None:
        self.query_one(PinEntry).focus_pin()

    def _refusal(self) -> str | None:
        if self.pin.pin_hash is None:
            return f"Cannot sign in: {self.pin.problem}"
        typed = self.query_one("#agent-id", Input).value.strip()
        if typed != self.pin.agent_id:
            return f"This console is set up for agent {self.pin.agent_id} (agent.id)"
        return None
