# SPDX-License-Identifier: GPL-2.0-or-later
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


def _time_cell(call: LiveCall, now: datetime) -> Text:
    """Ringing: how long the patient has waited; answered: how long the talk is."""
    seconds = call.seconds_talking(now) if call.answered_at else call.seconds_waiting(now)
    return Text(format_duration(seconds))


class CallQueueTable(CallTable):
    """Rows keyed by call id, updated in place; the cursor picks the call to act on."""

    def __init__(self, *, max_caller_chars: int = 48, id: str | None = None) -> None:
        super().__init__(max_caller_chars=max_caller_chars, id=id)
        self._shown: dict[tuple[str, str], str] = {}
        """The markup of each cell as drawn, by (call id, column)."""

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
            self._shown.clear()
            current = []
            if selected in wanted:
                self.move_cursor(row=wanted.index(selected))
        for call in calls:
            queue = safe_text(call.queue, 16)
            if call.priority and call.priority != "normal":
                queue = f"{queue} !{safe_text(call.priority, 10)}".strip()
            if call.id in current:
                self._set(call.id, "state", state_label(call))
                self._set(call.id, "wait", _time_cell(call, now))
                self._set(call.id, "queue", Text(queue))
            else:
                cells = {
                    "caller": self.caller_cell(call.caller_name, call.caller_number),
                    "state": state_label(call),
                    "wait": _time_cell(call, now),
                    "queue": Text(queue),
                    "number": Text(safe_text(call.caller_number, 20)),
                }
                self.add_row(*cells.values(), key=call.id)
                self._shown.update({(call.id, key): cell.markup for key, cell in cells.items()})

    def tick(self, calls: list[LiveCall], now: datetime) -> None:
        """The clock moved on: only the time cells that read differently change."""
        for call in calls:
            if (call.id, "wait") in self._shown:
                self._set(call.id, "wait", _time_cell(call, now))

    def _set(self, row: str, column: str, cell: Text) -> None:
        # Only real changes go in, and each repaints its own cell, not the table.
        if self._shown.get((row, column)) != cell.markup:
            self._shown[(row, column)] = cell.markup
            self.repaint_cell(row, column, cell)

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
