# SPDX-License-Identifier: GPL-2.0-or-later
"""Synthetic patients for the demo, the tests and the benchmarks.

Deterministic: the same ``count`` and ``seed`` give the same patients on any
day and any machine (dates are relative to a fixed reference day). Patients
come in households that share a home phone; children are minors, some
households speak a language other than English and some of those need an
interpreter.

Every phone number is in the North American fictional range 555-0100..0199,
spread over every area code that phonenumbers accepts, so numbers are valid
for the parser but reach no one. That pool holds about 45,000 numbers: past
that, unrelated households share numbers too (a lookup then finds more
patients than a real directory would).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TextIO

import phonenumbers

from console.core.patients.importers import FLAG_SYSTEM, INTERPRETER_EXTENSION
from console.core.patients.synthetic_care import CareGenerator, practitioner_roles
from console.core.records import dataclass

REFERENCE_DAY = date(2026, 1, 1)
"""Ages are computed from this day, not today, so the output never drifts."""

MRN_SYSTEM = "https://careline.invalid/fhir/sid/mrn"


@dataclass(frozen=True, slots=True)
class _Culture:
    language: str
    speaks_language: float
    """Share of households that prefer ``language`` over English."""
    given: tuple[str, ...]
    family: tuple[str, ...]


_CULTURES = (
    _Culture(
        "en",
        1.0,
        (
            "James",
            "Mary",
            "Robert",
            "Patricia",
            "John",
            "Jennifer",
            "Michael",
            "Linda",
            "David",
            "Elizabeth",
            "William",
            "Susan",
            "Emily",
            "Daniel",
            "Grace",
            "Noah",
        ),
        (
            "Smith",
            "Johnson",
            "Williams",
            "Brown",
            "Jones",
            "Miller",
            "Davis",
            "Wilson",
            "Anderson",
            "Taylor",
            "Thomas",
            "Moore",
            "Jackson",
            "White",
            "Harris",
            "Clark",
        ),
    ),
    _Culture(
        "es",
        0.6,
        (
            "José",
            "María",
            "Luis",
            "Carmen",
            "Juan",
            "Guadalupe",
            "Carlos",
            "Rosa",
            "Miguel",
            "Ana",
            "Alejandro",
            "Lucía",
            "Javier",
            "Sofía",
            "Diego",
            "Valentina",
        ),
        (
            "García",
            "Rodríguez",
            "Martínez",
            "Hernández",
            "López",
            "González",
            "Pérez",
            "Sánchez",
            "Ramírez",
            "Torres",
            "Flores",
            "Rivera",
            "Gómez",
            "Díaz",
            "Reyes",
        ),
    ),
    _Culture(
        "zh",
        0.5,
        ("Wei", "Fang", "Jing", "Lei", "Min", "Yan", "Jun", "Li", "Hui", "Xin", "Hao", "Mei"),
        ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu"),
    ),
    _Culture(
        "vi",
        0.5,
        ("Anh", "Minh", "Linh", "Huong", "Tuan", "Thao", "Duc", "Lan", "Quang", "Mai"),
        ("Nguyen", "Tran", "Le", "Pham", "Hoang", "Huynh", "Phan", "Vu", "Vo", "Dang"),
    ),
    _Culture(
        "ar",
        0.5,
        (
            "Mohammed",
            "Fatima",
            "Ahmed",
            "Aisha",
            "Omar",
            "Mariam",
            "Youssef",
            "Layla",
            "Ali",
            "Noor",
            "Hassan",
            "Zainab",
        ),
        ("Haddad", "Khalil", "Mansour", "Nasser", "Saleh", "Hamdan", "Aziz", "Farah"),
    ),
    _Culture(
        "fr",
        0.4,
        (
            "Jean",
            "Marie",
            "Pierre",
            "Camille",
            "Louis",
            "Chloé",
            "Antoine",
            "Léa",
            "Hugo",
            "Manon",
            "Julien",
            "Élodie",
        ),
        (
            "Martin",
            "Bernard",
            "Dubois",
            "Thomas",
            "Robert",
            "Richard",
            "Petit",
            "Durand",
            "Leroy",
            "Moreau",
            "Lefèvre",
            "Girard",
        ),
    ),
)
_CULTURE_WEIGHTS = (55, 20, 8, 6, 6, 5)


@cache
def fictional_numbers() -> tuple[str, ...]:
    """E.164 numbers NPA-555-0100..0199 over every area code phonenumbers accepts."""
    area_codes = [
        npa
        for npa in range(200, 1000)
        if phonenumbers.is_valid_number(phonenumbers.parse(f"+1{npa}5550142"))
    ]
    return tuple(f"+1{npa}555{line:04d}" for npa in area_codes for line in range(100, 200))


def generate(
    count: int, seed: int = 0, *, care_from: date | None = None
) -> Iterator[dict[str, Any]]:
    """``count`` synthetic FHIR R4 Patient resources, the same for the same seed.

    With ``care_from`` (a day, usually today), each patient is followed by its
    appointments (after that day), prescriptions and care team, and the
    practitioner roles come first; the patients themselves do not change.
    """
    rng = random.Random(seed)
    care = CareGenerator(seed, care_from) if care_from is not None else None
    if care is not None:
        yield from practitioner_roles(seed)
    pool = fictional_numbers()
    # A seeded walk through the pool: numbers are handed out without repeats
    # until the pool is used up, then it starts over.
    order = list(range(len(pool)))
    rng.shuffle(order)
    next_number = 0

    def number() -> str:
        nonlocal next_number
        value = pool[order[next_number % len(order)]]
        next_number += 1
        return value

    made = 0
    while made < count:
        culture = rng.choices(_CULTURES, _CULTURE_WEIGHTS)[0]
        speaks = rng.random() < culture.speaks_language
        language = culture.language if speaks else "en"
        interpreter = language != "en" and rng.random() < 0.5
        family = rng.choice(culture.family)
        home = number()
        adults = rng.choices((1, 2), (40, 60))[0]
        children = rng.choices((0, 1, 2, 3), (45, 25, 20, 10))[0]
        for member in range(adults + children):
            if made >= count:
                break
            minor = member >= adults
            age_days = rng.randint(0, 17 * 365) if minor else rng.randint(18 * 365, 95 * 365)
            born = REFERENCE_DAY - timedelta(days=age_days)
            telecom = [{"system": "phone", "value": home, "use": "home"}]
            if not minor and rng.random() < 0.6:
                telecom.append({"system": "phone", "value": number(), "use": "mobile"})
            flags = []
            if minor:
                flags.append("minor")
                if rng.random() < 0.05:
                    flags.append("guardian_restriction")
            if (age_days > 70 * 365 and rng.random() < 0.2) or rng.random() < 0.01:
                flags.append("hearing_impaired")
            if rng.random() < 0.01:
                flags.append("do_not_disclose")
            made += 1
            patient_id = f"syn{seed}-{made:08d}"
            yield _patient(
                patient_id=patient_id,
                mrn=f"SYN{seed}-{made:08d}",
                family=family,
                given=rng.choice(culture.given),
                born=born,
                language=language,
                interpreter=interpreter and not minor,
                telecom=telecom,
                flags=flags,
            )
            if care is not None:
                yield from care.for_patient(patient_id, minor=minor)


def _patient(
    *,
    patient_id: str,
    mrn: str,
    family: str,
    given: str,
    born: date,
    language: str,
    interpreter: bool,
    telecom: list[dict[str, str]],
    flags: list[str],
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": [
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
                "system": MRN_SYSTEM,
                "value": mrn,
            }
        ],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "birthDate": born.isoformat(),
        "telecom": telecom,
        "communication": [{"language": {"coding": [{"code": language}]}, "preferred": True}],
        "extension": [{"url": INTERPRETER_EXTENSION, "valueBoolean": interpreter}],
    }
    if flags:
        resource["meta"] = {"tag": [{"system": FLAG_SYSTEM, "code": flag} for flag in flags]}
    return resource


def write_ndjson(resources: Iterator[dict[str, Any]], out: TextIO) -> int:
    """Write one resource per line; returns how many were written."""
    written = 0
    for resource in resources:
        out.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        written += 1
    return written


def write_ndjson_file(count: int, seed: int, path: Path, *, care_from: date | None = None) -> int:
    """Generate ``count`` patients with ``seed`` into an NDJSON file at ``path``;
    returns how many resources were written (see :func:`generate` for ``care_from``)."""
    with path.open("w", encoding="utf-8") as out:
        return write_ndjson(generate(count, seed, care_from=care_from), out)
