# SPDX-License-Identifier: GPL-2.0-or-later
"""Recent calls: the short history list under the workspace."""

from __future__ import annotations

from rich.text import Text

from console.core.calls import format_duration, parse_time
from console.core.store import CallRow
from console.core.text import safe_text
from console.widgets.call_table import CallTable

_OUTCOME = {
    ("completed", "caller"): "caller hung up",
    ("completed", "agent"): "agent hung up",
    ("cancelled", "caller"): "missed (caller gave up)",
    ("rejected", "agent"): "declined",
    ("rejected", "caller"): "not answered",
    ("transferred", "agent"): "transferred",
    ("shutdown", "engine"): "cut at shutdown",
    ("failed", "engine"): "lost (phone restarted)",
    ("lost", "console"): "lost (careline or phone stopped)",
}
_TURNED_AWAY = {
    "queue_full": "queue full",
    "agent not_ready": "you were not ready",
    "agent wrap_up": "you were in wrap-up",
    "agent offline": "you were offline",
    "library_capacity": "phone full",
    "not_encrypted": "not encrypted",
    "no_allowed_codec": "no usable codec",
}


def outcome_label(row: CallRow) -> str:
    """How a finished call ended, in the agent's words."""
    if row.end_reason == "turned_away":
        return f"turned away ({_TURNED_AWAY.get(row.end_detail, 'refused')})"
    label = _OUTCOME.get((row.end_reason or "", row.ended_by or ""))
    if label:
        return label
    return f"failed ({row.sip_status})" if row.sip_status else "failed"


class CallHistory(CallTable):
    """The latest finished calls, newest first."""

    # The outcome before the number: in a narrow pane the last column is
    # the one cut, and "missed" matters more than a number already shown.
    COLUMNS = (
        ("Time", "time"),
        ("Caller", "caller"),
        ("Outcome", "outcome"),
        ("Talk", "talk"),
        ("Number", "number"),
    )
    SHOW_CURSOR = False

    def show(self, rows: list[CallRow]) -> None:
        """Replace the list with ``rows``."""
        self.clear()
        for row in rows:
            received = parse_time(row.received_at)
            answered = parse_time(row.answered_at)
            ended = parse_time(row.ended_at)
            talk = (
                format_duration((ended - answered).total_seconds()) if answered and ended else "–"
            )
            when = received.astimezone().strftime("%H:%M:%S") if received else "?"
            self.add_row(
                Text(when),
                self.caller_cell(row.caller_name, row.caller_number),
                Text(outcome_label(row)),
                Text(talk),
                Text(safe_text(row.caller_number, 24)),
                key=row.id,
            )
