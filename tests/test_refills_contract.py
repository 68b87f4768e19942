# SPDX-License-Identifier: GPL-2.0-or-later
"""One refills contract and one orders contract, two backends: every check of
tests/refills_contract.py against a real FHIR R4 server (sekmet-fhir on 127.0.0.1,
SMART sign-in) and against the console's own store (what ``careline demo`` uses).

"fhir" shares one server per module and seeds new patients per check; "local"
gets a new store per check, seeded through the directory's import as the demo is.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from console.core.ehr.client import FhirClient
from console.core.ehr.fhir_orders import FhirOrders
from console.core.ehr.fhir_refills import FhirRefills
from console.core.ehr.local_orders import LocalOrders
from console.core.ehr.local_refills import LocalRefills
from console.core.patients.directory import PatientDirectory
from console.core.patients.records import CareTeamRecord, MedicationRecord, PatientRecord
from console.core.store import Store
from tests.ehr_console import ehr_config
from tests.fhir_server import FhirServer, seed_patient, seed_prescriptions, seed_test
from tests.refills_contract import CHECKS, PRESCRIBER, PRESCRIPTIONS, TESTS, Check, Pharmacy

_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def fhir_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServer]:
    with FhirServer(tmp_path_factory.mktemp("fhir"), smart=True) as running:
        yield running


def seed_fhir(server: FhirServer) -> tuple[str, str]:
    """A patient with the contract's prescriptions and tests, and another with none."""
    number = next(_numbers)
    patient = seed_patient(
        server, "Maria Lopez", f"MRN-{number:04}", date(1961, 4, 12), "+12025550142"
    )
    other = seed_patient(server, "Wei Chen", f"MRN-9{number:03}", date(1949, 2, 14), "+12025550188")
    seed_prescriptions(server, patient, PRESCRIBER, PRESCRIPTIONS)
    for test, code, ordered, report in TESTS:
        seed_test(server, patient, test, code, ordered, report=report)
    return patient, other


async def seed_local(store: Store) -> tuple[str, str]:
    """The same in the store: the directory's patients and prescriptions, the orders table."""
    people = [
        PatientRecord("MRN-0042", "Lopez", "Maria", "1961-04-12", "en", False, frozenset(),
                      (("+12025550142", "mobile"),), "test", fhir_id="maria-0042"),
        PatientRecord("MRN-0043", "Chen", "Wei", "1949-02-14", "zh", False, frozenset(),
                      (("+12025550188", "mobile"),), "test", fhir_id="wei-0043"),
    ]  # fmt: skip
    care = [
        MedicationRecord(f"MedicationRequest/m{i}", "mrn:MRN-0042", name, "active",
                         "1 tablet once daily", None, refills,
                         until.isoformat() if until else None, PRESCRIBER)
        for i, (name, refills, until) in enumerate(PRESCRIPTIONS)
    ]  # fmt: skip
    team = CareTeamRecord("CareTeam/t1", "id:maria-0042", "active", (("PCP", PRESCRIBER, ""),))
    await PatientDirectory(store, "US").import_records([*people, *care, team])
    orders = LocalOrders(store)
    for test, code, ordered, report in TESTS:
        order = await orders.add(
            "maria-0042", "order", test, "active", datetime.combine(ordered, time(), UTC), code=code
        )
        if report is not None:
            await orders.add("maria-0042", "result", test, report[0], report[1], code=code,
                             based_on=order)  # fmt: skip
    return "maria-0042", "wei-0043"


@pytest.fixture(params=["fhir", "local"])
async def pharmacy(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pharmacy]:
    if request.param == "fhir":
        server: FhirServer = request.getfixturevalue("fhir_server")
        patient, other = seed_fhir(server)
        client = FhirClient.from_config(ehr_config(server))
        try:
            yield Pharmacy(FhirRefills(client), FhirOrders(client), patient, other)
        finally:
            await client.aclose()
        return
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        patient, other = await seed_local(store)
        yield Pharmacy(LocalRefills(store), LocalOrders(store), patient, other)
    finally:
        await store.close()


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
async def test_refills_contract(pharmacy: Pharmacy, check: Check) -> None:
    await check(pharmacy)
