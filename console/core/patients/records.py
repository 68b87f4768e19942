# SPDX-License-Identifier: GPL-2.0-or-later
"""The shapes patient data takes between a file, the store and the screen.

Their ``repr`` shows no patient data: a record that ends up in a traceback or
a log line must not carry PHI with it.
"""

from __future__ import annotations

from dataclasses import field
from datetime import date

from console.core.records import dataclass

FLAGS = ("hearing_impaired", "minor", "guardian_restriction", "do_not_disclose")
"""The patient flags the directory knows, in the order the store keeps them."""


@dataclass(frozen=True, slots=True, repr=False)
class PatientDetails:
    """Who a patient is, the same in an import record and in a lookup's summary."""

    mrn: str
    family_name: str
    given_names: str
    birth_date: str | None
    """ISO 8601: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``."""
    preferred_language: str | None
    interpreter_needed: bool
    flags: frozenset[str]
    """A subset of :data:`FLAGS`."""


@dataclass(frozen=True, slots=True, repr=False)
class PatientRecord(PatientDetails):
    """One patient read from an import file, checked and normalised."""

    phones: tuple[tuple[str, str], ...]
    """(E.164 number, kind) pairs, kind being FHIR's ``ContactPoint.use``."""
    source: str
    """Where the record came from (``fhir``, ``csv``, ``demo``)."""
    fhir_id: str | None = None
    """The FHIR resource id, which other resources' ``Patient/<id>`` references name."""

    def __repr__(self) -> str:
        return "PatientRecord(<redacted>)"

    def keys(self) -> tuple[str, ...]:
        """The subject keys clinical records may use to point at this patient."""
        return patient_keys(self.mrn, self.fhir_id)


def patient_keys(mrn: str, fhir_id: str | None) -> tuple[str, ...]:
    """Subject keys for a patient: ``mrn:<MRN>`` and, if known, ``id:<FHIR id>``.

    Appointments, medications and care teams are stored against the key their
    reference gives, so they can arrive before or after their patient.
    """
    return (f"mrn:{mrn}", f"id:{fhir_id}") if fhir_id else (f"mrn:{mrn}",)


@dataclass(frozen=True, slots=True, repr=False)
class AppointmentRecord:
    """A FHIR Appointment for one patient."""

    resource_id: str
    subject: str
    """Patient key (see :func:`patient_keys`)."""
    start: str | None
    """UTC ISO 8601 ending in Z; None for a proposed appointment with no time yet."""
    status: str
    description: str
    with_whom: str
    """The practitioner (display text), if any."""
    location: str


@dataclass(frozen=True, slots=True, repr=False)
class MedicationRecord:
    """A FHIR MedicationRequest (a prescription) for one patient."""

    resource_id: str
    subject: str
    name: str
    status: str
    dosage: str
    authored_on: str | None
    refills_allowed: int | None
    """``dispenseRequest.numberOfRepeatsAllowed``; None when not stated."""
    valid_until: str | None
    """ISO date the prescription may be dispensed until (``validityPeriod.end``)."""
    prescriber: str
    quantity: float | None = None
    """``dispenseRequest.quantity.value``: how much one fill hands over."""
    supply_days: int | None = None
    """``dispenseRequest.expectedSupplyDuration`` in days: how long one fill lasts."""
    last_filled: str | None = None
    """ISO date of the last fill (see :mod:`console.core.patients.fhir_clinical`);
    None: not known, the prescription's ``authoredOn`` stands in as the first fill."""


@dataclass(frozen=True, slots=True, repr=False)
class CareTeamRecord:
    """A FHIR CareTeam: who looks after one patient, in which role."""

    resource_id: str
    subject: str
    status: str
    members: tuple[tuple[str, str, str], ...]
    """(role, name, reference) per participant; the name may be empty when the
    reference points at a PractitionerRole or Practitioner imported separately."""


@dataclass(frozen=True, slots=True, repr=False)
class PractitionerRoleRecord:
    """A FHIR PractitionerRole: a clinician's role, specialty and direct line."""

    resource_id: str
    practitioner: str
    """The practitioner's name (display text)."""
    practitioner_ref: str
    role: str
    specialty: str
    phone: str


ClinicalRecord = AppointmentRecord | MedicationRecord | CareTeamRecord | PractitionerRoleRecord
"""Every resource an import may carry besides patients."""
ImportItem = PatientRecord | ClinicalRecord


class RecordError(ValueError):
    """One record is rejected; the message is the reason (never patient data)."""


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
    resources: dict[str, int] = field(default_factory=dict)
    """Other resources written, by kind (``appointments``, ``medications`` ...)."""
    unmatched: int = 0
    """Of those, how many name a patient the directory does not hold (yet): they
    are kept and show on the card once that patient is imported."""

    def add(self, other: ImportSummary) -> None:
        """Fold ``other`` into this summary (for a total over several files)."""
        self.imported += other.imported
        self.updated += other.updated
        self.rejected.extend(other.rejected)
        for kind, count in other.resources.items():
            self.resources[kind] = self.resources.get(kind, 0) + count
        self.unmatched += other.unmatched


@dataclass(frozen=True, slots=True, repr=False)
class PatientSummary(PatientDetails):
    """A patient as a lookup returns it: enough to greet, verify and pick."""

    id: str
    """The directory's key of the patient."""
    fhir_id: str | None = None

    def keys(self) -> tuple[str, ...]:
        """The subject keys this patient's appointments, prescriptions and teams use."""
        return patient_keys(self.mrn, self.fhir_id)

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
