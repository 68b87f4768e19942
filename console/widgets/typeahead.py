# SPDX-License-Identifier: GPL-2.0-or-later
"""Keys typed with the key that opens a dialog or focuses a text box go there, in order.

Over SSH (or from a fast typist) a key and the words after it arrive in one read of the
terminal. Textual hands them all to the widget that has the focus then (the call queue),
which leaves them unhandled, so each comes back up to the App's key bindings in the
order typed: the first opens the picker or focuses the notes, and the rest were taken
as more key bindings ("n" then "hold on" hung up and held) or dropped under a dialog
("p" then a number left the box empty). Here they are the new target's: a key stamped
before the target took over, still on its way up unhandled, came with the key that
made it take over (they are handled in the order typed, so it came after it).

A box (or a dialog) gets the printable keys typed ahead of it at once, in order, when
the key that focused (or opened) it is handled: had they gone there only as each came
back up, the terminal's next read (going straight to the box) overtook those still on
their way ("Asked about refill then hold" became "An holdsked about refill the" on a
loaded machine). Each comes back up later and is dropped then. Past the first key that
is not printable (which the old focus may take for itself: Enter, the arrows) the rest
go the slow way, as before. Text typed while a dialog still holds keys typed ahead of it
waits behind them, even once its field has the focus.

Only the keys typed after the key that opened a dialog are its: the key whose bindings
the App was running, in its own task, when the dialog was pushed. A dialog pushed
otherwise (the wrap-up when the caller hangs up, a worklist preview, the recording
consent; one a worker or another dialog's answer opens) takes none of the keys still on
their way up from the screens below it: they were typed for those screens, which the
dialog now covers, and they are dropped (``r`` for State, pressed as the caller hung up,
chose "resolved" in the wrap-up).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from contextlib import suppress
from typing import Any, Protocol, runtime_checkable

from textual import events
from textual.app import App, ScreenStackError
from textual.screen import Screen
from textual.widget import Widget

RECENT_KEYS = 64
"""How many keys' arrival screens are remembered (a read of the terminal is fewer)."""


@runtime_checkable
class TakesTypedAhead(Protocol):
    """A screen (a dialog) that takes the keys typed ahead of it."""

    def take_typed_ahead(self, key: events.Key, arrived_on: Screen[object] | None) -> bool:
        """Take ``key`` (which arrived while ``arrived_on`` was on top) if it was typed for
        this screen; returns whether it was taken."""
        ...  # pragma: no cover - a protocol

    def holds_keys(self) -> bool:
        """Whether a key typed now must wait behind those typed ahead of it (the screen
        hands them on once its field has the focus)."""
        ...  # pragma: no cover - a protocol


class TypeAheadApp(App[int]):
    """An app that gives keys typed ahead to the dialog on top or the box just focused."""

    _typed_ahead_to: tuple[float, Widget] | None = None
    """(since when, where): see :meth:`send_typed_ahead_to`."""
    _arrivals: deque[tuple[events.Key, Screen[object]]] | None = None
    """The last keys that arrived, each with the screen on top then."""
    _key_in_hand: events.Key | None = None
    """The key back up at the App while its bindings run (None between keys)."""
    _sent_ahead: list[events.Key] | None = None
    """Keys given to the typed-ahead box at once, to be dropped when they come back up."""
    _openers: weakref.WeakKeyDictionary[object, events.Key | None] | None = None
    """The key that opened each dialog on the stack (None: it was pushed otherwise)."""
    _key_task: asyncio.Task[object] | None = None
    """The task running the key in hand's bindings: a dialog another task pushes
    meanwhile (the agent's screen, on a phone event) was not opened by that key."""

    async def on_event(self, event: events.Event) -> None:
        """Note the screen each key arrives on: only a key that arrived on the screen below
        is typed ahead of a dialog (one that a dialog acted on and let go up is not)."""
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._arrivals is None:
                self._arrivals = deque(maxlen=RECENT_KEYS)
            with suppress(ScreenStackError):  # no screen yet: nothing is typed ahead
                self._arrivals.append((event, self.screen))
                screen = self.screen
                if isinstance(screen, TakesTypedAhead) and screen.holds_keys() and _text(event):
                    # Its field may have the focus already: text typed now would overtake
                    # the text typed ahead, still waiting in the dialog.
                    if not await self._check_bindings(event.key, priority=True):
                        screen._forward_event(event)
                    return
        elif isinstance(event, events.Key):  # back up: the App's bindings run in here
            self._key_in_hand, self._key_task = event, asyncio.current_task()
            try:
                await super().on_event(event)
            finally:
                self._key_in_hand = None
            return
        await super().on_event(event)

    def _arrived_on(self, key: events.Key) -> Screen[object] | None:
        for seen, screen in reversed(self._arrivals or ()):
            if seen is key:
                return screen
        return None

    def send_typed_ahead_to(self, target: Widget) -> None:
        """Keys typed before now that are still on their way up unhandled go to ``target``
        (a text box a key has just focused): the printable ones after the key in hand at
        once, in order (see the module)."""
        self._typed_ahead_to = (time.monotonic(), target)  # the clock events are stamped with
        for key in self._send_ahead(target.screen):
            target._forward_event(key)

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        """Textual's, and a dialog a key opens gets the printable keys typed with it at once,
        in order (see the module)."""
        below = self.screen if self.screen_stack else None
        pushed = super().push_screen(screen, *args, **kwargs)
        if isinstance(screen, TakesTypedAhead):
            if self._openers is None:
                self._openers = weakref.WeakKeyDictionary()
            self._openers[screen] = self._acting_key()
        if isinstance(screen, TakesTypedAhead) and below is not None and self.screen is screen:
            for key in self._send_ahead(below):
                screen.take_typed_ahead(key, below)
        return pushed

    def _acting_key(self) -> events.Key | None:
        """The key in hand, if this is its task running its bindings (None otherwise)."""
        return self._key_in_hand if asyncio.current_task() is self._key_task else None

    def _send_ahead(self, typed_on: Screen[object]) -> list[events.Key]:
        """Copies of the printable keys that arrived on ``typed_on`` after the key in hand
        (none between keys), up to the first other key; each is dropped when it comes back."""
        copies: list[events.Key] = []
        acting = self._acting_key()
        if acting is None or isinstance(typed_on, TakesTypedAhead):
            return copies  # a dialog may act on a printable key itself (a hot key), and stop it
        after = False
        for key, screen in self._arrivals or ():
            if key is acting:
                after = True
            elif after and screen is typed_on:
                if not key.is_printable:
                    break  # the old focus may take it: it, and what follows, come back first
                self._sent_ahead = [*(self._sent_ahead or ()), key]
                copies.append(events.Key(key.key, key.character))
        return copies

    async def _on_key(self, event: events.Key) -> None:
        # Textual calls this before App._on_key (the bindings), which a taken key skips.
        screen = self.screen
        arrived_on = self._arrived_on(event)
        if self._sent_ahead and any(key is event for key in self._sent_ahead):
            self._sent_ahead = [key for key in self._sent_ahead if key is not event]
            taken = True  # the box has it already, whatever is on top now
        elif isinstance(screen, TakesTypedAhead):
            if self._typed_after_opener(screen, event):
                taken = screen.take_typed_ahead(event, arrived_on)
            else:  # typed for a screen below before the dialog covered it: dropped
                taken = any(below is arrived_on for below in self.screen_stack[:-1])
        else:
            taken = self._to_typed_ahead_target(event, arrived_on)
        if taken:
            event.prevent_default()
            event.stop()

    def _typed_after_opener(self, dialog: object, key: events.Key) -> bool:
        """Whether ``key`` arrived after the key that opened ``dialog`` (never, for one that
        opened by itself)."""
        opener = self._openers.get(dialog) if self._openers is not None else None
        if opener is None:
            return False
        after = False
        for seen, _screen in self._arrivals or ():
            if seen is opener:
                after = True
            elif seen is key:
                return after
        return False

    def _to_typed_ahead_target(self, event: events.Key, arrived_on: Screen[object] | None) -> bool:
        if self._typed_ahead_to is None:
            return False
        since, target = self._typed_ahead_to
        if event.time >= since or target is not self.focused or arrived_on is not target.screen:
            self._typed_ahead_to = None  # a key typed later, or the box left: it is over
            return False
        target._forward_event(events.Key(event.key, event.character))  # stamped now
        return True


def _text(key: events.Key) -> bool:
    """Whether ``key`` edits text: a character, Backspace or Enter (which ends a field)."""
    return key.is_printable or key.key in ("backspace", "enter")


def send_typed_ahead_to(target: Widget) -> None:
    """What a screen calls when a key has focused ``target``: the keys typed with that key
    follow it there (in an app that routes them; elsewhere nothing happens)."""
    app = target.app
    if isinstance(app, TypeAheadApp):
        app.send_typed_ahead_to(target)
