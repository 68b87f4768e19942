"""The call queue: every call at the engine, longest waiting first."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from console.core.calls import LiveCall, format_duration
from console.core.text import caller_label, safe_text

_STATE_LABEL = {"ringing": "ringing", "connecting": "answering", "active": "talking"}


class CallQueueTable(DataTable[Text]):
    """Rows keyed by call id, updated in place; the cursor picks the call to act on."""

    def __init__(self, *, max_caller_chars: int = 48, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.max_caller_chars = max_caller_chars

    def on_mount(self) -> None:
        """Set up the columns."""
        self.add_column("Caller", key="caller")
        self.add_column("Number", key="number")
        self.add_column("State", key="state")
        self.add_column("Time", key="wait")

    def sync(self, calls: list[LiveCall], now: datetime) -> None:
        """Make the rows match ``calls`` without rebuilding the table."""
        wanted = {call.id for call in calls}
        for key in list(self.rows):
            if key.value not in wanted:
                self.remove_row(key)
        for call in calls:
            state = Text(
                _STATE_LABEL.get(call.state, safe_text(call.state, 12)),
                style="bold" if call.ringing else "",
            )
            # Ringing: how long the patient has waited; answered: how long the talk is.
            seconds = call.seconds_talking(now) if call.answered_at else call.seconds_waiting(now)
            wait = Text(format_duration(seconds))
            if call.id in self.rows:
                self.update_cell(call.id, "state", state)
                self.update_cell(call.id, "wait", wait)
            else:
                self.add_row(
                    Text(caller_label(call.caller_name, call.caller_number, self.max_caller_chars)),
                    Text(safe_text(call.caller_number, 24)),
                    state,
                    wait,
                    key=call.id,
                )

    def selected_call_id(self) -> str | None:
        """The call under the cursor, if any."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return str(key.value) if key.value is not None else None
