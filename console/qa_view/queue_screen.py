# SPDX-License-Identifier: GPL-2.0-or-later
"""The review queue: calls chosen for review, targeted first, with their findings."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from console.core.quality.evaluations import EvaluationError
from console.core.quality.review import QueueEntry
from console.core.text import safe_text
from console.qa_view.desk_screen import DeskScreen
from console.widgets.footer import KeyFooter
from console.widgets.measured_table import MeasuredTable

if TYPE_CHECKING:
    from console.qa_view.session import QaSession

COLUMNS = ("Why", "Agent", "Received", "Talk", "Failed checks", "Evaluation")


def _state(entry: QueueEntry) -> str:
    evaluation = entry.evaluation
    if evaluation is None:
        return "to do"
    if evaluation.state == "draft":
        return f"draft ({len(evaluation.answers)} answered)"
    verdict = "pass" if evaluation.passed else "FAIL"
    return f"{evaluation.score:g} {verdict} ({evaluation.state})"


def entry_cells(entry: QueueEntry) -> list[Text]:
    """One queue row, every value as plain text."""
    failed = ", ".join(check.value for check in entry.failed_checks) or "—"
    why = entry.pick.reason.replace("_", " ")
    return [
        Text(("!!! " if entry.alarm else "") + why, style="bold red" if entry.alarm else ""),
        Text(safe_text(entry.facts.agent_id, 24)),
        Text(entry.pick.received_at.astimezone().strftime("%a %d %H:%M")),
        Text(f"{round(entry.facts.talk_seconds)} s"),
        Text(safe_text(failed, 60)),
        Text(_state(entry)),
    ]


class QueueScreen(DeskScreen):
    """The calls to review this week; Enter evaluates the selected one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "evaluate", "Evaluate", id="qa.evaluate", tooltip="Score this call"),
        Binding(
            "c",
            "calibration",
            "Calibration",
            id="qa.calibration",
            tooltip="Every evaluator's answers for this call, and how far apart they are",
        ),
        Binding("r", "reload", "Reload", id="qa.reload", tooltip="Read the calls again"),
        Binding("q", "app.quit", "Quit", id="qa.quit", tooltip="Close careline qa"),
    ]

    def __init__(self, session: QaSession) -> None:
        super().__init__(session)
        self.entries: list[QueueEntry] = []

    def compose(self) -> ComposeResult:
        """Status line, the queue, the footer."""
        yield Static(id="status", markup=False)
        yield MeasuredTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    async def on_mount(self) -> None:
        """Fill the queue."""
        self.query_one(DataTable).add_columns(*COLUMNS)
        await self.action_reload()

    async def on_screen_resume(self) -> None:
        """Back from an evaluation: its state changed."""
        if self.entries:
            await self.action_reload()

    async def action_reload(self) -> None:
        """Read the period's calls, run the checks, select, show."""
        session = self.session
        try:
            self.entries = await self.desk.queue(session.start, session.end)
        except EvaluationError as exc:
            self.query_one("#status", Static).update(f"Cannot read the calls: {exc} (r retries)")
            return
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for entry in self.entries:
            table.add_row(*entry_cells(entry), key=entry.pick.call_id)
        if self.entries:
            table.move_cursor(row=min(row, len(self.entries) - 1))
        todo = sum(1 for e in self.entries if e.evaluation is None or e.evaluation.state == "draft")
        alarms = sum(1 for e in self.entries if e.alarm)
        period = f"{session.start:%d %b} – {session.end:%d %b %Y}"
        text = f"Review queue {period}: {len(self.entries)} calls, {todo} to evaluate"
        if alarms:
            text += f" · !!! {alarms} call(s) with details viewed before verification"
        if self.desk.sync_problem:
            text += f" · hub: {self.desk.sync_problem}"
        self.query_one("#status", Static).update(text)

    def _selected(self) -> QueueEntry | None:
        table = self.query_one(DataTable)
        if not self.entries or table.cursor_row < 0:
            return None
        return self.entries[min(table.cursor_row, len(self.entries) - 1)]

    async def on_data_table_row_selected(self) -> None:
        """Enter on a row (the table takes the key before the screen's binding)."""
        await self.action_evaluate()

    async def action_evaluate(self) -> None:
        """Open the selected call's evaluation."""
        from console.qa_view.evaluation_screen import EvaluationScreen

        entry = self._selected()
        if entry is None:
            return
        evaluation = await self.desk.open(entry)
        await self.app.push_screen(EvaluationScreen(self.session, entry, evaluation))

    async def action_calibration(self) -> None:
        """Show every evaluator's answers for the selected call."""
        from console.qa_view.calibration_screen import CalibrationScreen

        entry = self._selected()
        if entry is not None:
            evaluations, rows = await self.desk.calibration(entry.pick.call_id)
            await self.app.push_screen(CalibrationScreen(evaluations, rows))
