# SPDX-License-Identifier: GPL-2.0-or-later
"""Verifying the caller: date of birth plus name or MRN, checked against the matches."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label

from console.core.patients.records import PatientSummary
from console.core.patients.verification import MAX_ATTEMPTS, verify
from console.dialogs.base import Dialog

Attempt = Callable[[PatientSummary | None, bool], None]
"""Told of every attempt (the patient it matched, or None) — for the audit log."""


class VerifyDialog(Dialog[PatientSummary | None]):
    """Three fields; Enter checks them against every patient on the caller's number."""

    FORM_ID = "verify"
    """Its name in a queue's ``recording.pause_forms``: recording pauses while it is open."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="verify.cancel", tooltip="Stop verifying")]

    DEFAULT_CSS = """
    VerifyDialog > Vertical { width: 64; }
    VerifyDialog #outcome { color: $error; height: auto; }
    """

    def __init__(self, candidates: list[PatientSummary], failed_before: int, on_attempt: Attempt):
        super().__init__()
        self.candidates = candidates
        self.failures = failed_before
        self.on_attempt = on_attempt

    def compose(self) -> ComposeResult:
        """Date of birth, name, MRN."""
        with Vertical():
            yield Label("Verify the caller: date of birth, plus name or MRN", markup=False)
            yield Input(placeholder="date of birth (YYYY-MM-DD or MM/DD/YYYY)", id="dob")
            yield Input(placeholder="name (family name or full name)", id="name")
            yield Input(placeholder="MRN (instead of the name)", id="mrn")
            yield Label("", id="outcome", markup=False)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "mrn" and not event.value.strip():
            return
        if event.input.id == "dob":
            self.query_one("#name", Input).focus()
            return
        dob = self.query_one("#dob", Input).value
        name = self.query_one("#name", Input).value
        mrn = self.query_one("#mrn", Input).value
        reason = "the identifiers do not match"
        for patient in self.candidates:
            result = verify(patient, name=name, birth_date=dob, mrn=mrn)
            if result.passed:
                self.on_attempt(patient, True)
                self.dismiss(patient)
                return
            reason = result.reason
        incomplete = reason.startswith("enter")
        if not incomplete:
            self.failures += 1
            self.on_attempt(None, False)
        outcome = self.query_one("#outcome", Label)
        if self.failures >= MAX_ATTEMPTS:
            outcome.update(
                f"{self.failures} failed attempts: disclose nothing; offer a "
                "callback to the number on file. (Esc)"
            )
            for field in self.query(Input):
                field.disabled = True
            return
        outcome.update(
            f"{reason}."
            if incomplete
            else f"Not verified: {reason} ({self.failures}/{MAX_ATTEMPTS})."
        )

    def action_cancel(self) -> None:
        """Close without verifying."""
        self.dismiss(None)
