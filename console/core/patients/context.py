# SPDX-License-Identifier: GPL-2.0-or-later
"""The clinical context around a patient: written from imports, read for the card.

Appointments, prescriptions and care teams are stored against the patient key
their FHIR reference gives (see :func:`records.patient_keys`) and read back by
both keys of a patient. What the card reads is bounded (a few rows per
section, by index), so a card costs the same with a million patients as with
ten. Every shape here hides its data from ``repr``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import date, datetime, timedelta
from typing import Any

import aiosqlite

from console.core.audit import Category
from console.core.patients.records import (
    AppointmentRecord,
    CareTeamRecord,
    ClinicalRecord,
    MedicationRecord,
    PatientSummary,
    PractitionerRoleRecord,
)
from console.core.records import dataclass
from console.core.store import Store

UPCOMING_STATUSES = ("proposed", "pending", "booked", "arrived", "checked-in", "waitlist")
"""Appointment statuses that still lie ahead (not cancelled, fulfilled, no-show)."""
CURRENT_MEDICATION_STATUSES = ("active", "on-hold", "draft")
"""Prescriptions the patient may ask about; stopped and completed ones are not shown."""
SOON = timedelta(days=14)
"""An appointment this close makes "upcoming appointment" a greeting hint."""
REFILL_WINDOW = timedelta(days=30)
"""A prescription that runs out this soon makes "refill" a greeting hint."""
_LIMITS = {"appointments": 3, "medications": 6, "care_team": 5, "interactions": 3}
_IN_CHUNK = 400


@dataclass(frozen=True, slots=True, repr=False)
class Appointment:
    """An upcoming appointment as the card shows it."""

    start: datetime
    status: str
    description: str
    with_whom: str
    location: str


@dataclass(frozen=True, slots=True, repr=False)
class Medication:
    """A current prescription as the card shows it."""

    name: str
    status: str
    dosage: str
    refills_allowed: int | None
    valid_until: str | None
    prescriber: str

    def refill(self, today: date) -> tuple[str, bool]:
        """(What the agent can tell the patient about a refill, whether it can go ahead)."""
        if self.status == "on-hold":
            return "on hold: ask the prescriber", False
        if self.status == "draft":
            return "not yet signed by the prescriber", False
        if self.valid_until is not None and self.valid_until < today.isoformat():
            return f"expired {self.valid_until}: needs a new prescription", False
        if self.refills_allowed == 0:
            return "no refills authorised: needs prescriber approval", False
        if self.refills_allowed is None:
            return "refills not stated: check with the pharmacy", False
        until = f" until {self.valid_until}" if self.valid_until else ""
        return f"refill eligible ({self.refills_allowed} authorised{until})", True


@dataclass(frozen=True, slots=True, repr=False)
class CareTeamMember:
    """Someone on the patient's care team."""

    role: str
    name: str
    specialty: str
    phone: str


@dataclass(frozen=True, slots=True, repr=False)
class Interaction:
    """An earlier call with this patient, taken at this workstation."""

    received_at: str
    direction: str
    answered: bool
    end_reason: str | None
    notes: str


@dataclass(frozen=True, slots=True, repr=False)
class PatientContext:
    """Everything the verified card shows besides demographics and flags."""

    appointments: tuple[Appointment, ...]
    medications: tuple[Medication, ...]
    care_team: tuple[CareTeamMember, ...]
    interactions: tuple[Interaction, ...]

    def categories(self) -> tuple[Category, ...]:
        """The audit data categories this context puts on screen."""
        sections: tuple[tuple[Category, tuple[object, ...]], ...] = (
            ("appointments", self.appointments),
            ("medications", self.medications),
            ("care_team", self.care_team),
            ("interactions", self.interactions),
        )
        return ("demographics", "flags", *(name for name, rows in sections if rows))


# ------------------------------------------------------------------- writing
async def write_clinical(
    db: aiosqlite.Connection, records: Sequence[ClinicalRecord], now: str
) -> tuple[dict[str, int], int]:
    """Upsert ``records`` inside the caller's transaction.

    Returns (count per kind, how many name a patient the directory lacks).
    """
    appointments = [r for r in records if isinstance(r, AppointmentRecord)]
    medications = [r for r in records if isinstance(r, MedicationRecord)]
    teams = [r for r in records if isinstance(r, CareTeamRecord)]
    roles = [r for r in records if isinstance(r, PractitionerRoleRecord)]
    await _upsert(db, "appointments", appointments, now)
    await _upsert(db, "medications", medications, now)
    # A team's members are replaced as a whole: someone who left the team
    # must not linger on the card.
    await db.executemany(
        "DELETE FROM care_team_members WHERE resource_id = ?", [(t.resource_id,) for t in teams]
    )
    await db.executemany(
        """INSERT OR REPLACE INTO care_team_members
               (resource_id, position, subject, status, role, name, reference, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            (t.resource_id, position, t.subject, t.status, role, name, reference, now)
            for t in teams
            for position, (role, name, reference) in enumerate(t.members)
        ],
    )
    await _upsert(db, "practitioner_roles", roles, now)
    counts = {
        kind: len(group)
        for kind, group in (
            ("appointments", appointments),
            ("medications", medications),
            ("care teams", teams),
            ("practitioner roles", roles),
        )
        if group
    }
    subjects = [
        *(a.subject for a in appointments),
        *(m.subject for m in medications),
        *(t.subject for t in teams),
    ]
    known = await _known_subjects(db, set(subjects))
    return counts, sum(subject not in known for subject in subjects)


async def _upsert(
    db: aiosqlite.Connection,
    table: str,
    records: Sequence[AppointmentRecord | MedicationRecord | PractitionerRoleRecord],
    now: str,
) -> None:
    """Insert or update ``records`` by resource id; the table's columns are the
    record's fields, in order, plus ``updated_at``."""
    if not records:
        return
    columns = [f.name for f in fields(records[0])]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}, updated_at) "
        f"VALUES ({_marks(columns)}, ?) ON CONFLICT (resource_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in [*columns[1:], "updated_at"])
    )
    await db.executemany(sql, [(*(getattr(r, c) for c in columns), now) for r in records])


async def _known_subjects(db: aiosqlite.Connection, subjects: set[str]) -> set[str]:
    """Which of ``subjects`` name a patient in the directory."""
    by_mrn = sorted(s[4:] for s in subjects if s.startswith("mrn:"))
    by_id = sorted(s[3:] for s in subjects if s.startswith("id:"))
    known: set[str] = set()
    for column, prefix, values in (("mrn", "mrn:", by_mrn), ("fhir_id", "id:", by_id)):
        for start in range(0, len(values), _IN_CHUNK):
            chunk = values[start : start + _IN_CHUNK]
            cursor = await db.execute(
                f"SELECT {column} FROM patients WHERE {column} IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            known.update(prefix + str(row[0]) for row in await cursor.fetchall())
            await cursor.close()
    return known


# ------------------------------------------------------------------- reading
def _subject_clause(patient: PatientSummary) -> tuple[str, tuple[str, ...]]:
    keys = patient.keys()
    return f"subject IN ({', '.join('?' * len(keys))})", keys


async def load_context(store: Store, patient: PatientSummary, now: datetime) -> PatientContext:
    """The verified card's sections for ``patient`` as of ``now`` (UTC)."""
    where, keys = _subject_clause(patient)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    appointments = await store.fetch_all(
        f"""SELECT start, status, description, with_whom, location FROM appointments
            WHERE {where} AND start >= ? AND status IN ({_marks(UPCOMING_STATUSES)})
            ORDER BY start LIMIT {_LIMITS["appointments"]}""",
        (*keys, stamp, *UPCOMING_STATUSES),
    )
    medications = await store.fetch_all(
        f"""SELECT name, status, dosage, refills_allowed, valid_until, prescriber
            FROM medications
            WHERE {where} AND status IN ({_marks(CURRENT_MEDICATION_STATUSES)})
            ORDER BY status <> 'active', name LIMIT {_LIMITS["medications"]}""",
        (*keys, *CURRENT_MEDICATION_STATUSES),
    )
    # A member named only by reference takes the name, role and direct line
    # from the PractitionerRole (by its id, or by the Practitioner it is for).
    team = await store.fetch_all(
        f"""SELECT m.resource_id, m.position, m.role, m.name,
                   coalesce(r.practitioner, p.practitioner, ''),
                   coalesce(r.role, p.role, ''),
                   coalesce(r.specialty, p.specialty, ''),
                   coalesce(r.phone, p.phone, '')
            FROM care_team_members m
            LEFT JOIN practitioner_roles r ON r.resource_id = m.reference
            LEFT JOIN practitioner_roles p
                   ON r.resource_id IS NULL AND m.reference LIKE 'Practitioner/%'
                  AND p.practitioner_ref = m.reference
            WHERE m.{where} AND m.status IN ('active', 'proposed')
            ORDER BY m.resource_id, m.position""",
        keys,
    )
    interactions = await store.fetch_all(
        f"""SELECT received_at, direction, answered_at IS NOT NULL, end_reason, notes
            FROM calls WHERE patient_id = ? AND ended_at IS NOT NULL
            ORDER BY received_at DESC LIMIT {_LIMITS["interactions"]}""",
        (patient.id,),
    )
    return PatientContext(
        appointments=tuple(
            Appointment(_parse_stamp(row[0]), row[1], row[2], row[3], row[4])
            for row in appointments
        ),
        medications=tuple(Medication(*row) for row in medications),
        care_team=_members(team),
        interactions=tuple(
            Interaction(row[0], row[1], bool(row[2]), row[3], row[4]) for row in interactions
        ),
    )


def _members(rows: list[tuple[Any, ...]]) -> tuple[CareTeamMember, ...]:
    seen: set[tuple[str, int]] = set()
    members: list[CareTeamMember] = []
    for resource_id, position, role, name, role_name, role_title, specialty, phone in rows:
        if (resource_id, position) in seen:
            continue  # a Practitioner with several roles: the first is enough
        seen.add((resource_id, position))
        members.append(CareTeamMember(role or role_title, name or role_name, specialty, phone))
    return tuple(members[: _LIMITS["care_team"]])


async def greeting_hints(store: Store, patient: PatientSummary, now: datetime) -> tuple[str, ...]:
    """What the call is likely about, without a detail: shown before verification.

    "upcoming appointment" when one is due within :data:`SOON`; "prescription
    refill" when a current prescription runs out within :data:`REFILL_WINDOW`
    or has no refills left.
    """
    where, keys = _subject_clause(patient)
    hints: list[str] = []
    soon = await store.fetch_all(
        f"""SELECT 1 FROM appointments
            WHERE {where} AND start >= ? AND start < ? AND status IN ({_marks(UPCOMING_STATUSES)})
            LIMIT 1""",
        (
            *keys,
            now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            (now + SOON).strftime("%Y-%m-%dT%H:%M:%SZ"),
            *UPCOMING_STATUSES,
        ),
    )
    if soon:
        hints.append("upcoming appointment")
    refill = await store.fetch_all(
        f"""SELECT 1 FROM medications
            WHERE {where} AND status = 'active'
              AND (refills_allowed = 0 OR valid_until < ?)
            LIMIT 1""",
        (*keys, (now + REFILL_WINDOW).date().isoformat()),
    )
    if refill:
        hints.append("prescription refill")
    return tuple(hints)


def _marks(values: Sequence[str]) -> str:
    return ", ".join("?" * len(values))


def _parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
