# SPDX-License-Identifier: GPL-2.0-or-later
"""The active call panel: who the agent is talking to, for how long, and what is going on."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
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
    """Time used for the durations (setting it repaints the panel; :meth:`tick` repaints
    only the lines whose durations moved)."""

    def __init__(self, *, max_caller_chars: int = 48, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.max_caller_chars = max_caller_chars
        self._clock_rows: list[int] = []
        """The lines of the last render that show a duration."""
        self._widest = 0
        """The widest line of the last render, in cells."""
        self._moved: dict[int, tuple[str, str]] = {}
        """Durations moved by ticks since the last render: (as rendered, as now), by line."""

    def watch_call(self, call: LiveCall | None) -> None:
        """Style by whether there is a call."""
        self.set_class(call is not None, "-live")

    def tick(self, now: datetime) -> None:
        """The clock moved on to ``now``: repaint only the lines whose durations read
        differently, not the panel; nothing when none does."""
        before = self._clocks()
        self.set_reactive(ActiveCallPanel.now, now)
        after = self._clocks()
        if after == before:
            return
        width = self.content_size.width
        if [len(c) for c in after.values()] != [len(c) for c in before.values()] or (
            self._widest > width
        ):
            self.refresh(layout=True)  # a longer duration may wrap a line: lines move
            return
        for row, shown in after.items():
            if shown != before[row]:
                was = self._moved.get(row, (before[row], shown))[0]
                self._moved[row] = (was, shown)
                self.refresh(Region(0, row, width, 1))

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the panel; after a tick only the durations change.

        Textual renders the whole text again when any part of a widget is due to be
        repainted (``Widget.render_line``): the caller's lines, the codec and the
        rest, once a second for one moving clock. A tick changes only durations, each
        into one as long (:meth:`tick` asks for a layout otherwise): the new one is
        written over the old in the last render's line, in the same cells and style.
        Any other repaint (a new fact, a resize, a style) renders the whole text.
        """
        if self._dirty_regions and self._moved:
            self._write_durations()
        return super().render_line(y)

    def _write_durations(self) -> None:
        """When only the lines of moved durations are due, over a last render of this
        size that shows each old duration once, write the new ones in (then nothing is
        due any more); else nothing (the whole text is rendered again)."""
        cache, moved = self._render_cache, self._moved
        if cache.size != self.size or max(moved) >= len(cache.lines):
            return
        x, y = self.content_offset
        width = self.content_size.width
        if not self._dirty_regions <= {Region(x, y + row, width, 1) for row in moved}:
            return
        lines: dict[int, Strip] = {}
        for row, (was, shown) in moved.items():
            segments = list(cache.lines[row])
            found = [i for i, segment in enumerate(segments) if segment.text == was]
            if len(found) != 1:
                return
            segments[found[0]] = segments[found[0]]._replace(text=shown)
            lines[row] = Strip(segments, cache.lines[row].cell_length)
        for row, line in lines.items():
            cache.lines[row] = line
        moved.clear()
        self._dirty_regions.clear()

    def _clocks(self) -> dict[int, str]:
        """The durations the panel shows at :attr:`now`, by line."""
        shown = zip((self.call, self.consult), self._clock_rows, strict=False)
        return {
            row: format_duration(call.seconds_talking(self.now))
            for call, row in shown
            if call is not None and call.state == "active"
        }

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
        self._moved.clear()
        call = self.call
        if call is None:
            self._clock_rows = []
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
        self._clock_rows = [text.plain.count("\n")]
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
            self._clock_rows.append(text.plain.count("\n"))
            text.append(f"{role}: {caller_label(other.caller_name, other.caller_number, 30)} ")
            text.append_text(self._status(other))
            text.append("\n")
        if call.dtmf_sent:
            text.append(f"DTMF sent: {safe_text(call.dtmf_sent, 24)}\n", style="dim")
        self._widest = max(cell_len(line) for line in text.plain.split("\n"))
        return text
