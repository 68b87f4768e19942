# SPDX-License-Identifier: GPL-2.0-or-later
"""The DTMF pad: keys go to the call as tones, one by one, as they are pressed."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.message_pump import MessagePump
from textual.widgets import Label, Static

from console.dialogs.base import Dialog

DTMF_KEYS = "0123456789*#ABCD"
_CHARACTER = {"asterisk": "*", "number_sign": "#"}


class DtmfPad(Dialog[None]):
    """Sends each pressed digit to the call at once; Esc closes the pad."""

    FORM_ID = "keypad"
    """Its name in a queue's ``recording.pause_forms`` (e.g. keying a card number for the
    patient into a payment line): recording pauses while it is open."""

    BINDINGS = [Binding("escape", "close", "Close pad", id="dtmf.close", tooltip="Close the pad")]

    DEFAULT_CSS = """
    DtmfPad > Vertical { width: 34; }
    DtmfPad #digits { text-style: bold; height: 1; }
    """

    class Digit(Message):
        """The agent pressed a DTMF key (sent to the screen that opened the pad)."""

        def __init__(self, digit: str) -> None:
            super().__init__()
            self.digit = digit

    def __init__(self, opener: MessagePump) -> None:
        super().__init__()
        self.opener = opener
        self.sent = ""

    def compose(self) -> ComposeResult:
        """The pad."""
        with Vertical():
            yield Label("DTMF pad — keys 0-9 * # (Esc closes)", markup=False)
            yield Static(" 1  2  3\n 4  5  6\n 7  8  9\n *  0  #", markup=False)
            yield Label("", id="digits", markup=False)

    def on_key(self, event: events.Key) -> None:
        """A pad key sends a digit; everything else is ignored while the pad is open."""
        char = _CHARACTER.get(event.key, event.character or "")
        if char and char.upper() in DTMF_KEYS and len(char) == 1:
            event.stop()
            self.sent = (self.sent + char.upper())[-24:]
            self.query_one("#digits", Label).update(self.sent)
            self.opener.post_message(self.Digit(char.upper()))

    def action_close(self) -> None:
        """Close the pad."""
        self.dismiss(None)
