"""The call queue: every call at the engine, priority first, longest waiting first."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from console.core.calls import LiveCall, format_duration
from console.core.text import safe_text
from console.widgets.call_table import CallTable


def state_label(call: LiveCall) -> Text:
    """How the queue names a call's state."""
    if call.ringing:
        return Text("ringing", style="bold")
    if call.state == "active":
        if call.local_hold:
            return Text("on hold", style="reverse")
        return Text("consult" if call.consult_for else "talking")
    if call.direction == "outbound":
        return Text("dialling" if call.state in ("calling", "ringing", "early") else call.state)
    return Text({"connecting": "answering"}.get(call.state, safe_text(call.state, 12)))


class CallQueueTable(CallTable):
    """Rows keyed by call id, updated in place; the cursor picks the call to act on."""

    # What matters most first: at 80 columns the right-hand columns scroll away.
    COLUMNS = (
        ("Caller", "caller"),
        ("State", "state"),
        ("Time", "wait"),
        ("Queue", "queue"),
        ("Number", "number"),
    )

    def sync(self, calls: list[LiveCall], now: datetime) -> None:
        """Make the rows match ``calls`` (order included) without flicker."""
        wanted = [call.id for call in calls]
        current = [str(key.value) for key in self.rows]
        if current != wanted[: len(current)] or set(current) - set(wanted):
            # Order changed (a priority call arrived) or calls left: rebuild, keep the cursor.
            selected = self.selected_call_id()
            self.clear()
            current = []
            if selected in wanted:
                self.move_cursor(row=wanted.index(selected))
        for call in calls:
            # Ringing: how long the patient has waited; answered: how long the talk is.
            seconds = call.seconds_talking(now) if call.answered_at else call.seconds_waiting(now)
            wait = Text(format_duration(seconds))
            queue = safe_text(call.queue, 16)
            if call.priority and call.priority != "normal":
                queue = f"{queue} !{safe_text(call.priority, 10)}".strip()
            if call.id in current:
                self.update_cell(call.id, "state", state_label(call))
                self.update_cell(call.id, "wait", wait)
                self.update_cell(call.id, "queue", Text(queue))
            else:
                self.add_row(
                    self.caller_cell(call.caller_name, call.caller_number),
                    state_label(call),
                    wait,
                    Text(queue),
                    Text(safe_text(call.caller_number, 20)),
                    key=call.id,
                )

    def selected_call_id(self) -> str | None:
        """The call under the cursor, if any."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return str(key.value) if key.value is not None else None

    def select_next(self) -> None:
        """Move the cursor to the next call, wrapping around."""
        if self.row_count:
            self.move_cursor(row=(self.cursor_row + 1) % self.row_count)
