# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's session: the sign-in at start, then the lock after idle time or on ctrl+l.

Sign-in (``session.sign_in``, rule in :func:`~console.core.pin.sign_in_pin`):
when the console starts or a terminal attaches, a
:class:`~console.screens.sign_in.SignInScreen` covers it until the agent id and
PIN are right; every attempt is audited as ``sign_in``. Then, or at once when
there is no sign-in, :class:`~console.messages.SignedIn` goes to the agent
screen: once per console start.

Lock: any key or mouse event (:meth:`SessionLock.touch`) restarts the idle
time. While signing in or locked the session looks four times a second that its
screen is on top; otherwise only for the idle time, a few times per idle period
and at most every :data:`IDLE_CHECK_S` (an idle console must not wake up
four times a second for a lock minutes away).

Locking pushes a :class:`~console.screens.lock.LockScreen` over every
screen (dialogs included) and audits ``lock``; a dialog that opens while locked
(or before sign-in) gets another lock (or sign-in) screen on top. Calls are
never touched.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.message import Message
from textual.message_pump import MessagePump
from textual.timer import Timer

from console.core.audit import Action, AuditLog, Outcome
from console.core.calls import CallQueue
from console.core.config import CarelineConfig
from console.core.pin import AgentPin, PinAttempts, PinError, agent_pin, sign_in_pin
from console.messages import SignedIn, Unlocked
from console.services import Services

if TYPE_CHECKING:  # the screens load when first shown: most consoles never lock
    from textual.screen import Screen

    from console.screens.lock import LockScreen
    from console.screens.sign_in import SignInScreen

GUARD_S = 0.25
"""While signing in or locked: how often the session checks its screen is on top."""
IDLE_CHECK_S = 5.0
"""Otherwise: the longest time between two looks at the idle time (the lock comes at
most this late)."""

_BLOCKED_WHILE_LOCKED = frozenset({"quit_console", "command_palette"})
_PIN_ACTIONS: tuple[Action, ...] = ("sign_in", "unlock")


class SessionLock:
    """The sign-in, the idle timer and the locked state of one console."""

    def __init__(self, app: App[Any], config: CarelineConfig) -> None:
        self.app = app
        self.config = config
        self.idle_seconds = config.session.idle_lock_minutes * 60
        """Idle time before the lock; 0 never locks by itself."""
        self.locked = False
        """True from the lock until a successful unlock."""
        self.signing_in = False
        """True from the start until the agent signs in (when there is a sign-in)."""
        self.attempts = PinAttempts()
        """Wrong PINs in a row, at sign-in and at unlock alike."""
        self._sign_in_pin: AgentPin | None = None
        self._last_input = time.monotonic()
        self._services: Services | None = None
        self._queue = CallQueue()
        """The agent's live calls (the lock and sign-in screens count them)."""
        self._agent_screen: MessagePump | None = None
        self._timer: Timer | None = None
        self._cover: Screen[Any] | None = None
        """The sign-in or lock screen pushed last (it must stay on top)."""

    async def start(self, services: Services, queue: CallQueue, agent_screen: MessagePump) -> None:
        """Cover the console with the sign-in (or say the agent is signed in); then
        check the idle time, and that the sign-in or lock is on top, four times a second.

        ``agent_screen`` is told when the agent signs in or unlocks."""
        self._services, self._queue, self._agent_screen = services, queue, agent_screen
        config = self.config
        try:
            pin = sign_in_pin(config.session.sign_in, config.agent.id, config.session.pin_file)
        except PinError:
            # The launcher refuses to start like this; an app built some other way
            # still shows no patient data: a sign-in that says why it cannot succeed.
            pin = agent_pin(config.agent.id, config.session.pin_file)
        if pin is None:
            self._signed_in()
        else:
            self._sign_in_pin = pin
            self.signing_in = True
            self.app.clear_notifications()
            # The cover and its guard first: nothing that can fail comes between the agent
            # screen and the sign-in over it. The count of wrong PINs is shared with the
            # sign-in, so carried over after it is up, it holds from the first attempt.
            await self._push_cover(self._sign_in_screen(pin))
            self._retime()
            await self._carry_over_failures()
            return
        self._retime()

    def _retime(self) -> None:
        """(Re)start the session's timer at the period its state needs (none when it
        neither guards a screen nor counts idle time)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.locked or self.signing_in:
            period = GUARD_S
        elif self.idle_seconds:
            period = min(IDLE_CHECK_S, self.idle_seconds / 4)
        else:
            return
        self._timer = self.app.set_interval(period, self._tick, name="session")

    async def _carry_over_failures(self) -> None:
        # A new terminal (careline attach) must not start the count of wrong PINs afresh.
        services = self._started()
        log = AuditLog(services.store, clock=services.clock)
        failures, last = await log.failures_in_a_row(self.config.agent.id, _PIN_ACTIONS)
        if last is not None:
            ago = max(0.0, (services.clock() - last).total_seconds())
            self.attempts.carry_over(failures, ago, time.monotonic())

    def allows(self, action: str) -> bool:
        """False for app actions that must wait for the unlock: quitting (it hangs
        up calls) and the command palette (it reaches the agent screen). Before
        sign-in, quitting is allowed while no call is live."""
        if action not in _BLOCKED_WHILE_LOCKED or not (self.locked or self.signing_in):
            return True
        return not self.locked and action == "quit_console" and len(self._queue) == 0

    def touch(self) -> None:
        """Input arrived: restart the idle time."""
        self._last_input = time.monotonic()

    async def _tick(self) -> None:
        if self.signing_in and self._sign_in_pin is not None:
            if self.app.screen is not self._cover:
                await self._push_cover(self._sign_in_screen(self._sign_in_pin))
            return
        if self.locked:
            if self.app.screen is not self._cover:
                await self._push_cover(self._screen())
            return
        idle = time.monotonic() - self._last_input
        if self.idle_seconds and idle >= self.idle_seconds:
            # In the app's own turn, not in this timer's task: locking restarts the
            # timer, and stopping it would cancel the lock's audit row half-way.
            self.app.call_later(self.lock)

    async def lock(self) -> None:
        """Lock now (no-op when already locked or not signed in yet) and audit it."""
        if self.locked or self.signing_in:
            return
        self.locked = True
        self._retime()
        self.app.clear_notifications()  # a toast may name a caller
        await self._push_cover(self._screen())
        await self._started().audit(None, "lock", "ok", ("session",))

    async def _push_cover(self, screen: Screen[Any]) -> None:
        self._cover = screen
        await self.app.push_screen(screen)

    def _screen(self) -> LockScreen:
        from console.screens.lock import LockScreen

        config = self.config
        pin = agent_pin(config.agent.id, config.session.pin_file)
        return LockScreen(
            config.agent.name,
            pin.pin_hash,
            pin.problem,
            lambda: len(self._queue),
            self._attempt,
            lambda: self.locked,
            self.attempts,
        )

    def _sign_in_screen(self, pin: AgentPin) -> SignInScreen:
        from console.screens.sign_in import SignInScreen

        queue = self._queue
        return SignInScreen(
            pin,
            self.attempts,
            lambda: (len(queue.ringing()), len(queue)),
            self._sign_in_attempt,
            lambda: self.signing_in,
        )

    async def _attempt(self, outcome: Outcome) -> None:
        if outcome != "fail":
            self.locked = False
            self._retime()
            self.touch()
        await self._started().audit(None, "unlock", outcome, ("session",))
        if outcome != "fail":
            # After the audit: the lock screen is dismissed meanwhile, so a waiting
            # wrap-up opens over the agent screen, not under the lock's dismissal.
            self._tell(Unlocked())

    async def _sign_in_attempt(self, outcome: Outcome) -> None:
        await self._started().audit(None, "sign_in", outcome, ("session",))
        if outcome == "pass":
            self.signing_in = False
            self._retime()
            self.touch()
            self._signed_in()

    def _signed_in(self) -> None:
        self._tell(SignedIn(self.config.agent.id))

    def _tell(self, message: Message) -> None:
        if self._agent_screen is not None:
            self._agent_screen.post_message(message)

    def _started(self) -> Services:
        assert self._services is not None, "session used before start()"
        return self._services
