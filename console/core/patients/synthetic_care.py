# SPDX-License-Identifier: GPL-2.0-or-later
"""Synthetic clinical context for generated patients: appointments,
prescriptions, care teams and the practitioner roles they point at.

Drawn from its own seeded stream, so a patient is the same with or without
its context; dates are relative to the ``today`` given, so a demo run on any
day has appointments ahead of it. A prescription's fills (quantity, supply
days, last fill: what the predictive refill reminders read) and past visits
(what feedback calls follow) come from streams of their own, so adding them
changed nothing else that was generated.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from console.core.patients.fhir_clinical import LAST_FILL_URL

PRACTITIONERS = 200
"""Practitioner roles shared by every generated care team."""

_CLINICIANS = (
    ("Primary care physician", "Family medicine"),
    ("Primary care physician", "Internal medicine"),
    ("Cardiologist", "Cardiology"),
    ("Endocrinologist", "Endocrinology"),
    ("Paediatrician", "Paediatrics"),
    ("Nurse practitioner", "Family medicine"),
)
_SURNAMES = ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Ibrahim", "Kowalski", "Reyes", "Patel")
_GIVEN = ("Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas")
_VISITS = (
    "Annual physical",
    "Diabetes follow-up",
    "Blood pressure check",
    "Flu vaccination",
    "Cardiology consult",
    "Physical therapy",
    "Lab results review",
    "Well-child visit",
)
_CLINICS = ("Riverside Clinic", "Northgate Health Centre", "Main Street Practice")
_MEDICINES = (
    ("Metformin 500 mg tablet", "1 tablet twice daily with meals"),
    ("Lisinopril 10 mg tablet", "1 tablet once daily"),
    ("Atorvastatin 20 mg tablet", "1 tablet at bedtime"),
    ("Levothyroxine 50 mcg tablet", "1 tablet every morning before breakfast"),
    ("Albuterol 90 mcg inhaler", "2 puffs every 4-6 hours as needed"),
    ("Sertraline 50 mg tablet", "1 tablet once daily"),
    ("Amlodipine 5 mg tablet", "1 tablet once daily"),
)
_PER_DAY = {"twice daily": 2, "once daily": 1, "at bedtime": 1, "every morning": 1}
"""Tablets a day by the dosage's wording; anything else (an inhaler) is one unit a fill."""
_SUPPLIES = ((30, 55), (90, 30), (60, 5), (28, 10))
"""(days one fill lasts, weight): mostly a month, many a 90-day mail-order supply."""
NEVER_FILLED = 0.1
"""Share of prescriptions with no fill on record (the day written stands in)."""
UNSTATED_SUPPLY = 0.05
"""Share whose dispense request states no supply duration (not predicted)."""
PAST_VISITS = 0.15
"""Share of patients with a visit in the last 30 days."""
LATE = 0.2
"""Share of patients who refill late: their last fill is up to 3 weeks past a supply."""


def dispense(rng: random.Random, dosage: str, authored: date, today: date) -> dict[str, Any]:
    """The fill facts of one prescription: ``dispenseRequest`` keys and, when it was
    filled, the last-fill extension (key ``extension``). Last fills spread over a whole
    supply before ``today``, so about 7/supply of them run out in any week ahead."""
    if rng.random() < UNSTATED_SUPPLY:
        return {}
    days = rng.choices([d for d, _ in _SUPPLIES], [w for _, w in _SUPPLIES])[0]
    per_day = next((n for words, n in _PER_DAY.items() if words in dosage), 0)
    facts: dict[str, Any] = {
        "quantity": {
            "value": days * per_day if per_day else 1,
            "unit": "tablet" if per_day else "inhaler",
        },
        "expectedSupplyDuration": {
            "value": days,
            "unit": "days",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        },
    }
    if rng.random() >= NEVER_FILLED:
        late = rng.randint(0, 21) if rng.random() < LATE else 0
        filled = max(authored, today - timedelta(days=rng.randint(0, days - 1) + late))
        facts["extension"] = [{"url": LAST_FILL_URL, "valueDate": filled.isoformat()}]
    return facts


def practitioner_roles(seed: int) -> Iterator[dict[str, Any]]:
    """The :data:`PRACTITIONERS` PractitionerRole resources care teams reference."""
    rng = random.Random(f"{seed}-practitioners")
    for number in range(PRACTITIONERS):
        role, specialty = rng.choice(_CLINICIANS)
        name = f"{rng.choice(_GIVEN)} {rng.choice(_SURNAMES)}"
        title = "" if role.startswith("Nurse") else "Dr. "
        yield {
            "resourceType": "PractitionerRole",
            "id": f"pr-{seed}-{number}",
            "practitioner": {
                "reference": f"Practitioner/prac-{seed}-{number}",
                "display": f"{title}{name}",
            },
            "code": [{"text": role}],
            "specialty": [{"text": specialty}],
            "telecom": [{"system": "phone", "value": f"+1202555{1000 + number:04d}"}],
        }


class CareGenerator:
    """Clinical resources for one patient at a time, from a seeded stream."""

    def __init__(self, seed: int, today: date) -> None:
        self._rng = random.Random(f"{seed}-care")
        self._fills = random.Random(f"{seed}-fills")
        self._visits = random.Random(f"{seed}-visits")
        self._seed = seed
        self._today = today

    def for_patient(self, patient_id: str, *, minor: bool) -> Iterator[dict[str, Any]]:
        """Zero or more Appointment, MedicationRequest and CareTeam resources."""
        rng = self._rng
        subject = {"reference": f"Patient/{patient_id}"}
        pcp = rng.randrange(PRACTITIONERS)
        if rng.random() < 0.35:
            day = self._today + timedelta(days=rng.randint(1, 45))
            start = _start(rng, day)
            yield {
                "resourceType": "Appointment",
                "id": f"appt-{patient_id}",
                "status": rng.choice(("booked", "booked", "booked", "pending")),
                "serviceType": [{"text": rng.choice(_VISITS)}],
                "start": start,
                "participant": [
                    *self._attending(subject, pcp),
                    {"actor": {"display": rng.choice(_CLINICS)}, "status": "accepted"},
                ],
            }
        if not minor and rng.random() < 0.45:
            for index, (name, dosage) in enumerate(rng.sample(_MEDICINES, rng.randint(1, 3))):
                valid = self._today + timedelta(days=rng.randint(-30, 330))
                authored = valid - timedelta(days=365)
                fills = dispense(self._fills, dosage, authored, self._today)
                extension = fills.pop("extension", None)
                yield {
                    "resourceType": "MedicationRequest",
                    "id": f"rx-{patient_id}-{index}",
                    "status": "on-hold" if rng.random() < 0.08 else "active",
                    "intent": "order",
                    "subject": subject,
                    "medicationCodeableConcept": {"text": name},
                    "authoredOn": authored.isoformat(),
                    "dosageInstruction": [{"text": dosage}],
                    "dispenseRequest": {
                        "numberOfRepeatsAllowed": rng.choice((0, 1, 2, 3, 5, 11)),
                        "validityPeriod": {"end": valid.isoformat()},
                        **fills,
                    },
                } | ({"extension": extension} if extension else {})
        yield from self._past_visit(patient_id, subject, pcp)
        if rng.random() < 0.5:
            yield {
                "resourceType": "CareTeam",
                "id": f"team-{patient_id}",
                "status": "active",
                "subject": subject,
                "participant": [
                    {
                        "role": [{"text": "Primary care"}],
                        "member": {"reference": f"PractitionerRole/pr-{self._seed}-{pcp}"},
                    },
                    {
                        "role": [{"text": "Care coordinator"}],
                        "member": {"display": f"{rng.choice(_GIVEN)} {rng.choice(_SURNAMES)}, RN"},
                    },
                ],
            }

    def _past_visit(
        self, patient_id: str, subject: dict[str, str], pcp: int
    ) -> Iterator[dict[str, Any]]:
        """A visit in the last 30 days for :data:`PAST_VISITS` of patients (mostly taken
        place, some missed): what feedback calls follow."""
        rng = self._visits
        if rng.random() >= PAST_VISITS:
            return
        day = self._today - timedelta(days=rng.randint(1, 30))
        start = _start(rng, day)
        yield {
            "resourceType": "Appointment",
            "id": f"visit-{patient_id}",
            "status": "noshow" if rng.random() < 0.1 else "fulfilled",
            "serviceType": [{"text": rng.choice(_VISITS)}],
            "start": start,
            "participant": self._attending(subject, pcp),
        }

    def _attending(self, subject: dict[str, str], pcp: int) -> list[dict[str, Any]]:
        """An appointment's patient and clinician participants."""
        return [
            {"actor": {**subject}, "status": "accepted"},
            {
                "actor": {"reference": f"PractitionerRole/pr-{self._seed}-{pcp}"},
                "status": "accepted",
            },
        ]


def _start(rng: random.Random, day: date) -> str:
    """A start time on ``day`` (UTC, afternoon: a US clinic's morning to evening)."""
    moment = datetime.combine(day, time(rng.randint(13, 21), rng.choice((0, 15, 30, 45))))
    return moment.isoformat() + "Z"
