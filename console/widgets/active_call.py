# SPDX-License-Identifier: GPL-2.0-or-later
"""The active call panel: who the agent is talking to, for how long, and what is going on."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from console.core.calls import LiveCall, format_duration
from console.core.text import caller_label, safe_text

_TRANSFER = {
    "trying": "transfer: trying",
    "ringing": "transfer: target ringing",
    "succeeded": "transfer: done",
    "failed": "transfer FAILED — caller is back",
}


class ActiveCallPanel(Static):
    """Caller, state, timer, hold/mute, consult and transfer progress, DTMF sent."""

    call: reactive[LiveCall | None] = reactive(None, layout=True)
    """The call being talked on (or dialled), or None."""
    consult: reactive[LiveCall | None] = reactive(None, layout=True)
    """The other leg of a consult, when one is up."""
    now: reactive[datetime] = reactive(lambda: datetime.now(UTC))
    """Time used for the durations; ticks once a second while a call is up."""

    def __init__(self, *, max_caller_chars: int = 48, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.max_caller_chars = max_caller_chars

    def watch_call(self, call: LiveCall | None) -> None:
        """Style by whether there is a call."""
        self.set_class(call is not None, "-live")

    def _status(self, call: LiveCall) -> Text:
        text = Text()
        if call.state == "active":
            if call.local_hold:
                text.append("‖ on hold ", style="bold reverse")
            else:
                text.append("● talking ", style="bold")
            text.append(format_duration(call.seconds_talking(self.now)))
        elif call.direction == "outbound":
            text.append(
                {
                    "calling": "dialling…",
                    "ringing": "ringing at the far end…",
                    "early": "connecting (early media)…",
                }.get(call.state, call.state)
            )
        else:
            text.append("answering…")
        if call.remote_hold:
            text.append("  caller has us on hold", style="italic")
        if call.muted:
            text.append("  MUTED", style="bold reverse")
        return text

    def render(self) -> Text:
        """The caller as literal text, never markup."""
        call = self.call
        if call is None:
            return Text(
                "No call in progress.\nRinging calls appear in the queue; "
                "press a to answer, p to dial.",
                style="dim",
            )
        text = Text()
        text.append(
            caller_label(call.caller_name, call.caller_number, self.max_caller_chars) + "\n",
            style="bold",
        )
        if call.caller_number:
            text.append(safe_text(call.caller_number, self.max_caller_chars))
        if call.queue:
            text.append(f"  via {safe_text(call.queue, 24)}", style="dim")
        if call.codec:
            text.append(f"  · {safe_text(call.codec, 20)}", style="dim")
        text.append("\n")
        text.append_text(self._status(call))
        text.append("\n")
        if call.transfer_status:
            text.append(
                _TRANSFER.get(call.transfer_status, call.transfer_status)
                + " → "
                + safe_text(call.transfer_target, 40)
                + "\n"
            )
        if self.consult is not None:
            other = self.consult
            role = "consulting" if other.consult_for else "caller held"
            text.append(f"{role}: {caller_label(other.caller_name, other.caller_number, 30)} ")
            text.append_text(self._status(other))
            text.append("\n")
        if call.dtmf_sent:
            text.append(f"DTMF sent: {safe_text(call.dtmf_sent, 24)}\n", style="dim")
        return text
