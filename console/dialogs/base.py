# SPDX-License-Identifier: GPL-2.0-or-later
"""What every careline dialog shares: a modal frame, centred, over the screen."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

ResultT = TypeVar("ResultT")


class Dialog(ModalScreen[ResultT]):
    """A modal screen whose content is one ``Vertical`` frame, centred.

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
