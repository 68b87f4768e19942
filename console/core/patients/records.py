"""The shapes patient data takes between a file, the store and the screen.

Their ``repr`` shows no patient data: a record that ends up in a traceback or
a log line must not carry PHI with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

FLAGS = ("hearing_impaired", "minor", "guardian_restriction", "do_not_disclose")
"""The patient flags the directory knows, in the order the store keeps them."""


@dataclass(frozen=True, slots=True, repr=False)
class PatientRecord:
    """One patient read from an import file, checked and normalised."""

    mrn: str
    family_name: str
    given_names: str
    birth_date: str | None
    """ISO 8601: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``."""
    preferred_language: str | None
    interpreter_needed: bool
    flags: frozenset[str]
    """A subset of :data:`FLAGS`."""
    phones: tuple[tuple[str, str], ...]
    """(E.164 number, kind) pairs, kind being FHIR's ``ContactPoint.use``."""
    source: str
    """Where the record came from (``fhir`` or ``csv``)."""

    def __repr__(self) -> str:
        return "PatientRecord(<redacted>)"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that was not imported: where it is and why (no patient data in it)."""

    file: str
    position: str
    """``line N`` for NDJSON and CSV, ``entry N`` (from 0) for a Bundle."""
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.position}: {self.reason}"


@dataclass(slots=True)
class ImportSummary:
    """What an import did."""

    imported: int = 0
    """Patients that were new to the directory."""
    updated: int = 0
    """Patients that were already there (matched by MRN) and were overwritten."""
    rejected: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True, slots=True, repr=False)
class PatientSummary:
    """A patient as a lookup returns it: enough to greet, verify and pick."""

    id: str
    mrn: str
    family_name: str
    given_names: str
    birth_date: str | None
    preferred_language: str | None
    interpreter_needed: bool
    flags: frozenset[str]

    def is_minor(self, today: date) -> bool:
        """Flagged as a minor, or under 18 on ``today`` by a full date of birth."""
        if "minor" in self.flags:
            return True
        if self.birth_date is None or len(self.birth_date) != 10:
            return False
        born = date.fromisoformat(self.birth_date)
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        return age < 18

    def __repr__(self) -> str:
        return f"PatientSummary(id={self.id!r})"
