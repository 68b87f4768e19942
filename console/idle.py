"""The console's lock: after ``session.idle_lock_minutes`` without input, or on ctrl+l.

Any key or mouse event (:meth:`SessionLock.touch`) restarts the idle time.
Locking pushes a :class:`~console.screens.lock.LockScreen` over every screen
(dialogs included) and audits ``lock``; a dialog that opens while locked gets
another lock screen on top. Calls are never touched.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from console.core.audit import Outcome
from console.core.pin import PinError, load_pin_file, pin_path
from console.screens.lock import LockScreen

if TYPE_CHECKING:
    from console.app import CarelineApp

_BLOCKED_WHILE_LOCKED = frozenset({"quit_console", "command_palette"})


class SessionLock:
    """The idle timer and the locked state of one console."""

    def __init__(self, app: CarelineApp) -> None:
        self.app = app
        self.idle_seconds = app.config.session.idle_lock_minutes * 60
        """Idle time before the lock; 0 never locks by itself."""
        self.locked = False
        """True from the lock until a successful unlock."""
        self._last_input = time.monotonic()

    def start(self) -> None:
        """Check the idle time, and that the lock is on top, four times a second."""
        period = min(0.25, self.idle_seconds / 4) if self.idle_seconds else 0.25
        self.app.set_interval(period, self._tick)

    def allows(self, action: str) -> bool:
        """False for app actions that must wait for the unlock: quitting (it hangs
        up calls) and the command palette (it reaches the agent screen)."""
        return not (self.locked and action in _BLOCKED_WHILE_LOCKED)

    def touch(self) -> None:
        """Input arrived: restart the idle time."""
        self._last_input = time.monotonic()

    async def _tick(self) -> None:
        if self.locked:
            if not isinstance(self.app.screen, LockScreen):
                await self.app.push_screen(self._screen())
            return
        idle = time.monotonic() - self._last_input
        if self.idle_seconds and idle >= self.idle_seconds:
            await self.lock()

    async def lock(self) -> None:
        """Lock now (no-op when already locked) and audit it."""
        if self.locked:
            return
        self.locked = True
        await self.app.push_screen(self._screen())
        await self.app.audit_view(None, "lock", "ok", ("session",))

    def _screen(self) -> LockScreen:
        config = self.app.config
        pin_hash: str | None = None
        problem = "No PIN set"
        try:
            stored = load_pin_file(pin_path(config.session.pin_file))
        except PinError as exc:
            stored, problem = None, f"PIN file unusable ({exc})"
        if stored is not None:
            if stored[0] == config.agent.id:
                pin_hash = stored[1]
            else:
                problem = f"The PIN file is for {stored[0]}, not {config.agent.id}"
        return LockScreen(
            config.agent.name,
            pin_hash,
            problem,
            lambda: len(self.app.agent_screen.queue),
            self._attempt,
            lambda: self.locked,
        )

    async def _attempt(self, outcome: Outcome) -> None:
        if outcome != "fail":
            self.locked = False
            self.touch()
        await self.app.audit_view(None, "unlock", outcome, ("session",))
