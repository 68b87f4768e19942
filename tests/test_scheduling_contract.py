# SPDX-License-Identifier: GPL-2.0-or-later
"""One scheduling contract, two backends: every check of tests/scheduling_contract.py
against a real FHIR R4 server (sekmet-fhir on 127.0.0.1, SMART sign-in) and against
the console's own store (what ``careline demo`` books with).

"fhir" shares one server and one seeded schedule per module; "local" gets a new
store per check. Each extra console ("agents") has connections of its own: FHIR
clients with their own tokens, or ``Store`` objects opened on the same file, so
a race for one slot is a real race in SQLite too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from console.core.ehr.client import FhirClient
from console.core.ehr.fhir_scheduling import FhirScheduling
from console.core.ehr.local_scheduling import LocalScheduling
from console.core.ehr.scheduling import Scheduling
from console.core.store import Store
from tests.ehr_console import ehr_config
from tests.fhir_server import FhirServer, ScheduleIds, seed_patient, seed_schedule
from tests.scheduling_contract import CHECKS, MINUTES, SLOTS, Check, Clinic

OPENS = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
"""A Monday, far enough ahead for any clock."""
CLINICIAN, LOCATION, SERVICE = "Dr Amara Osei", "Riverside Clinic", "general"


@pytest.fixture(scope="module")
def fhir_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServer]:
    with FhirServer(tmp_path_factory.mktemp("fhir"), smart=True) as running:
        yield running


@pytest.fixture(scope="module")
def fhir_seed(fhir_server: FhirServer) -> tuple[ScheduleIds, str]:
    schedule = seed_schedule(fhir_server, CLINICIAN, LOCATION, SERVICE, OPENS, SLOTS, MINUTES)
    patient = seed_patient(
        fhir_server, "Maria Lopez", "MRN-0042", date(1961, 4, 12), "+12025550142"
    )
    return schedule, patient


@asynccontextmanager
async def fhir_agents(server: FhirServer, count: int) -> AsyncIterator[list[Scheduling]]:
    clients = [FhirClient.from_config(ehr_config(server)) for _ in range(count)]
    try:
        yield [FhirScheduling(c) for c in clients]
    finally:
        for client in clients:
            await client.aclose()


@asynccontextmanager
async def local_agents(path: Path, count: int) -> AsyncIterator[list[Scheduling]]:
    stores: list[Store] = []
    try:
        for _ in range(count):
            stores.append(await Store.open(path))
        yield [LocalScheduling(s) for s in stores]
    finally:
        for store in stores:
            await store.close()


@pytest.fixture(params=["fhir", "local"])
async def clinic(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Clinic]:
    if request.param == "fhir":
        server: FhirServer = request.getfixturevalue("fhir_server")
        schedule, patient = request.getfixturevalue("fhir_seed")
        async with fhir_agents(server, 1) as (scheduling,):
            yield Clinic(
                scheduling=scheduling,
                agents=lambda n: fhir_agents(server, n),
                schedule_id=schedule["Schedule"],
                patient_id=patient,
                opens=OPENS,
                clinician=CLINICIAN,
                location=LOCATION,
                service=SERVICE,
            )
        return
    path = tmp_path / "store.sqlite3"
    async with local_agents(path, 1) as (scheduling,):
        assert isinstance(scheduling, LocalScheduling)
        schedule_id = await scheduling.add_schedule(
            CLINICIAN, LOCATION, SERVICE, OPENS, SLOTS, MINUTES
        )
        yield Clinic(
            scheduling=scheduling,
            agents=lambda n: local_agents(path, n),
            schedule_id=schedule_id,
            patient_id="maria-lopez-0042",
            opens=OPENS,
            clinician=CLINICIAN,
            location=LOCATION,
            service=SERVICE,
        )


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
async def test_scheduling_contract(clinic: Clinic, check: Check) -> None:
    await check(clinic)
