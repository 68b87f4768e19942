# SPDX-License-Identifier: GPL-2.0-or-later
"""Calibration: several evaluators' answers for one call, and how far apart they are."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from console.core.quality.calibration import ItemSpread, score_spread
from console.core.quality.evaluations import Evaluation
from console.core.text import safe_text
from console.dialogs.base import Dialog
from console.widgets.measured_table import MeasuredTable

WIDE = 0.5
"""A spread from here up is shown as a disagreement to talk through."""


class CalibrationScreen(Dialog[None]):
    """Per question: each evaluator's answer and the spread (0 agree … 1 opposite)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="qa.calibration.close", tooltip="Back"),
    ]
    DEFAULT_CSS = """
    CalibrationScreen > Vertical { width: 110; max-width: 98%; max-height: 90%; }
    """

    def __init__(self, evaluations: Sequence[Evaluation], rows: Sequence[ItemSpread]) -> None:
        super().__init__()
        self.evaluations = sorted(evaluations, key=lambda e: e.evaluator)
        self.rows = rows

    def compose(self) -> ComposeResult:
        """Scores, then the table of questions."""
        submitted = [e for e in self.evaluations if e.state != "draft"]
        scores = ", ".join(
            f"{safe_text(e.evaluator, 16)} {e.score:g}" for e in submitted if e.score is not None
        )
        with Vertical():
            yield Label(
                f"Calibration: {len(submitted)} submitted evaluation(s) · {scores or 'none yet'}"
                f" · score spread {score_spread(submitted):g}",
                markup=False,
            )
            yield MeasuredTable(id="spread", cursor_type="row")
            yield Label("Esc closes", classes="hint", markup=False)

    def on_mount(self) -> None:
        """One row per scored question."""
        table = self.query_one(DataTable)
        evaluators = [safe_text(e.evaluator, 12) for e in self.evaluations if e.state != "draft"]
        table.add_columns("Question", *evaluators, "Spread")
        for row in self.rows:
            answers = [Text(value or "—") for _, value in row.answers]
            wide = row.spread >= WIDE or row.na_split
            spread = f"{row.spread:g}" + (" N/A split" if row.na_split else "")
            table.add_row(
                Text(safe_text(row.text, 48)),
                *answers,
                Text(spread, style="bold red" if wide else ""),
                key=row.item_id,
            )
        table.focus()

    def action_close(self) -> None:
        """Back to where it was opened."""
        self.dismiss(None)
