# SPDX-License-Identifier: GPL-2.0-or-later
"""What every careline dialog shares: a modal frame, centred, over the screen, that
closes once."""

from __future__ import annotations

from typing import TypeVar

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
    """

    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > Vertical {
        height: auto; border: thick $accent; background: $surface; padding: 0 1;
    }
    Dialog .hint { color: $text-muted; }
    """
