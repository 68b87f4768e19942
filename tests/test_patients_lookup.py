# SPDX-License-Identifier: GPL-2.0-or-later
"""Phone normalisation, lookup by phone, and the synthetic generator."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import phonenumbers
import pytest

from console.core.patients.directory import PatientDirectory
from console.core.patients.generate import fictional_numbers, generate
from console.core.patients.importers import patient_from_fhir
from console.core.patients.phones import normalise, written_e164
from console.core.store import Store
from tests.patients import patient_record
from tests.support import ROOT


@pytest.mark.parametrize(
    "text",
    [
        "(202) 555-0142",
        "202.555.0142",
        "202-555-0142",
        "2025550142",
        "+1 202 555 0142",
        "+1-202-555-0142",
        "12025550142",
        "1 (202) 555-0142",
        "011 1 202 555 0142",
        "+12025550142",
        "tel:+1-202-555-0142",
        "tel:+12025550142;ext=12",
        "sip:+12025550142@pbx.example;user=phone",
        "sips:12025550142@pbx.example",
        "  +1 (202) 555 0142  ",
    ],
)
def test_every_common_format_normalises_to_e164(text: str) -> None:
    assert normalise(text, "US") == "+12025550142"


@pytest.mark.parametrize("text", ["", "anonymous", "555-01", "+1 000 555 0142", "12" * 20])
def test_non_numbers_normalise_to_none(text: str) -> None:
    assert normalise(text, "US") is None


def test_region_applies_to_national_numbers_only() -> None:
    assert normalise("020 7946 0018", "GB") == "+442079460018"
    assert normalise("+1 202 555 0142", "GB") == "+12025550142"


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("+12025550142", "+12025550142"),
        ("+1 (202) 555-0142", "+12025550142"),
        ("tel:+1-202-555-0142;ext=12", "+12025550142"),
        ("sip:+12025550142@pbx.example;user=phone", "+12025550142"),
        ("+4402079460958", "+4402079460958"),  # as written: not yet canonical
        ("2025550142", None),  # national: the region and the library tell
        ("12025550142", None),
        ("+012025550142", None),  # no country code starts with 0
        ("+12345", None),  # too short for any number
        ("+1234567890123456", None),  # over E.164's 15 digits
        ("+1202555O142", None),
        ("+１２０２５５５０１４２", None),  # full-width digits: the library's to read
        ("", None),
    ],
)
def test_a_number_written_in_e164_is_read_without_the_library(
    text: str, written: str | None
) -> None:
    assert written_e164(text) == written


def test_the_first_number_loads_the_library_in_a_thread() -> None:
    """In a fresh interpreter (this one has the library): the event loop's first number
    is normalised in a thread, which loads the library; the next ones in place."""
    code = (
        "import asyncio, sys, threading\n"
        "from console.core.patients import phones\n"
        "threads = []\n"
        "normalise = phones.normalise\n"
        "def watched(*args):\n"
        "    threads.append(threading.current_thread() is threading.main_thread())\n"
        "    return normalise(*args)\n"
        "phones.normalise = watched\n"
        "assert not phones.library_loaded() and 'phonenumbers' not in sys.modules\n"
        "async def main():\n"
        "    return [await phones.normalised(n, 'US') for n in ('2025550142', '(202) 555-0117')]\n"
        "print(asyncio.run(main()), threads, phones.library_loaded())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "['+12025550142', '+12025550117'] [False, True] True"


@pytest.fixture
async def directory(tmp_path: Path) -> AsyncIterator[PatientDirectory]:
    store = await Store.open(tmp_path / "s.sqlite3")
    yield PatientDirectory(store, "US")
    await store.close()


async def test_family_phone_finds_every_member_and_no_one_else(
    directory: PatientDirectory,
) -> None:
    resources = list(generate(300, seed=11))
    await directory.import_records(patient_from_fhir(r, "US") for r in resources)
    homes: dict[str, set[str]] = {}
    for r in resources:
        for point in r["telecom"]:
            homes.setdefault(point["value"], set()).add(r["identifier"][0]["value"])
    shared = next(number for number, mrns in homes.items() if len(mrns) >= 3)
    national = phonenumbers.format_number(
        phonenumbers.parse(shared), phonenumbers.PhoneNumberFormat.NATIONAL
    )

    found = await directory.find_by_phone(national)

    assert {p.mrn for p in found} == homes[shared]
    unused = next(number for number in fictional_numbers() if number not in homes)
    assert await directory.find_by_phone(unused) == []
    assert await directory.find_by_phone("not a number") == []


async def test_a_number_written_in_e164_but_not_canonical_still_finds_its_patient(
    directory: PatientDirectory,
) -> None:
    """The lookup tries the number as written first (no library needed); a miss goes
    through the library, which drops the trunk 0 a PBX may leave after the country code."""
    london = patient_record("MRN-44", "Ada", "Byron", "1990-12-10", phone="+442079460958")
    await directory.import_records([london])
    for text in ("+442079460958", "+4402079460958", "+44 (0)20 7946 0958", "sip:+4402079460958@x"):
        assert [p.mrn for p in await directory.find_by_phone(text)] == ["MRN-44"], text
    assert await directory.find_by_phone("+442079460959") == []


def test_generator_is_deterministic_and_varied() -> None:
    first = list(generate(2000, seed=42))
    assert first == list(generate(2000, seed=42))
    assert first != list(generate(2000, seed=43))
    assert len({r["identifier"][0]["value"] for r in first}) == 2000
    languages = {r["communication"][0]["language"]["coding"][0]["code"] for r in first}
    assert languages == {"en", "es", "zh", "vi", "ar", "fr"}
    records = [patient_from_fhir(r, "US") for r in first]  # all valid for the importer
    assert any("minor" in r.flags for r in records)
    assert any(r.interpreter_needed for r in records)
    phones = [e164 for r in records for e164, _ in r.phones]
    assert all(e164[5:9] == "5550" and 100 <= int(e164[8:]) <= 199 for e164 in phones)
    assert len(set(phones)) < len(phones)  # households share a number


def test_generator_prefix_is_stable_for_a_smaller_count() -> None:
    assert list(generate(50, seed=7)) == list(itertools.islice(generate(500, seed=7), 50))
