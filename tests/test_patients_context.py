# SPDX-License-Identifier: GPL-2.0-or-later
"""The clinical context: FHIR Appointment, MedicationRequest, CareTeam and
PractitionerRole import, and what the card reads back."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from console.core.patients.context import (
    Medication,
    greeting_hints,
    load_context,
)
from console.core.patients.directory import PatientDirectory
from console.core.patients.records import PatientSummary
from console.core.store import Store

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
SUBJECT = {"reference": "Patient/p1"}
"""A FHIR reference to the test patient ``p1``."""


@pytest.fixture
def directory(store: Store) -> PatientDirectory:
    return PatientDirectory(store, "US")


def patient(fhir_id: str | None, mrn: str, phone: str = "+12025550142") -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"value": mrn}],
        "name": [{"family": "Lopez", "given": ["Maria"]}],
        "birthDate": "1961-03-09",
        "telecom": [{"system": "phone", "value": phone}],
    }
    if fhir_id:
        resource["id"] = fhir_id
    return resource


def appointment(rid: str, subject: dict[str, Any], start: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": rid,
        "status": "booked",
        "start": start,
        "serviceType": [{"coding": [{"display": "Diabetes follow-up"}]}],
        "participant": [
            {"actor": subject},
            {"actor": {"reference": "PractitionerRole/pr1", "display": "Dr. Ines Moreau"}},
            {"actor": {"reference": "Location/l1", "display": "Riverside Clinic"}},
        ],
        **extra,
    }


def medication(rid: str, subject: dict[str, Any], **dispense: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "subject": subject,
        "medicationCodeableConcept": {"text": "Metformin 500 mg tablet"},
        "dosageInstruction": [{"text": "1 tablet twice daily"}],
        "requester": {"display": "Dr. Ines Moreau"},
        "authoredOn": "2026-01-05T10:00:00+01:00",
        "dispenseRequest": dispense,
    }


CARE_TEAM: dict[str, Any] = {
    "resourceType": "CareTeam",
    "id": "team1",
    "status": "active",
    "subject": SUBJECT,
    "participant": [
        {"role": [{"text": "Primary care"}], "member": {"reference": "PractitionerRole/pr1"}},
        {"role": [{"text": "Cardiology"}], "member": {"reference": "Practitioner/dr2"}},
        {"role": [{"text": "Care coordinator"}], "member": {"display": "Grace Lindqvist, RN"}},
    ],
}
ROLES = [
    {
        "resourceType": "PractitionerRole",
        "id": "pr1",
        "practitioner": {"reference": "Practitioner/dr1", "display": "Dr. Ines Moreau"},
        "code": [{"text": "Primary care physician"}],
        "specialty": [{"coding": [{"display": "Internal medicine"}]}],
        "telecom": [
            {"system": "email", "value": "x@example.org"},
            {"system": "phone", "value": "+1 202 555 1001"},
        ],
    },
    {
        "resourceType": "PractitionerRole",
        "id": "pr2",
        "practitioner": {
            "reference": "https://fhir.example.org/Practitioner/dr2",
            "display": "Dr. Dev Patel",
        },
        "code": [{"text": "Cardiologist"}],
    },
]


def write_bundle(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"resourceType": "Bundle", "entry": entries}), encoding="utf-8")
    return path


def write_ndjson(path: Path, resources: list[dict[str, Any] | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in resources]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def only(directory: PatientDirectory, phone: str = "+12025550142") -> PatientSummary:
    [found] = await directory.find_by_phone(phone)
    return found


async def test_bundle_with_urn_references_fills_every_card_section(
    directory: PatientDirectory, store: Store, tmp_path: Path
) -> None:
    urn = {"reference": "urn:uuid:7d3c2f0e-0000-4000-8000-000000000001"}
    path = write_bundle(
        tmp_path / "b.json",
        [
            {
                "fullUrl": "urn:uuid:appt-later",
                "resource": {**appointment("x", urn, "2026-12-24T09:00:00-05:00"), "id": None},
            },
            {"fullUrl": urn["reference"], "resource": patient("p1", "MRN-1")},
            {"resource": appointment("a-past", urn, "2026-11-01T09:00:00Z")},
            {
                "resource": appointment(
                    "a-cancelled", urn, "2026-12-01T09:00:00Z", status="cancelled"
                )
            },
            {"resource": appointment("a1", urn, "2026-11-28T14:30:00+00:00")},
            {
                "resource": medication(
                    "m1",
                    SUBJECT,
                    numberOfRepeatsAllowed=3,
                    validityPeriod={"end": "2027-06-30"},
                )
            },
            {"resource": CARE_TEAM},
            *({"resource": role} for role in ROLES),
        ],
    )

    summary = await directory.import_file(path)

    assert summary.rejected == []
    assert (summary.imported, summary.unmatched) == (1, 0)
    assert summary.resources == {
        "appointments": 4,
        "medications": 1,
        "care teams": 1,
        "practitioner roles": 2,
    }
    context = await load_context(store, await only(directory), NOW)
    assert [
        (a.start.isoformat(), a.description, a.with_whom, a.location) for a in context.appointments
    ] == [
        ("2026-11-28T14:30:00+00:00", "Diabetes follow-up", "Dr. Ines Moreau", "Riverside Clinic"),
        ("2026-12-24T14:00:00+00:00", "Diabetes follow-up", "Dr. Ines Moreau", "Riverside Clinic"),
    ]
    [med] = context.medications
    assert (med.name, med.dosage, med.refills_allowed, med.valid_until) == (
        "Metformin 500 mg tablet",
        "1 tablet twice daily",
        3,
        "2027-06-30",
    )
    assert med.refill(NOW.date()) == ("refill eligible (3 authorised until 2027-06-30)", True)
    assert [(m.role, m.name, m.specialty, m.phone) for m in context.care_team] == [
        ("Primary care", "Dr. Ines Moreau", "Internal medicine", "+1 202 555 1001"),
        ("Cardiology", "Dr. Dev Patel", "", ""),
        ("Care coordinator", "Grace Lindqvist, RN", "", ""),
    ]
    assert context.categories() == (
        "demographics",
        "flags",
        "appointments",
        "medications",
        "care_team",
    )


async def test_reimport_updates_in_place_and_a_team_is_replaced_whole(
    directory: PatientDirectory, store: Store, tmp_path: Path
) -> None:
    first = write_ndjson(
        tmp_path / "a.ndjson",
        [patient("p1", "MRN-1"), appointment("a1", SUBJECT, "2026-12-01T10:00:00Z"), CARE_TEAM],
    )
    await directory.import_file(first)
    await directory.import_file(first)
    moved = appointment("a1", SUBJECT, "2026-12-02T10:00:00Z")
    smaller = {**CARE_TEAM, "participant": CARE_TEAM["participant"][2:]}
    await directory.import_file(write_ndjson(tmp_path / "b.ndjson", [moved, smaller]))

    counts = await store.fetch_all(
        "SELECT (SELECT count(*) FROM appointments), (SELECT count(*) FROM care_team_members)"
    )
    assert tuple(counts[0]) == (1, 1)
    context = await load_context(store, await only(directory), NOW)
    assert [a.start.day for a in context.appointments] == [2]
    assert [m.name for m in context.care_team] == ["Grace Lindqvist, RN"]


async def test_context_imported_before_its_patient_shows_once_the_patient_arrives(
    directory: PatientDirectory, store: Store, tmp_path: Path
) -> None:
    by_mrn = {"identifier": {"system": "urn:mrn", "value": "MRN-9"}}
    early = await directory.import_file(
        write_ndjson(
            tmp_path / "MedicationRequest.ndjson",
            [
                medication("m9", by_mrn, numberOfRepeatsAllowed=0),
                medication("m10", {"reference": "Patient/p9"}),
            ],
        )
    )
    assert (early.resources, early.unmatched) == ({"medications": 2}, 2)

    await directory.import_file(write_ndjson(tmp_path / "Patient.ndjson", [patient("p9", "MRN-9")]))

    context = await load_context(store, await only(directory), NOW)
    assert sorted(m.refills_allowed or 0 for m in context.medications) == [0, 0]
    assert await greeting_hints(store, await only(directory), NOW) == ("prescription refill",)


async def test_bad_clinical_records_are_rejected_with_position_and_reason(
    directory: PatientDirectory, tmp_path: Path
) -> None:
    path = write_ndjson(
        tmp_path / "bad.ndjson",
        [
            patient("p1", "MRN-1"),
            {
                **appointment("a1", SUBJECT, "2026-12-01T10:00:00Z"),
                "participant": [{"actor": {"reference": "Practitioner/x"}}],
            },
            appointment("a2", SUBJECT, "2026-12-01 10:00"),
            appointment("a3", SUBJECT, "2026-12-01T10:00:00"),
            {**appointment("a4", SUBJECT, "2026-12-01T10:00:00Z"), "id": ""},
            {**medication("m1", SUBJECT), "medicationCodeableConcept": {}},
            medication("m2", SUBJECT, numberOfRepeatsAllowed=-1),
            medication("m3", {"reference": "Group/g1"}),
            {**medication("m4", SUBJECT), "status": "<b>active</b>"},
            {**CARE_TEAM, "subject": "Patient/p1"},
            medication("m5", SUBJECT, numberOfRepeatsAllowed=True),
            appointment("ok", SUBJECT, "2026-12-01T10:00:00Z"),
        ],
    )

    summary = await directory.import_file(path)

    assert {r.position: r.reason for r in summary.rejected} == {
        "line 2": "Appointment has no Patient participant",
        "line 3": "bad start (no time zone)",
        "line 4": "bad start (no time zone)",
        "line 5": "Appointment has no id (needed to update it on re-import)",
        "line 6": "MedicationRequest names no medication (text or display)",
        "line 7": "numberOfRepeatsAllowed is not a whole number ≥ 0",
        "line 8": "subject does not reference a Patient",
        "line 9": "missing or bad status",
        "line 10": "subject is not a Reference",
        "line 11": "numberOfRepeatsAllowed is not a whole number ≥ 0",
    }
    assert summary.resources == {"appointments": 1}
    for rejection in summary.rejected:
        assert "Lopez" not in rejection.reason
        assert "Metformin" not in rejection.reason


@pytest.mark.parametrize(
    ("status", "refills", "until", "expected"),
    [
        ("active", 2, "2027-01-01", ("refill eligible (2 authorised until 2027-01-01)", True)),
        ("active", 2, None, ("refill eligible (2 authorised)", True)),
        ("active", 0, "2027-01-01", ("no refills authorised: needs prescriber approval", False)),
        ("active", 5, "2026-11-25", ("expired 2026-11-25: needs a new prescription", False)),
        ("active", None, None, ("refills not stated: check with the pharmacy", False)),
        ("on-hold", 5, None, ("on hold: ask the prescriber", False)),
        ("draft", 5, None, ("not yet signed by the prescriber", False)),
    ],
)
def test_refill_eligibility(
    status: str, refills: int | None, until: str | None, expected: tuple[str, bool]
) -> None:
    med = Medication("X", status, "", refills, until, "")
    assert med.refill(date(2026, 11, 26)) == expected


async def test_greeting_hints_name_categories_only(
    directory: PatientDirectory, store: Store, tmp_path: Path
) -> None:
    await directory.import_file(
        write_ndjson(
            tmp_path / "p.ndjson",
            [
                patient("p1", "MRN-1"),
                appointment("far", SUBJECT, "2027-03-01T10:00:00Z"),
                medication(
                    "m1", SUBJECT, numberOfRepeatsAllowed=2, validityPeriod={"end": "2027-09-01"}
                ),
            ],
        )
    )
    found = await only(directory)
    assert await greeting_hints(store, found, NOW) == ()
    await directory.import_file(
        write_ndjson(
            tmp_path / "q.ndjson",
            [
                appointment("soon", SUBJECT, "2026-12-03T10:00:00Z"),
                medication(
                    "m2", SUBJECT, numberOfRepeatsAllowed=2, validityPeriod={"end": "2026-12-10"}
                ),
            ],
        )
    )
    assert await greeting_hints(store, found, NOW) == (
        "upcoming appointment",
        "prescription refill",
    )


async def test_card_reads_use_indexes_not_scans(store: Store) -> None:
    plans = []
    for table in ("appointments", "medications", "care_team_members"):
        rows = await store.fetch_all(
            f"EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE subject IN (?, ?)", ("mrn:x", "id:y")
        )
        plans.append(" ".join(str(r[-1]) for r in rows))
    rows = await store.fetch_all(
        "EXPLAIN QUERY PLAN SELECT * FROM calls WHERE patient_id = ? ORDER BY received_at DESC",
        ("p",),
    )
    plans.append(" ".join(str(r[-1]) for r in rows))
    for plan in plans:
        assert "USING INDEX" in plan, plan
