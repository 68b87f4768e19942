# SPDX-License-Identifier: GPL-2.0-or-later
"""Booking, moving and cancelling through a real FHIR R4 server (sekmet-fhir on 127.0.0.1,
SMART Backend Services sign-in): the contract any scheduling backend must keep.

Two agents racing for one slot get exactly one booking; a slot taken since it
was offered is refused in words; a move leaves the patient exactly one
appointment; a booking whose answer was lost is found, not made twice; a
server that dies and comes back is survived; tokens are refreshed.

The checks any backend must pass, spoken only through the protocol, run against
this server and the demo's own backend in tests/test_scheduling_contract.py; the
tests here also read the server's own resources, tokens and restarts.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from console.core.ehr.client import FhirClient
from console.core.ehr.errors import EhrConflictError, EhrUnavailableError
from console.core.ehr.fhir_scheduling import CANCEL_SYSTEM, FhirScheduling
from console.core.ehr.scheduling import Booking, SlotOffer, SlotQuery, SlotTakenError
from tests.ehr_console import ehr_config
from tests.fhir_server import FhirServer, ScheduleIds, seed_patient, seed_schedule

MONDAY = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServer]:
    with FhirServer(tmp_path_factory.mktemp("fhir"), smart=True, token_lifetime=3) as running:
        yield running


@pytest.fixture(scope="module")
def clinic(server: FhirServer) -> ScheduleIds:
    return seed_schedule(server, "Dr Amara Osei", "Riverside Clinic", "general", MONDAY, 16, 20)


@pytest.fixture(scope="module")
def patient(server: FhirServer) -> str:
    return seed_patient(server, "Maria Lopez", "MRN-0042", date(1961, 4, 12), "+12025550142")


@pytest.fixture
async def scheduling(server: FhirServer) -> AsyncIterator[FhirScheduling]:
    client = FhirClient.from_config(ehr_config(server))
    try:
        yield FhirScheduling(client)
    finally:
        await client.aclose()


def request_id() -> str:
    return uuid.uuid4().hex


async def first_free(scheduling: FhirScheduling, clinic: ScheduleIds) -> SlotOffer:
    offers = await scheduling.free_slots(
        SlotQuery(MONDAY, MONDAY + timedelta(days=1), schedule_ids=(clinic["Schedule"],))
    )
    assert offers, "no free slot left in the test schedule"
    return offers[0]


async def test_booking_takes_the_slot_and_shows_on_the_patient(
    scheduling: FhirScheduling, clinic: ScheduleIds, patient: str
) -> None:
    offer = await first_free(scheduling, clinic)
    booking = await scheduling.book(patient, offer, request_id=request_id())
    assert (booking.status, booking.start, booking.slot_ids) == (
        "booked",
        offer.start,
        (offer.slot_id,),
    )
    assert (booking.clinician, booking.location) == ("Dr Amara Osei", "Riverside Clinic")
    slot = await scheduling.client.read("Slot", offer.slot_id)
    assert slot["status"] == "busy"
    mine = await scheduling.bookings(patient, since=MONDAY)
    assert booking.appointment_id in [b.appointment_id for b in mine]
    assert offer.slot_id not in [
        o.slot_id
        for o in await scheduling.free_slots(
            SlotQuery(MONDAY, MONDAY + timedelta(days=1), schedule_ids=(clinic["Schedule"],))
        )
    ]


async def test_two_agents_racing_for_one_slot_make_one_booking(
    server: FhirServer, clinic: ScheduleIds, patient: str
) -> None:
    clients = [FhirClient.from_config(ehr_config(server)) for _ in range(4)]
    agents = [FhirScheduling(c) for c in clients]
    try:
        offer = await first_free(agents[0], clinic)
        results = await asyncio.gather(
            *(a.book(patient, offer, request_id=request_id()) for a in agents),
            return_exceptions=True,
        )
        booked = [r for r in results if isinstance(r, Booking)]
        taken = [r for r in results if isinstance(r, SlotTakenError)]
        assert (len(booked), len(taken)) == (1, 3), results
        assert str(taken[0]) == "That slot was just taken: pick another."
        on_slot = await agents[0].client.search("Appointment", {"slot": f"Slot/{offer.slot_id}"})
        assert len([a for a in on_slot if a["status"] == "booked"]) == 1
    finally:
        for client in clients:
            await client.aclose()


async def test_a_retried_booking_is_found_not_made_twice(
    scheduling: FhirScheduling, clinic: ScheduleIds, patient: str
) -> None:
    offer = await first_free(scheduling, clinic)
    same = request_id()
    first = await scheduling.book(patient, offer, request_id=same)
    # The answer was lost; the agent presses Enter again on the offer they still see.
    again = await scheduling.book(patient, offer, request_id=same)
    assert again.appointment_id == first.appointment_id
    found = await scheduling.client.search(
        "Appointment", {"identifier": f"urn:careline:booking|{same}"}
    )
    assert len(found) == 1


async def test_cancel_frees_the_slot_with_a_reason(
    scheduling: FhirScheduling, clinic: ScheduleIds, patient: str
) -> None:
    offer = await first_free(scheduling, clinic)
    booking = await scheduling.book(patient, offer, request_id=request_id())
    cancelled = await scheduling.cancel(booking, "pat-fb")
    assert cancelled.status == "cancelled"
    appointment = await scheduling.client.read("Appointment", booking.appointment_id)
    assert appointment["cancelationReason"]["coding"][0] == {
        "system": CANCEL_SYSTEM,
        "code": "pat-fb",
        "display": "Patient feels better",
    }
    assert (await scheduling.client.read("Slot", offer.slot_id))["status"] == "free"
    with pytest.raises(EhrConflictError, match="changed in the EHR"):
        await scheduling.cancel(booking, "pat")  # the version shown is gone


async def test_a_move_leaves_exactly_one_appointment(
    scheduling: FhirScheduling, clinic: ScheduleIds, patient: str
) -> None:
    old_offer = await first_free(scheduling, clinic)
    old = await scheduling.book(patient, old_offer, request_id=request_id())
    new_offer = await first_free(scheduling, clinic)
    moved = await scheduling.reschedule(old, new_offer, request_id=request_id())
    assert moved.start == new_offer.start
    assert (await scheduling.client.read("Appointment", old.appointment_id))["status"] == (
        "cancelled"
    )
    assert (await scheduling.client.read("Slot", old_offer.slot_id))["status"] == "free"
    assert (await scheduling.client.read("Slot", new_offer.slot_id))["status"] == "busy"

    # Moving the (now cancelled) old booking again changes nothing at all.
    spare = await first_free(scheduling, clinic)
    with pytest.raises(EhrConflictError):
        await scheduling.reschedule(old, spare, request_id=request_id())
    assert (await scheduling.client.read("Slot", spare.slot_id))["status"] == "free"
    booked = [b.appointment_id for b in await scheduling.bookings(patient, since=MONDAY)]
    assert moved.appointment_id in booked
    assert old.appointment_id not in booked


async def test_a_stale_move_target_leaves_the_old_booking(
    server: FhirServer, scheduling: FhirScheduling, clinic: ScheduleIds, patient: str
) -> None:
    old = await scheduling.book(
        patient, await first_free(scheduling, clinic), request_id=request_id()
    )
    target = await first_free(scheduling, clinic)
    other = FhirClient.from_config(ehr_config(server))
    try:
        await FhirScheduling(other).book(patient, target, request_id=request_id())
    finally:
        await other.aclose()
    with pytest.raises(SlotTakenError):
        await scheduling.reschedule(old, target, request_id=request_id())
    assert (await scheduling.client.read("Appointment", old.appointment_id))["status"] == "booked"


async def test_tokens_are_refreshed_as_they_expire(
    scheduling: FhirScheduling, clinic: ScheduleIds
) -> None:
    await first_free(scheduling, clinic)
    fetched = scheduling.client.auth.tokens_fetched
    await asyncio.sleep(2.0)  # the server's tokens live 3 s; careline replaces them at half life
    await first_free(scheduling, clinic)
    assert scheduling.client.auth.tokens_fetched == fetched + 1


async def test_a_server_that_dies_is_unavailable_then_survived(tmp_path: Path) -> None:
    with FhirServer(tmp_path, smart=True) as server:
        clinic = seed_schedule(server, "Dr Lee", "North Clinic", "general", MONDAY, 2, 30)
        client = FhirClient.from_config(ehr_config(server))
        scheduling = FhirScheduling(client)
        try:
            await first_free(scheduling, clinic)
            server.kill()
            with pytest.raises(EhrUnavailableError, match="cannot be reached"):
                await first_free(scheduling, clinic)
            server.start()
            assert (await first_free(scheduling, clinic)).location == "North Clinic"
        finally:
            await client.aclose()
