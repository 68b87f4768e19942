# SPDX-License-Identifier: GPL-2.0-or-later
"""What every careline dialog shares: a modal frame, centred, over the screen, that
closes once."""

from __future__ import annotations

from typing import TypeVar

from textual import events
from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen, Screen

ResultT = TypeVar("ResultT")


class ClosesOnce(Screen[ResultT]):
    """A screen whose ``dismiss`` closes it only while it is the screen on top.

    Textual's ``dismiss`` pops whichever screen is on top. A key pressed twice at once (a
    double press, or keys an SSH link delivers in one read) reaches a list or a field
    twice before the first close is handled, and the second close popped the screen
    below: the agent's, leaving a blank terminal. Here it does nothing.
    """

    def dismiss(self, result: ResultT | None = None) -> AwaitComplete:
        """Close with ``result``, unless already closed (or covered by another screen)."""
        if not self.is_active:
            return AwaitComplete()  # nothing to wait for
        return super().dismiss(result)


class Dialog(ModalScreen[ResultT], ClosesOnce[ResultT]):
    """A modal screen whose content is one ``Vertical`` frame, centred.

    ``ModalScreen`` comes first: Textual takes CSS (the dimmed screen below) only from
    the first base class.

    The frame is as tall as its content, bordered in the accent colour on the
    surface background; a dialog sets its own width (and max sizes) with
    ``<Name> > Vertical { … }`` in its ``DEFAULT_CSS``, which wins over this.
    Labels with the ``hint`` class are muted.

    Keys typed with the key that opens it (one read of the terminal: a fast typist, an
    SSH link) reach the dialog before its field has the focus; they wait, and go to the
    field once it has it, ahead of any key typed after: ``p`` and a number together dial
    the number.
    """

    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > Vertical {
        height: auto; border: thick $accent; background: $surface; padding: 0 1;
    }
    Dialog .hint { color: $text-muted; }
    """

    _settled = False
    """Whether the dialog has taken its first focus; keys before it wait in ``_typed_ahead``."""
    _typed_ahead: list[events.Key] | None = None

    def take_typed_ahead(self, key: events.Key, arrived_on: Screen[object] | None) -> bool:
        """Take ``key`` if it was typed for this dialog: a key that arrived while the screen
        below it was on top, and that it left unhandled (it came with the key that opened
        the dialog: the screen below handles keys in order, so it came after that key).
        It goes to the dialog's field; returns whether it was taken."""
        stack = self.app.screen_stack
        below = stack[-2] if len(stack) > 1 and stack[-1] is self else None
        if below is None or arrived_on is not below:
            return False
        self._receive(key)
        return True

    def holds_keys(self) -> bool:
        """Whether keys typed now wait behind those typed ahead (until the dialog settles)."""
        return not self._settled

    def _forward_event(self, event: events.Event) -> None:
        # Textual forwards a key to the focused widget, or to the screen when none is
        # focused yet: on a dialog just pushed, before its on_mount's focus has landed.
        if isinstance(event, events.Key) and not self._settled and not event.is_forwarded:
            self._receive(event)
            return
        super()._forward_event(event)

    def _receive(self, key: events.Key) -> None:
        if self._settled:
            self._hand_on(key)
        else:
            if self._typed_ahead is None:
                self._typed_ahead = []
            self._typed_ahead.append(key)

    def _on_mount(self, event: events.Mount) -> None:  # noqa: ARG002 - Textual's handler
        # After the subclass's on_mount (Textual calls it first), whose focus() is queued at
        # the App: settling queued behind it finds the focus there.
        self.app.call_later(self._settle)

    def _settle(self) -> None:
        """Hand the keys typed ahead to the focused field (or the dialog), in order."""
        self._settled = True
        waiting, self._typed_ahead = self._typed_ahead or [], None
        if not self.is_current:
            return  # closed (or covered) first: the keys were for it, not for what is below
        for key in waiting:
            self._hand_on(key)

    def _hand_on(self, key: events.Key) -> None:
        # A new event: stamped now, so it is never taken again on its way up.
        fresh = events.Key(key.key, key.character)
        if self.focused is None:
            self.post_message(fresh)
        else:
            self.focused._forward_event(fresh)
