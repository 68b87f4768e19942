# SPDX-License-Identifier: GPL-2.0-or-later
"""Preview dialling: the next worklist item (who, why, which number) and its outcome.

The preview names the patient by first name only: nobody on the line has been
verified yet, as in the screen pop. Everything shown (name, reason, number)
comes from the directory and the generator, so it is cleaned and rendered as
literal text.
"""

from __future__ import annotations

from typing import Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from console.core.records import dataclass
from console.core.text import safe_text
from console.core.worklists.store import Outcome
from console.dialogs.base import Dialog

PreviewChoice = Literal["dial", "skip", "leave", "yield"]
"""What became of a preview: Enter dials, s skips, Esc leaves worklist mode; a call
that rings over it takes its place (yield)."""

OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.CONFIRMED: "Confirmed",
    Outcome.RESCHEDULED: "Rescheduled",
    Outcome.CANCELLED: "Cancelled",
    Outcome.VOICEMAIL: "Left a voicemail",
    Outcome.NO_ANSWER: "No answer",
    Outcome.BUSY: "Busy",
    Outcome.WRONG_NUMBER: "Wrong number",
    Outcome.OPTED_OUT: "Opted out (never call again)",
}
"""The outcomes in the order the picker lists them (digits 1-8 pick them)."""


@dataclass(frozen=True, slots=True, repr=False)
class Preview:
    """What the agent sees before dialling (plain values)."""

    list_title: str
    first_name: str
    reason: str
    number: str
    attempt: int
    max_attempts: int

    def __repr__(self) -> str:
        return f"Preview(attempt={self.attempt})"


@dataclass(frozen=True, slots=True)
class OutcomeChoice:
    """The outcome the agent picked, and whether the patient asked to be called back."""

    outcome: Outcome
    callback: bool = False


class WorklistPreview(Dialog[PreviewChoice]):
    """The next item: Enter dials, s skips (with a reason), Esc leaves worklist mode."""

    BINDINGS = [
        Binding("enter", "choose('dial')", "Dial", id="worklist.dial", tooltip="Call the number"),
        Binding(
            "s", "choose('skip')", "Skip", id="worklist.skip", tooltip="Skip this item (a reason)"
        ),
        Binding(
            "escape",
            "choose('leave')",
            "Leave worklist",
            id="worklist.leave",
            tooltip="Stop working the worklist; the item goes back to the list",
        ),
    ]

    DEFAULT_CSS = """
    WorklistPreview > Vertical { width: 72; max-width: 100%; }
    WorklistPreview #preview-who { text-style: bold; }
    """

    def __init__(self, preview: Preview) -> None:
        super().__init__()
        self.preview = preview

    def compose(self) -> ComposeResult:
        """List, who, why, number and attempt, then the keys."""
        p = self.preview
        with Vertical():
            yield Label(f"Worklist: {safe_text(p.list_title, 60)}", markup=False)
            yield Label(f"Call {safe_text(p.first_name, 40)}", id="preview-who", markup=False)
            yield Label(f"Why: {safe_text(p.reason, 120)}", id="preview-why", markup=False)
            yield Label(f"Number: {safe_text(p.number, 32)}", id="preview-number", markup=False)
            yield Label(
                f"Attempt {p.attempt} of {p.max_attempts}", id="preview-attempt", markup=False
            )
            yield Label(
                "Enter: dial  ·  s: skip  ·  Esc: leave the worklist", classes="hint", markup=False
            )

    def action_choose(self, choice: PreviewChoice) -> None:
        """Hand the agent's choice back."""
        self.dismiss(choice)


class OutcomePicker(Dialog[OutcomeChoice | None]):
    """After a worklist call: pick the outcome (the proposed one first highlighted);
    ``b`` marks that the patient asked to be called back."""

    BINDINGS = [
        Binding(
            "b",
            "callback",
            "Callback",
            id="worklist.callback",
            tooltip="The patient asked to be called back (goes to the callbacks list)",
        ),
        Binding("escape", "cancel", "Later", id="worklist.outcome_later", show=False),
    ]

    DEFAULT_CSS = """
    OutcomePicker > Vertical { width: 60; max-width: 100%; }
    OutcomePicker OptionList { height: auto; max-height: 10; }
    """

    def __init__(self, title: str, proposed: Outcome | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.proposed = proposed
        self.callback = False
        """Whether the patient asked to be called back."""
        self.outcomes = list(OUTCOME_LABELS)

    def compose(self) -> ComposeResult:
        """Title, the outcomes, the callback toggle."""
        with Vertical():
            yield Label(self.title_text, markup=False)
            yield OptionList(
                *[
                    Option(Text(f"{n}  {OUTCOME_LABELS[o]}"), id=o.value)
                    for n, o in enumerate(self.outcomes, start=1)
                ],
            )
            yield Label(self._hint(), id="outcome-hint", classes="hint", markup=False)

    def _hint(self) -> str:
        mark = "[x]" if self.callback else "[ ]"
        return f"{mark} b: patient asks for a callback  ·  Enter: save"

    def on_mount(self) -> None:
        """Start on the proposed outcome (a SIP failure proposes busy or no answer)."""
        listing = self.query_one(OptionList)
        listing.highlighted = self.outcomes.index(self.proposed) if self.proposed else 0
        listing.focus()

    def on_key(self, event: object) -> None:
        """Digits pick an outcome at once."""
        key = getattr(event, "character", None) or ""
        if key.isdigit() and 1 <= int(key) <= len(self.outcomes):
            self.dismiss(OutcomeChoice(self.outcomes[int(key) - 1], self.callback))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(OutcomeChoice(Outcome(event.option.id or ""), self.callback))

    def action_callback(self) -> None:
        """Toggle the callback request."""
        self.callback = not self.callback
        self.query_one("#outcome-hint", Label).update(self._hint())

    def action_cancel(self) -> None:
        """Esc does not lose the outcome: the picker asks again (the item stays claimed)."""
        self.notify("Pick the outcome: the call must be recorded.", markup=False)
