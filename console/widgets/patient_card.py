"""The patient card: greeting only until the caller is verified, then the details."""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from console.core.patients.records import PatientSummary
from console.core.patients.verification import first_name
from console.core.text import safe_text

_FLAG_TEXT = {
    "do_not_disclose": "DO NOT DISCLOSE",
    "guardian_restriction": "GUARDIAN RESTRICTION",
    "hearing_impaired": "HEARING IMPAIRED",
    "minor": "MINOR",
}


class PatientCard(Static):
    """Screen pop for the call in focus; shows nothing beyond a first name until verified."""

    matches: reactive[tuple[PatientSummary, ...] | None] = reactive(None, layout=True)
    """Directory matches for the caller's number (None: no call, or lookup pending)."""
    verified: reactive[PatientSummary | None] = reactive(None, layout=True)
    """The patient whose identity the agent verified on this call."""
    today: reactive[date] = reactive(date.today)
    """For working out minors."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)

    def render(self) -> Text:
        """Literal text only; every field is patient data from an import."""
        patient = self.verified
        if patient is not None:
            return self._details(patient)
        matches = self.matches
        if matches is None:
            return Text(
                "No patient yet: the caller's record appears here when a call rings.",
                style="dim italic",
            )
        if not matches:
            return Text(
                "Unknown caller: no patient has this number.\n"
                "Verify who is calling before giving any details (v).",
                style="italic",
            )
        if len(matches) == 1:
            text = Text()
            text.append(f"Greet: {safe_text(first_name(matches[0]), 30)}\n", style="bold")
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
        if flags:
            text.append(" " + " · ".join(flags) + " ", style="bold reverse")
            text.append("\n")
        name = f"{patient.given_names} {patient.family_name}".strip()
        text.append(f"{safe_text(name, 40)}  ✓ verified\n", style="bold")
        text.append(
            f"DOB {safe_text(patient.birth_date or '?', 10)}  MRN {safe_text(patient.mrn, 20)}\n"
        )
        language = safe_text(patient.preferred_language or "not recorded", 12)
        text.append(f"Language: {language}")
        if patient.interpreter_needed:
            text.append("  INTERPRETER NEEDED", style="bold")
        text.append("\n")
        return text
