# SPDX-License-Identifier: GPL-2.0-or-later
"""The guidance pane: the call script for the call in progress, one step at a time.

Keys while the pane has focus (``g`` puts it there): a digit answers a choice
or yes/no question (1 yes, 2 no) and advances; Enter advances a step with no
question or submits the typed answer; ← (or Backspace) goes back to revise;
``S`` switches to another script. Text, date and number answers are typed in
the pane's input; Esc leaves it. After a booking, the preparation for the
appointment (fasting, what to bring, when to arrive) shows above the script,
to be read to the patient. Every text shown comes from a script author
or from patient data: it is rendered as plain text, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Label, Static

from console.core.scripts.models import AnswerError, ChoiceQuestion, YesNoQuestion
from console.core.scripts.preparations import PreVisit
from console.core.scripts.runner import RaisedRedFlag, ScriptRun
from console.core.text import safe_text

_WIDE = 400  # cells: author text is cut only by the pane, never mid-sentence here


class GuidancePane(VerticalScroll):
    """Runs one :class:`ScriptRun`; tells the screen about red flags and changes."""

    BINDINGS = [
        *(
            Binding(str(n), f"choose({n})", show=False, id=f"guidance.choose_{n}")
            for n in range(1, 10)
        ),
        Binding("enter", "next", "Next", id="guidance.next", tooltip="Advance the script"),
        Binding("left,backspace", "back", "Back", id="guidance.back", tooltip="Revise"),
        Binding("S", "switch", "Switch script", id="guidance.switch"),
    ]

    previsit: reactive[PreVisit | None] = reactive[PreVisit | None](None, init=False)
    """The preparation to read out for the call's booked appointment (None: nothing booked)."""

    class Changed(Message):
        """The run moved (an answer, a step back, a new script): save and refresh."""

    class RedFlags(Message):
        """An answer raised red flags: escalate at once."""

        def __init__(self, flags: tuple[RaisedRedFlag, ...]) -> None:
            super().__init__()
            self.flags = flags

    class SwitchRequested(Message):
        """The agent wants another script."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=True)
        self.run: ScriptRun | None = None

    def compose(self) -> ComposeResult:
        """The preparation (after a booking), header (script and progress), the step, the
        answer input, errors."""
        yield Static("", id="guidance-previsit", markup=False)
        yield Label("", id="guidance-header", markup=False)
        yield Static(
            "No script for this call: call guidance appears here once a call is answered.",
            id="guidance-step",
            markup=False,
        )
        yield Input(id="guidance-input")
        yield Label("", id="guidance-error", markup=False)

    def on_mount(self) -> None:
        """Nothing to type until a question asks for it; nothing booked yet."""
        self.query_one("#guidance-input", Input).display = False
        self.query_one("#guidance-previsit", Static).display = False

    def watch_previsit(self, previsit: PreVisit | None) -> None:
        """Show the preparation (literal text: it holds the EHR's names) or hide it."""
        box = self.query_one("#guidance-previsit", Static)
        box.display = previsit is not None
        if previsit is None:
            return
        text = Text()
        text.append(safe_text(previsit.title, _WIDE) + "\n", style="bold reverse")
        for heading, part in previsit.parts:
            text.append(f"{heading}: " if heading else "Say: ", style="bold")
            text.append(part + "\n")
        if previsit.note:
            text.append(previsit.note + "\n", style="italic dim")
        box.update(text)

    def show(self, run: ScriptRun | None) -> None:
        """Run ``run`` in the pane (None: no script)."""
        self.run = run
        self.query_one("#guidance-error", Label).update("")
        self._render_step()

    # ------------------------------------------------------------ rendering
    def _render_step(self) -> None:
        header = self.query_one("#guidance-header", Label)
        body = self.query_one("#guidance-step", Static)
        field = self.query_one("#guidance-input", Input)
        run = self.run
        if run is None:
            header.update("")
            body.update(
                Text(
                    "No script for this call: call guidance appears here once a call is answered.",
                    style="dim italic",
                )
            )
            field.display = False
            return
        progress = run.progress
        done = round(progress.fraction * 10)
        header.update(
            f"{run.script.title} · {progress} {'█' * done}{'░' * (10 - done)}"
            + (f" · urgency {run.urgency.value.upper()}" if run.urgency.value != "routine" else "")
        )
        text = Text()
        if run.finished:
            text.append("Script complete. ", style="bold")
            text.append("← to revise an answer; the call's wrap-up is next.")
            body.update(text)
            field.display = False
            return
        step = run.current
        if step.title:
            text.append(safe_text(step.title, _WIDE) + "\n", style="bold")
        if say := run.say():
            text.append("Say: ", style="bold")
            text.append(say + "\n")
        if note := run.note():
            text.append(note + "\n", style="italic dim")
        question = step.question
        typed = False
        if question is None:
            text.append("Enter: next", style="bold")
        else:
            if question.prompt:
                text.append(run.text(question.prompt) + "\n", style="bold")
            if isinstance(question, YesNoQuestion):
                text.append("1 Yes   2 No", style="bold")
            elif isinstance(question, ChoiceQuestion):
                for number, option in enumerate(question.options, start=1):
                    text.append(f"{number} ", style="bold")
                    text.append(safe_text(option.label, _WIDE) + "\n")
            else:
                typed = True
                hint = question.help or f"type the answer ({question.kind}), Enter"
                field.placeholder = safe_text(hint, _WIDE)
                previous = run.current_answer
                field.value = "" if previous is None else str(previous)
            if not question.required:
                text.append("\n(optional: Enter skips)", style="dim")
        body.update(text)
        field.display = typed

    # -------------------------------------------------------------- answers
    def _answer(self, raw: object) -> None:
        run = self.run
        if run is None:
            return
        error = self.query_one("#guidance-error", Label)
        try:
            outcome = run.answer(raw)
        except AnswerError as exc:
            error.update(f"{exc}.")
            return
        error.update("")
        self._render_step()
        if outcome.red_flags:
            self.post_message(self.RedFlags(outcome.red_flags))
        self.post_message(self.Changed())
        if not self.query_one("#guidance-input", Input).display:
            self.focus()

    def action_choose(self, number: int) -> None:
        """Answer a choice (its number) or yes/no (1 yes, 2 no) question."""
        run = self.run
        if run is None or run.finished or run.current.question is None:
            return
        question = run.current.question
        if isinstance(question, YesNoQuestion):
            if number in (1, 2):
                self._answer(number == 1)
        elif isinstance(question, ChoiceQuestion):
            if number <= len(question.options):
                self._answer(str(number))
        else:
            self.query_one("#guidance-input", Input).focus()

    def action_next(self) -> None:
        """Advance a step without a question; skip an optional one; focus the input."""
        run = self.run
        if run is None or run.finished:
            return
        question = run.current.question
        if question is None or not question.required:
            self._answer(None)
        elif self.query_one("#guidance-input", Input).display:
            self.query_one("#guidance-input", Input).focus()

    def action_back(self) -> None:
        """Go back one step to revise it."""
        if self.run is not None and self.run.back():
            self.query_one("#guidance-error", Label).update("")
            self._render_step()
            self.post_message(self.Changed())

    def action_switch(self) -> None:
        """Ask the screen for the script picker."""
        self.post_message(self.SwitchRequested())

    @on(Input.Submitted, "#guidance-input")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        self._answer(event.value)

    def on_key(self, event: object) -> None:
        """Esc in the input returns to the pane (its keys work again)."""
        key = getattr(event, "key", None)
        field = self.query_one("#guidance-input", Input)
        if key == "escape" and field.has_focus:
            self.focus()
            getattr(event, "stop", lambda: None)()
