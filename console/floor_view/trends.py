# SPDX-License-Identifier: GPL-2.0-or-later
"""The wallboard's weekly trends pane (``w``): service level, AHT and CSAT
sparklines and the NPS for the floor and each queue over the last weeks, the
figures of ``careline report``.

Kept light: read only while shown, at most every :data:`EVERY_S` seconds
(never on the wallboard's refresh), the query awaited (the hub's report
functions, or the local store's reader thread) and the figures worked out
and laid out in a worker thread, so the UI thread only puts the lines up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from console.core.reports.feedback import MeasuredStep, measured_steps
from console.core.reports.render import trend_lines
from console.core.reports.weeks import ReportWeeks
from console.core.scripts.loader import load_library
from console.floor_view.source import FloorSource
from console.hub.schema import HubError

EVERY_S = 300.0
"""Seconds between two reads while the pane is shown."""
WEEKS = 8
"""Weeks the pane covers."""


def _steps(scripts: Path | None) -> tuple[MeasuredStep, ...]:
    return measured_steps(load_library(scripts).scripts)


class TrendsPane(Static):
    """Weekly trends of the floor and its queues; hidden until asked for."""

    def __init__(
        self,
        *,
        sl_seconds: int,
        scripts: Path | None = None,
        clock: Callable[[], datetime] | None = None,
        id: str | None = None,  # noqa: A002 - Textual's name for it
    ) -> None:
        super().__init__(markup=False, id=id)
        self.sl_seconds = sl_seconds
        self.scripts = scripts
        self._clock = clock or (lambda: datetime.now(UTC))
        self._steps: tuple[MeasuredStep, ...] | None = None
        self._read_at: float | None = None
        self.source: FloorSource | None = None
        """Where the figures come from (set by the wallboard once it is open)."""
        self.display = False  # never laid out until asked for

    def on_mount(self) -> None:
        """Re-read on a slow timer while shown."""
        self.border_title = f"Weekly trends, last {WEEKS} weeks (w: hide)"
        self.set_interval(EVERY_S, self.read_if_due)

    def toggle(self) -> None:
        """Show (reading the figures if they are old) or hide the pane."""
        self.display = not self.display
        self.read_if_due()

    def read_if_due(self) -> None:
        """Read the figures again if the pane is shown and they are old."""
        if not self.display or self.source is None:
            return
        if self._read_at is not None and time.monotonic() - self._read_at < EVERY_S - 1:
            return
        self._read_at = time.monotonic()
        if self._steps is None:
            self.update(Text("Reading the weekly figures…"))
        self.run_worker(self._read(self.source), exclusive=True, group="trends")

    async def _read(self, source: FloorSource) -> None:
        if self._steps is None:
            self._steps = await asyncio.to_thread(_steps, self.scripts)
        weeks = ReportWeeks.ending(self._clock().astimezone(UTC).date(), WEEKS)
        try:
            data = await source.report(weeks, sl_seconds=self.sl_seconds, steps=self._steps)
        except HubError as exc:  # its message is safe to show
            self.update(Text(f"Weekly trends unavailable: {exc}"))
            return
        except Exception as exc:  # noqa: BLE001 - shown, never raised into the wallboard
            # The type only: a database message could quote a stored value.
            self.update(Text(f"Weekly trends unavailable ({type(exc).__name__})"))
            return
        width = max(self.size.width - 2, 40)
        lines = await asyncio.to_thread(trend_lines, data, width)
        self.update(Text("\n".join(lines) if not data.empty else "No calls in these weeks."))
