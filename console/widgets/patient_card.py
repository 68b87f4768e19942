# SPDX-License-Identifier: GPL-2.0-or-later
"""The patient card: greeting only until the caller is verified, then the details."""

from __future__ import annotations

from datetime import date, datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from console.core.ehr.refills import Prescription
from console.core.ehr.scheduling import Booking
from console.core.patients.context import Appointment, PatientContext
from console.core.patients.records import PatientSummary
from console.core.patients.verification import first_name
from console.core.text import safe_text

_FLAG_TEXT = {
    "do_not_disclose": "DO NOT DISCLOSE",
    "guardian_restriction": "GUARDIAN RESTRICTION",
    "hearing_impaired": "HEARING IMPAIRED",
    "minor": "MINOR",
}
_LINE = 70  # cells for one free-text field on the card


class PatientCard(Static):
    """Screen pop for the call in focus; shows nothing beyond a first name and
    reason hints until verified."""

    matches: reactive[tuple[PatientSummary, ...] | None] = reactive(None, layout=True)
    """Directory matches for the caller's number (None: no call, or lookup pending)."""
    hints: reactive[tuple[str, ...]] = reactive((), layout=True)
    """What the call is likely about (categories, no detail), for a single match."""
    about: reactive[str] = reactive("", layout=True)
    """Why an outbound (worklist) call is made: said instead of the hints ("" inbound)."""
    verified: reactive[PatientSummary | None] = reactive(None, layout=True)
    """The patient whose identity the agent verified on this call."""
    context: reactive[PatientContext | None] = reactive(None, layout=True)
    """The verified patient's appointments, prescriptions, team and past calls."""
    today: reactive[date] = reactive(date.today)
    """For working out minors and refill eligibility."""
    bookings: reactive[tuple[Booking, ...] | None] = reactive(None, layout=True)
    """The patient's booked appointments as the EHR (or the demo's scheduling) says, which
    replace the directory's copy when there is one (None: no scheduling, or not read yet)."""
    schedule_note: reactive[str] = reactive("", layout=True)
    """Why the appointments are not the EHR's own, or what booking is doing, in words."""
    prescriptions: reactive[tuple[Prescription, ...] | None] = reactive(None, layout=True)
    """The patient's current prescriptions as the refills backend says, which replace the
    directory's copy when there is one (None: no refills backend, or not read yet)."""
    refill_note: reactive[str] = reactive("", layout=True)
    """Why the prescriptions are not the EHR's own, or what to tell the patient, in words
    (a line each)."""
    expectations: reactive[tuple[tuple[str, str], ...] | None] = reactive(None, layout=True)
    """Pending tests and results as (test, timeline) (None: no orders backend, or not read)."""
    orders_note: reactive[str] = reactive("", layout=True)
    """Why the pending tests cannot be shown, in words."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)

    DEFAULT_CSS = """
    /* One line per fact, cut with "…" at the pane's edge: wrapped lines
       would push the last sections out of sight. */
    PatientCard.-details { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def watch_verified(self, patient: PatientSummary | None) -> None:
        """The greeting and prompts wrap; the details are cut to one line each."""
        self.set_class(patient is not None, "-details")

    def render(self) -> Text:
        """Literal text only; every field is patient data from an import."""
        patient = self.verified
        if patient is not None:
            text = self._details(patient)
            if self.context is not None:
                self._sections(text, self.context)
            return text
        matches = self.matches
        if matches is None:
            return Text(
                "No patient yet: the caller's record appears here when a call rings.",
                style="dim italic",
            )
        if not matches:
            return Text(
                "Unknown caller: no patient has this number.\n"
                "Search by name, date of birth, MRN or phone, then verify: press v.",
                style="italic",
            )
        if len(matches) == 1:
            text = Text()
            text.append(f"Greet: {safe_text(first_name(matches[0]), 30)}\n", style="bold")
            if self.about:
                text.append(f"Calling about: {safe_text(self.about, _LINE)}\n")
            elif self.hints:
                text.append(f"Likely about: {' · '.join(self.hints)}\n")
            text.append(
                "Verify two identifiers (date of birth + name or MRN) before any detail: press v."
            )
            return text
        names = ", ".join(safe_text(first_name(p), 20) for p in matches[:6])
        more = f" and {len(matches) - 6} more" if len(matches) > 6 else ""
        text = Text()
        text.append(f"{len(matches)} patients share this number: {names}{more}.\n", style="bold")
        text.append("Ask who is calling, then verify (v).")
        return text

    def _details(self, patient: PatientSummary) -> Text:
        text = Text()
        flags = [_FLAG_TEXT[f] for f in sorted(patient.flags) if f in _FLAG_TEXT]
        if patient.is_minor(self.today) and "MINOR" not in flags:
            flags.append("MINOR")
        if patient.interpreter_needed:
            # In the banner, not at the end of a line that may be cut short.
            flags.insert(0, "INTERPRETER NEEDED")
        if flags:
            text.append(" " + " · ".join(flags) + " ", style="bold reverse")
            text.append("\n")
        name = f"{patient.given_names} {patient.family_name}".strip()
        text.append(f"{safe_text(name, 40)}  ✓ verified\n", style="bold")
        text.append(
            f"DOB {safe_text(patient.birth_date or '?', 10)}  MRN {safe_text(patient.mrn, 20)}  "
        )
        language = safe_text(patient.preferred_language or "not recorded", 12)
        text.append(f"Language: {language}\n")
        return text

    def _sections(self, text: Text, context: PatientContext) -> None:
        text.append("Upcoming appointments", style="bold underline")
        text.append(
            "  k: book, move or cancel\n" if self.bookings is not None else "\n", style="dim"
        )
        if self.schedule_note:
            text.append(f"  {safe_text(self.schedule_note, _LINE)}\n", style="italic yellow")
        appointments = (
            context.appointments if self.bookings is None else tuple(map(_shown, self.bookings))
        )
        if not appointments:
            text.append("  none booked\n", style="dim")
        for appointment in appointments:
            when = appointment.start.astimezone().strftime("%a %d %b %H:%M")
            parts = [appointment.description or "appointment", appointment.with_whom]
            parts.append(appointment.location)
            detail = " · ".join(part for part in parts if part)
            text.append(f"  {when}  ")
            text.append(safe_text(detail, _LINE))
            if appointment.status != "booked":
                text.append(f" ({safe_text(appointment.status, 12)})", style="italic")
            text.append("\n")
        self._medications(text, context)
        self._expectations(text)
        text.append("Care team\n", style="bold underline")
        if not context.care_team:
            text.append("  none recorded\n", style="dim")
        for member in context.care_team:
            who = member.name or "(name not on file)"
            line = f"{member.role + ': ' if member.role else ''}{who}"
            if member.specialty:
                line += f" ({member.specialty})"
            if member.phone:
                line += f"  {member.phone}"
            text.append("  " + safe_text(line, _LINE + 10) + "\n")
        text.append("Recent interactions\n", style="bold underline")
        if not context.interactions:
            text.append("  none at this desk\n", style="dim")
        for call in context.interactions:
            when = _local(call.received_at)
            outcome = "answered" if call.answered else (call.end_reason or "missed")
            note = call.notes.strip().splitlines()[0] if call.notes.strip() else ""
            text.append(f"  {when}  {call.direction} {safe_text(outcome, 20)}")
            if note:
                text.append(f" — {safe_text(note, _LINE - 30)}")
            text.append("\n")

    def _medications(self, text: Text, context: PatientContext) -> None:
        text.append("Medications", style="bold underline")
        hint = "  l: request a refill\n" if self.prescriptions is not None else "\n"
        text.append(hint, style="dim")
        for line in self.refill_note.splitlines():  # one line per sentence: none is cut off
            text.append(f"  {safe_text(line, _LINE + 40)}\n", style="italic yellow")
        rows = [
            (m.name, m.dosage, *m.refill(self.today))
            for m in (context.medications if self.prescriptions is None else ())
        ] + [(p.name, p.dosage, *p.eligibility(self.today)) for p in self.prescriptions or ()]
        if not rows:
            text.append("  none current\n", style="dim")
        for name, dosage, refill, eligible in rows:
            text.append(f"  {safe_text(name, 40)}", style="bold")
            if dosage:
                text.append(f" — {safe_text(dosage, _LINE - 30)}")
            text.append("\n    ")
            text.append(
                f"{'✓' if eligible else '✗'} {safe_text(refill, _LINE)}",
                style="green" if eligible else "yellow",
            )
            text.append("\n")

    def _expectations(self, text: Text) -> None:
        """Pending tests and results with their usual turnaround (shown once read)."""
        if self.expectations is None and not self.orders_note:
            return
        text.append("Pending tests and results\n", style="bold underline")
        if self.orders_note:
            text.append(f"  {safe_text(self.orders_note, _LINE + 40)}\n", style="italic yellow")
        elif not self.expectations:
            text.append("  none pending\n", style="dim")
        for test, timeline in self.expectations or ():
            text.append(f"  {safe_text(test, 40)}", style="bold")
            text.append(f" — {safe_text(timeline, _LINE + 10)}\n")


def _shown(booking: Booking) -> Appointment:
    """A booking as the card lists appointments."""
    return Appointment(
        booking.start, booking.status, booking.description, booking.clinician, booking.location
    )


def _local(stamp: str) -> str:
    """A stored UTC time stamp as the agent's local day and time."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return safe_text(stamp, 20)
    return moment.astimezone().strftime("%a %d %b %H:%M")
