"""The active call panel: who the agent is talking to and for how long."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from console.core.calls import LiveCall, format_duration
from console.core.text import caller_label, safe_text


class ActiveCallPanel(Static):
    """Caller, state and a running timer for the call in progress."""

    call: reactive[LiveCall | None] = reactive(None)
    """The call being talked on, or None."""
    now: reactive[datetime] = reactive(lambda: datetime.now(UTC))
    """Time used for the duration; ticks once a second while a call is up."""

    def __init__(self, *, max_caller_chars: int = 48, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.max_caller_chars = max_caller_chars

    def watch_call(self, call: LiveCall | None) -> None:
        """Style by whether there is a call."""
        self.set_class(call is not None, "-live")

    def render(self) -> Text:
        """The caller as literal text, never markup."""
        call = self.call
        if call is None:
            return Text(
                "No call in progress.\nRinging calls appear in the queue; press a to answer.",
                style="dim",
            )
        text = Text()
        text.append(
            caller_label(call.caller_name, call.caller_number, self.max_caller_chars) + "\n",
            style="bold",
        )
        if call.caller_number:
            text.append(safe_text(call.caller_number, self.max_caller_chars) + "\n")
        if call.called_uri:
            text.append(
                "to " + safe_text(call.called_uri, self.max_caller_chars) + "\n", style="dim"
            )
        if call.state == "active":
            text.append(
                f"● talking {format_duration(call.seconds_talking(self.now))}", style="bold"
            )
        else:
            text.append("answering…")
        return text
