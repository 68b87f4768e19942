# SPDX-License-Identifier: GPL-2.0-or-later
"""Patient import: FHIR Bundle, NDJSON and CSV; rejections; idempotent re-import."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from console.core.patients.directory import PatientDirectory
from console.core.patients.generate import generate
from console.core.patients.importers import ImportFileError
from console.core.store import Store


@pytest.fixture
async def directory(tmp_path: Path) -> AsyncIterator[PatientDirectory]:
    store = await Store.open(tmp_path / "s.sqlite3")
    yield PatientDirectory(store, "US")
    await store.close()


def patient(mrn: str | None, phone: str = "(202) 555-0142", **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [] if mrn is None else [{"value": mrn}],
        "name": [{"family": "Nguyen", "given": ["Anh", "Thi"]}],
        "birthDate": "1980-04-02",
        "telecom": [{"system": "phone", "value": phone}],
    }
    resource.update(extra)
    return resource


def write_ndjson(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path


async def test_bundle_import_maps_mrn_names_language_flags(
    directory: PatientDirectory, tmp_path: Path
) -> None:
    mr = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
    resource = patient(
        None,
        identifier=[{"value": "SSN-1"}, {"type": mr, "value": "MRN-7"}],
        communication=[
            {"language": {"coding": [{"code": "en"}]}},
            {"language": {"coding": [{"code": "vi"}]}, "preferred": True},
        ],
        extension=[
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired",
                "valueBoolean": True,
            }
        ],
        meta={
            "tag": [
                {
                    "system": "https://careline.invalid/fhir/CodeSystem/patient-flag",
                    "code": "hearing_impaired",
                }
            ]
        },
        someUnknownField={"ignored": True},
    )
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")

    summary = await directory.import_file(path)

    assert (summary.imported, summary.updated, summary.rejected) == (1, 0, [])
    [found] = await directory.find_by_phone("+12025550142")
    assert found.mrn == "MRN-7"
    assert (found.family_name, found.given_names, found.birth_date) == (
        "Nguyen",
        "Anh Thi",
        "1980-04-02",
    )
    assert (found.preferred_language, found.interpreter_needed) == ("vi", True)
    assert found.flags == frozenset({"hearing_impaired"})


async def test_bundle_rejections_name_the_entry(
    directory: PatientDirectory, tmp_path: Path
) -> None:
    entries = [
        {"resource": patient("M1")},
        {"resource": patient(None)},
        {"resource": {"resourceType": "Observation"}},
        {"fullUrl": "x"},
    ]
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "entry": entries}), encoding="utf-8")

    summary = await directory.import_file(path, "fhir")

    assert summary.imported == 1
    assert [(r.position, r.reason) for r in summary.rejected] == [
        ("entry 1", "missing MRN (no identifier)"),
        (
            "entry 2",
            "unsupported resourceType 'Observation' "
            "(imported: Patient, Appointment, MedicationRequest, CareTeam, PractitionerRole)",
        ),
        ("entry 3", "entry has no resource object"),
    ]


async def test_ndjson_rejects_each_class_of_bad_record(
    directory: PatientDirectory, tmp_path: Path
) -> None:
    path = write_ndjson(
        tmp_path / "p.ndjson",
        [
            patient("M1"),
            patient(None),
            patient("M3", birthDate="1980-02-30"),
            patient("M4", birthDate="04/02/1980"),
            patient("M5", phone="555-01"),
            "{not json",
            "[1, 2]",
            {"resourceType": "Observation"},
            {"identifier": [{"value": "M9"}]},
            patient("M10", birthDate="2999-01-01"),
        ],
    )

    summary = await directory.import_file(path)

    assert summary.imported == 1
    reasons = {r.position: r.reason for r in summary.rejected}
    assert reasons == {
        "line 2": "missing MRN (no identifier)",
        "line 3": "bad birth date (no such day)",
        "line 4": "bad birth date (expected YYYY, YYYY-MM or YYYY-MM-DD)",
        "line 5": "unparseable phone number (telecom 0)",
        "line 6": reasons["line 6"],
        "line 7": "not a JSON object",
        "line 8": "unsupported resourceType 'Observation' "
        "(imported: Patient, Appointment, MedicationRequest, CareTeam, PractitionerRole)",
        "line 9": "no resourceType",
        "line 10": "bad birth date (in the future)",
    }
    assert reasons["line 6"].startswith("not JSON (")
    # Rejection reasons never carry the record's content (PHI)
    assert all("Nguyen" not in str(r) and "555" not in r.reason for r in summary.rejected)


async def test_csv_import_with_documented_columns(
    directory: PatientDirectory, tmp_path: Path
) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "MRN,family,given,birth_date,phone,language,interpreter,flags,notes\n"
        "C1,García,María José,2012-05-01,202.555.0142; +1 303 555 0101,es,yes,"
        "minor;Do-Not-Disclose,x\n"
        "C2,García,Luis,1979-01-01,(202) 555-0142,es,no,,\n"
        ",NoMrn,,,,,,,\n"
        "C4,Bad,Date,01/02/1990,,,,,\n"
        "C5,Bad,Phone,,12345,,,,\n"
        "C6,Bad,Interp,,,,maybe,,\n"
        "C7,Bad,Flag,,,,,vip,\n",
        encoding="utf-8",
    )

    summary = await directory.import_file(path)

    assert (summary.imported, summary.updated) == (2, 0)
    assert [(r.position, r.reason) for r in summary.rejected] == [
        ("line 4", "missing MRN"),
        ("line 5", "bad birth date (expected YYYY-MM-DD)"),
        ("line 6", "unparseable phone number (phone 1)"),
        ("line 7", "bad interpreter value (expected yes or no)"),
        (
            "line 8",
            "unknown flag (expected some of: hearing_impaired, minor, guardian_restriction, "
            "do_not_disclose)",
        ),
    ]
    family = await directory.find_by_phone("2025550142")
    assert [p.mrn for p in family] == ["C2", "C1"]  # sorted by family, then given names
    child = family[1]
    assert child.flags == frozenset({"minor", "do_not_disclose"})
    assert (child.given_names, child.preferred_language, child.interpreter_needed) == (
        "María José",
        "es",
        True,
    )
    assert [p.mrn for p in await directory.find_by_phone("+13035550101")] == ["C1"]


async def test_csv_without_mrn_column_is_a_file_error(
    directory: PatientDirectory, tmp_path: Path
) -> None:
    path = tmp_path / "p.csv"
    path.write_text("family,given\nA,B\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="'mrn' column"):
        await directory.import_file(path)
    assert await directory.count() == 0


@pytest.mark.parametrize("suffix", [".ndjson", ".csv", ".json"])
async def test_non_utf8_file_is_refused_before_anything_is_imported(
    directory: PatientDirectory, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"latin1{suffix}"
    good = json.dumps(patient("M1")) if suffix != ".csv" else "mrn,family"
    path.write_bytes(good.encode() + "\nM2,Müller\n".encode("latin-1"))
    with pytest.raises(ImportFileError, match=r"not UTF-8 text \(byte 0xfc on line 2\)"):
        await directory.import_file(path)
    assert await directory.count() == 0


async def test_bundle_that_is_not_json_is_a_file_error(
    directory: PatientDirectory, tmp_path: Path
) -> None:
    path = tmp_path / "b.json"
    path.write_text('{"resourceType": "Bundle",\n "entry": [', encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"not JSON \(line 2"):
        await directory.import_file(path)
    path.write_text('{"resourceType": "Patient"}', encoding="utf-8")
    with pytest.raises(ImportFileError, match="not a FHIR Bundle"):
        await directory.import_file(path, "fhir")


async def test_reimport_updates_without_duplicates(
    directory: PatientDirectory, tmp_path: Path
) -> None:
    path = write_ndjson(tmp_path / "p.ndjson", list(generate(2500, seed=3)))
    first = await directory.import_file(path)
    before = {p.mrn: p.id for p in await directory.find_by_phone(_first_phone(path))}

    again = await directory.import_file(path)

    assert (first.imported, first.updated, len(first.rejected)) == (2500, 0, 0)
    assert (again.imported, again.updated, len(again.rejected)) == (0, 2500, 0)
    assert await directory.count() == 2500
    after = {p.mrn: p.id for p in await directory.find_by_phone(_first_phone(path))}
    assert after == before  # same patients, same stable ids, phones not doubled


async def test_a_changed_record_replaces_the_old_one(
    directory: PatientDirectory, tmp_path: Path
) -> None:
    await directory.import_file(write_ndjson(tmp_path / "a.ndjson", [patient("M1")]))
    moved = patient("M1", phone="+1 303 555 0199", birthDate="1980")
    summary = await directory.import_file(
        write_ndjson(tmp_path / "b.ndjson", [moved, patient("M1", phone="+1 303 555 0199")])
    )
    assert (summary.imported, summary.updated) == (0, 2)
    assert await directory.find_by_phone("+12025550142") == []
    [found] = await directory.find_by_phone("+13035550199")
    assert found.birth_date == "1980-04-02"  # the later duplicate wins


async def test_progress_reports_records_done_and_total(
    directory: PatientDirectory, tmp_path: Path
) -> None:
    path = write_ndjson(tmp_path / "p.ndjson", list(generate(2100, seed=1)))
    seen: list[tuple[int, int | None]] = []
    await directory.import_file(path, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1000, 2100), (2000, 2100), (2100, 2100)]


def _first_phone(path: Path) -> str:
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    return str(first["telecom"][0]["value"])
