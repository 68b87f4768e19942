"""Synthetic clinical context for generated patients: appointments,
prescriptions, care teams and the practitioner roles they point at.

Drawn from its own seeded stream, so a patient is the same with or without
its context; dates are relative to the ``today`` given, so a demo run on any
day has appointments ahead of it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

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
        self._seed = seed
        self._today = today

    def for_patient(self, patient_id: str, *, minor: bool) -> Iterator[dict[str, Any]]:
        """Zero or more Appointment, MedicationRequest and CareTeam resources."""
        rng = self._rng
        subject = {"reference": f"Patient/{patient_id}"}
        pcp = rng.randrange(PRACTITIONERS)
        if rng.random() < 0.35:
            day = self._today + timedelta(days=rng.randint(1, 45))
            start = datetime.combine(day, time(rng.randint(13, 21), rng.choice((0, 15, 30, 45))))
            yield {
                "resourceType": "Appointment",
                "id": f"appt-{patient_id}",
                "status": rng.choice(("booked", "booked", "booked", "pending")),
                "serviceType": [{"text": rng.choice(_VISITS)}],
                "start": start.isoformat() + "Z",
                "participant": [
                    {"actor": {**subject}, "status": "accepted"},
                    {
                        "actor": {"reference": f"PractitionerRole/pr-{self._seed}-{pcp}"},
                        "status": "accepted",
                    },
                    {"actor": {"display": rng.choice(_CLINICS)}, "status": "accepted"},
                ],
            }
        if not minor and rng.random() < 0.45:
            for index, (name, dosage) in enumerate(rng.sample(_MEDICINES, rng.randint(1, 3))):
                valid = self._today + timedelta(days=rng.randint(-30, 330))
                yield {
                    "resourceType": "MedicationRequest",
                    "id": f"rx-{patient_id}-{index}",
                    "status": "on-hold" if rng.random() < 0.08 else "active",
                    "intent": "order",
                    "subject": subject,
                    "medicationCodeableConcept": {"text": name},
                    "authoredOn": (valid - timedelta(days=365)).isoformat(),
                    "dosageInstruction": [{"text": dosage}],
                    "dispenseRequest": {
                        "numberOfRepeatsAllowed": rng.choice((0, 1, 2, 3, 5, 11)),
                        "validityPeriod": {"end": valid.isoformat()},
                    },
                }
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
