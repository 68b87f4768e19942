# SPDX-License-Identifier: GPL-2.0-or-later
"""Scoring one call: the call on the left, the form on the right, one key per answer.

The cursor starts on the first question still unanswered (the automatic checks
have answered theirs) and moves on to the next one after every answer, so an
evaluator who agrees with the pre-fill presses one key per remaining question
and ``s`` to submit. Every answer is saved as it is given. The call's recording
plays beside the form (:mod:`console.qa_view.recording_panel`): ``p`` plays and
stops, ``f`` switches 1x/1.5x, ``j`` jumps to a moment of its timeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from console.core.quality.evaluations import Evaluation, EvaluationError
from console.core.quality.scoring import EvaluationAnswerError, score
from console.core.scripts.evaluation_forms import ScaleItem, TextItem, YesNoItem
from console.core.text import safe_text
from console.qa_view.call_view import call_lines
from console.qa_view.desk_screen import DeskScreen
from console.qa_view.recording_panel import RecordingPanel
from console.widgets.footer import KeyFooter
from console.widgets.measured_table import MeasuredTable

if TYPE_CHECKING:
    from console.core.quality.review import QueueEntry
    from console.qa_view.session import QaSession

_SHOWN = {"yes": "yes", "no": "NO", "na": "N/A"}


def _marks() -> list[BindingType]:
    return [
        Binding(str(n), f"mark('{n}')", f"Mark {n}", show=False, id=f"qa.mark.{n}")
        for n in range(10)
    ]


class EvaluationScreen(DeskScreen):
    """One evaluation of one call."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer('yes')", "Yes", id="qa.yes", tooltip="Yes: done right"),
        Binding("n", "answer('no')", "No", id="qa.no", tooltip="No: not done"),
        Binding("a", "answer('na')", "N/A", id="qa.na", tooltip="Not applicable to this call"),
        Binding("t", "type_text", "Text", id="qa.text", tooltip="Type this question's answer"),
        Binding("m", "comment", "Comment", id="qa.comment", tooltip="Overall comment"),
        Binding("s", "submit", "Submit", id="qa.submit", tooltip="Score and send (final)"),
        Binding("c", "calibration", "Calibration", id="qa.calibrate", tooltip="Others' answers"),
        Binding("escape", "back", "Back", id="qa.back", tooltip="Back to the queue (kept)"),
        Binding("p", "play", "Play", id="qa.play", tooltip="Play or stop the call's recording"),
        Binding("f", "speed", "1x/1.5x", id="qa.speed", tooltip="Play the recording faster"),
        Binding("j", "jump", "Jump", id="qa.jump", tooltip="Play from a moment of the timeline"),
        *_marks(),
    ]

    def __init__(self, session: QaSession, entry: QueueEntry, evaluation: Evaluation) -> None:
        super().__init__(session)
        self.entry = entry
        self.evaluation = evaluation
        self.comment = evaluation.comment

    def compose(self) -> ComposeResult:
        """The call, the form, the selected question's help and the score so far."""
        yield Static(id="status", markup=False)
        with Horizontal():
            with VerticalScroll(id="call"):
                yield RecordingPanel(self.entry.pick.call_id, self.session.listen)
                yield Static(id="call-text", markup=False)
            with Vertical(id="form-side"):
                yield MeasuredTable(id="form", cursor_type="row")
                yield Static(id="question", markup=False)
        yield KeyFooter()

    async def on_mount(self) -> None:
        """Fill both sides; the cursor on the first question to answer."""
        lookup = self.session.recording
        recording = await lookup(self.entry.pick.call_id) if lookup is not None else None
        lines = call_lines(self.entry.facts, self.entry.findings, recording)
        self.query_one("#call-text", Static).update(Text("\n".join(lines)))
        table = self.query_one("#form", DataTable)
        table.add_columns("Answer", "From", "Question")
        for section in self.desk.form.sections:
            for item in section.questions:
                table.add_row(*self._cells(section.title, item.id), key=item.id)
        table.focus()
        self._goto_next(0)
        self._show()

    def _cells(self, section: str, item_id: str) -> list[Text]:
        item = self.desk.form.question(item_id)
        answer = self.evaluation.answers.get(item_id)
        value = answer.value if answer else None
        shown = "—" if value is None else _SHOWN.get(value, value)
        if isinstance(item, TextItem) and value:
            shown = safe_text(value, 24)
        elif isinstance(item, ScaleItem) and value:
            shown = f"{value} of {item.min}–{item.max}"
        source = ""
        if answer and answer.automatic:
            source = "auto, changed" if answer.overridden else "auto"
        style = "bold red" if value == "no" and getattr(item, "auto_fail", False) else ""
        del section  # shown under the table for the selected question
        return [Text(shown, style=style), Text(source), Text(safe_text(item.text, 72))]

    def _show(self) -> None:
        table = self.query_one("#form", DataTable)
        item = self._current()
        if item is not None:
            kind = {YesNoItem: "y yes · n no", ScaleItem: "", TextItem: "t type"}[type(item)]
            if isinstance(item, ScaleItem):
                kind = f"{item.min}–{item.max} mark"
            if isinstance(item, YesNoItem | ScaleItem) and item.allow_na:
                kind += " · a N/A"
            fail = " · AUTOMATIC FAIL if no" if getattr(item, "auto_fail", False) else ""
            section = next(s.title for s in self.desk.form.sections if item in s.questions)
            self.query_one("#question", Static).update(
                Text(f"{section}: {item.text}\n{item.help}\n{kind}{fail}".replace("\n\n", "\n"))
            )
        result = score(self.desk.form, self.evaluation.values())
        state = self.evaluation.state
        if state == "draft":
            verdict = f"{len(result.unanswered)} to answer"
        else:
            verdict = ("PASS" if self.evaluation.passed else "FAIL") + f" ({state})"
        fail = " · AUTOMATIC FAIL" if result.auto_failed else ""
        self.query_one("#status", Static).update(
            f"{safe_text(self.entry.facts.agent_id, 24)} · {self.entry.pick.reason} · "
            f"{'score so far' if state == 'draft' else 'score'} {result.score:g} / "
            f"pass {self.desk.form.pass_threshold:g} · {verdict}{fail}"
            + (f" · hub: {self.desk.sync_problem}" if self.desk.sync_problem else "")
        )
        table.refresh()

    def _current(self) -> YesNoItem | ScaleItem | TextItem | None:
        table = self.query_one("#form", DataTable)
        questions = self.desk.form.questions
        if not questions:
            return None
        return questions[min(max(table.cursor_row, 0), len(questions) - 1)]

    def _goto_next(self, start: int) -> None:
        """The cursor on the first unanswered scored question from ``start`` (wrapping),
        else on the first unanswered text question; where it is when all are answered."""
        questions = self.desk.form.questions
        answered = {k for k, a in self.evaluation.answers.items() if a.value is not None}
        order = list(range(start, len(questions))) + list(range(start))
        open_scored = [n for n in order if questions[n].id not in answered]
        scored = [n for n in open_scored if not isinstance(questions[n], TextItem)]
        if scored or open_scored:
            self.query_one("#form", DataTable).move_cursor(row=(scored or open_scored)[0])

    async def _save(self, raw: str | None) -> None:
        item = self._current()
        if item is None:
            return
        if self.evaluation.state != "draft":
            self.notify("Submitted: this evaluation is final.", severity="warning")
            return
        try:
            self.evaluation = await self.desk.answer(self.evaluation, item.id, raw)
        except (EvaluationAnswerError, EvaluationError) as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        table = self.query_one("#form", DataTable)
        row = table.cursor_row
        section = next(s.title for s in self.desk.form.sections if item in s.questions)
        for column, cell in enumerate(self._cells(section, item.id)):
            table.update_cell_at(Coordinate(row, column), cell, update_width=True)
        self._goto_next(row + 1)
        self._show()

    async def action_answer(self, value: str) -> None:
        """Answer the selected yes/no question (or N/A a scale)."""
        item = self._current()
        if isinstance(item, ScaleItem) and value != "na":
            self.notify(f"A mark from {item.min} to {item.max}.", severity="warning")
            return
        await self._save(value)

    async def action_mark(self, value: str) -> None:
        """Mark the selected scale question."""
        if isinstance(self._current(), ScaleItem):
            await self._save(value)

    def action_type_text(self) -> None:
        """Type the selected question's answer (a comment question, or any as text)."""
        from console.qa_view.text_prompt import TextPrompt

        item = self._current()
        if not isinstance(item, TextItem):
            self.notify("Answer this one with its keys (y, n, a or a mark).", severity="warning")
            return
        before = self.evaluation.answers.get(item.id)
        limit = item.max_length

        async def typed(text: str | None) -> None:
            if text is not None:
                await self._save(text)

        self.app.push_screen(
            TextPrompt(item.text, (before.value or "") if before else "", limit), typed
        )

    def action_comment(self) -> None:
        """Write the overall comment the agent reads first."""
        from console.qa_view.text_prompt import TextPrompt

        def typed(text: str | None) -> None:
            if text is not None:
                self.comment = text

        self.app.push_screen(TextPrompt("Overall comment for the agent", self.comment, 4000), typed)

    async def action_submit(self) -> None:
        """Score the evaluation and make it final."""
        try:
            self.evaluation = await self.desk.submit(self.evaluation, self.comment)
        except EvaluationError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            self._goto_next(0)
            return
        verdict = "passed" if self.evaluation.passed else "failed"
        self.notify(f"Submitted: {self.evaluation.score:g}, {verdict}.", markup=False)
        self._show()

    async def action_calibration(self) -> None:
        """Every evaluator's answers for this call."""
        from console.qa_view.calibration_screen import CalibrationScreen

        evaluations, rows = await self.desk.calibration(self.entry.pick.call_id)
        await self.app.push_screen(CalibrationScreen(evaluations, rows))

    async def action_play(self) -> None:
        """Play the call's recording from where it stopped, or stop it."""
        await self.query_one(RecordingPanel).toggle()

    async def action_speed(self) -> None:
        """The recording at 1x or 1.5x (the same pitch)."""
        await self.query_one(RecordingPanel).toggle_speed()

    async def action_jump(self) -> None:
        """Pick a moment of the recording's timeline and play from it."""
        from console.qa_view.moment_picker import MomentPicker

        panel = self.query_one(RecordingPanel)
        opened, fresh = await panel.open()
        if opened is None:
            return

        async def picked(seconds: float | None) -> None:
            if seconds is not None:  # opened by this key: its row is the playback's
                await panel.play_from(seconds, audited=fresh)

        self.app.push_screen(MomentPicker(opened.moments), picked)

    def action_back(self) -> None:
        """Back to the queue; the draft is kept."""
        self.app.pop_screen()
