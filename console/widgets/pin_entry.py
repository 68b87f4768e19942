# SPDX-License-Identifier: GPL-2.0-or-later
"""The masked PIN field of the sign-in and lock screens, and their call count.

:class:`PinEntry` checks the PIN off the UI thread (scrypt is slow on
purpose), says what went wrong, pauses after repeated wrong PINs (the rule is
:class:`~console.core.pin.PinAttempts`) and tells its screen the outcome with
:class:`PinEntry.Checked`. The PIN never leaves the widget: the field is
cleared as soon as it is submitted.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label

from console.core.audit import Outcome
from console.core.pin import PinAttempts, check_pin


def _no_refusal() -> str | None:
    return None


class PinEntry(Vertical):
    """A masked PIN field and the line under it that says why a PIN was refused.

    With ``pin_hash`` None there is nothing to check: Enter reports ``ok``.
    ``refusal`` is asked first on every Enter; a text it returns is shown and
    reported as ``denied`` without looking at the PIN.
    """

    DEFAULT_CSS = """
    PinEntry { height: auto; }
    PinEntry #message { color: $error; height: auto; width: 100%; }
    """

    class Checked(Message):
        """A PIN was entered: ``pass`` (right), ``fail`` (wrong), ``denied``
        (refused before checking) or ``ok`` (no PIN to check)."""

        def __init__(self, outcome: Outcome) -> None:
            super().__init__()
            self.outcome: Outcome = outcome

    def __init__(
        self,
        pin_hash: str | None,
        attempts: PinAttempts,
        *,
        placeholder: str = "PIN",
        refusal: Callable[[], str | None] = _no_refusal,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.pin_hash = pin_hash
        self.attempts = attempts
        """Wrong PINs in a row, shared with the console's other PIN screens."""
        self.placeholder = placeholder
        self.refusal = refusal

    def compose(self) -> ComposeResult:
        """The field and the message line."""
        yield Input(placeholder=self.placeholder, password=True, id="pin")
        yield Label("", id="message", markup=False)

    def on_mount(self) -> None:
        """Show a pause earned on another screen; count it down every second."""
        self.set_interval(1.0, self._show_pause)
        self._show_pause()

    def focus_pin(self) -> None:
        """Put the cursor in the PIN field."""
        self.query_one("#pin", Input).focus()

    def say(self, text: str) -> None:
        """Show ``text`` (plain text, never markup) under the field."""
        self.query_one("#message", Label).update(text)

    @on(Input.Submitted, "#pin")
    async def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        pin, event.input.value = event.value, ""
        if self.attempts.wait(time.monotonic()):
            return  # paused after wrong PINs: nothing counts, not even a refusal
        refused = self.refusal()
        if refused is not None:
            self.say(refused)
            self.post_message(self.Checked("denied"))
            return
        if self.pin_hash is None:
            self.post_message(self.Checked("ok"))
            return
        if not pin:
            return
        if await asyncio.to_thread(check_pin, pin, self.pin_hash):
            self.attempts.passed()
            self.say("")
            self.post_message(self.Checked("pass"))
            return
        if self.attempts.failed(time.monotonic()):
            self._show_pause()
        else:
            self.say(f"Wrong PIN ({self.attempts.failures})")
        self.post_message(self.Checked("fail"))

    def _show_pause(self) -> None:
        field = self.query_one("#pin", Input)
        left = self.attempts.wait(time.monotonic())
        if left:
            field.disabled = True
            self.say(f"Wrong PIN ({self.attempts.failures} in a row): wait {math.ceil(left)} s")
        elif field.disabled:
            field.disabled = False
            field.focus()
            self.say("")


class CallCount(Label):
    """How many calls ring or go on, as a count only (no caller), kept current."""

    def __init__(self, text: Callable[[], str], *, id: str | None = None) -> None:
        super().__init__(text(), id=id, markup=False)
        self.describe = text
        """Says the current count, e.g. "1 call ringing"."""

    def on_mount(self) -> None:
        """Refresh twice a second: a ringing call should show at once."""
        self.set_interval(0.5, self._refresh)

    def _refresh(self) -> None:
        self.update(self.describe())
