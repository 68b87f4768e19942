# SPDX-License-Identifier: GPL-2.0-or-later
"""The scheduling contract as checks any backend must pass, spoken only through
:class:`~console.core.ehr.scheduling.Scheduling` (free_slots, book, cancel,
reschedule, bookings): tests/test_scheduling_contract.py runs every check in
:data:`CHECKS` against the FHIR server and against the console's own store.

A check may run after others on the same schedule (the FHIR server is shared
by a module), so it takes the first free slot it finds, picks its own
appointments out by id or slot, and never counts what others left behind.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from console.core.ehr.errors import EhrConflictError, EhrRefusedError
from console.core.ehr.scheduling import (
    Booking,
    Scheduling,
    SlotOffer,
    SlotQuery,
    SlotTakenError,
)

SLOTS = 48
"""Slots each backend's schedule is seeded with, back to back from :attr:`Clinic.opens`."""
MINUTES = 20
TAKEN = "That slot was just taken: pick another."
CHANGED = "The appointment changed in the EHR since it was shown: look again."


@dataclass(frozen=True, slots=True)
class Clinic:
    """A backend seeded for the contract: one clinician's schedule of :data:`SLOTS` free
    slots of :data:`MINUTES` from ``opens``, and a patient to book for."""

    scheduling: Scheduling
    agents: Callable[[int], AbstractAsyncContextManager[list[Scheduling]]]
    """``n`` more consoles on the same backend, each with connections of its own."""
    schedule_id: str
    patient_id: str
    opens: datetime
    clinician: str
    location: str
    service: str


Check = Callable[[Clinic], Awaitable[None]]


def request_id() -> str:
    return uuid.uuid4().hex


def whole_day(clinic: Clinic) -> SlotQuery:
    return SlotQuery(clinic.opens, clinic.opens + timedelta(days=1), (clinic.schedule_id,))


async def first_free(clinic: Clinic, scheduling: Scheduling | None = None) -> SlotOffer:
    offers = await (scheduling or clinic.scheduling).free_slots(whole_day(clinic))
    assert offers, "no free slot left in the contract's schedule"
    return offers[0]


async def free_ids(clinic: Clinic) -> list[str]:
    return [o.slot_id for o in await clinic.scheduling.free_slots(whole_day(clinic))]


async def booked(clinic: Clinic) -> list[Booking]:
    return await clinic.scheduling.bookings(clinic.patient_id, since=clinic.opens)


async def on_slot(clinic: Clinic, slot_id: str) -> list[Booking]:
    """The patient's booked appointments on ``slot_id``."""
    return [b for b in await booked(clinic) if slot_id in b.slot_ids]


async def book_elsewhere(clinic: Clinic, offer: SlotOffer) -> Booking:
    """Another console books ``offer`` for the patient."""
    async with clinic.agents(1) as (other,):
        return await other.book(clinic.patient_id, offer, request_id=request_id())


# ------------------------------------------------------------------- the checks
async def free_slots_are_named_in_order_and_in_range(clinic: Clinic) -> None:
    """Free slots come earliest first, inside [start, end), with their schedule's names."""
    # Late in the schedule: no other check books this far on.
    start = clinic.opens + timedelta(hours=10)
    end = start + timedelta(hours=2)
    offers = await clinic.scheduling.free_slots(SlotQuery(start, end, (clinic.schedule_id,)))
    assert [o.start for o in offers] == [
        start + i * timedelta(minutes=MINUTES) for i in range(120 // MINUTES)
    ]
    first = offers[0]
    assert (first.clinician, first.location, first.service, first.minutes) == (
        clinic.clinician,
        clinic.location,
        clinic.service,
        MINUTES,
    )
    assert {o.schedule_id for o in offers} == {clinic.schedule_id}
    assert len({o.slot_id for o in offers}) == len(offers)
    limited = await clinic.scheduling.free_slots(
        SlotQuery(start, end, (clinic.schedule_id,), limit=2)
    )
    assert [o.slot_id for o in limited] == [o.slot_id for o in offers[:2]]


async def booking_takes_the_slot_and_shows_on_the_patient(clinic: Clinic) -> None:
    offer = await first_free(clinic)
    booking = await clinic.scheduling.book(clinic.patient_id, offer, request_id=request_id())
    assert (booking.status, booking.start, booking.end, booking.slot_ids) == (
        "booked",
        offer.start,
        offer.end,
        (offer.slot_id,),
    )
    assert (booking.clinician, booking.location) == (clinic.clinician, clinic.location)
    # The service names the appointment (the card says "General", not "appointment").
    assert (booking.service, booking.description) == (clinic.service, clinic.service)
    assert offer.slot_id not in await free_ids(clinic)
    listed = await on_slot(clinic, offer.slot_id)
    assert [(b.appointment_id, b.service) for b in listed] == [
        (booking.appointment_id, clinic.service)
    ]


async def four_agents_racing_for_one_slot_make_one_booking(clinic: Clinic) -> None:
    async with clinic.agents(4) as agents:
        offer = await first_free(clinic, agents[0])
        results = await asyncio.gather(
            *(a.book(clinic.patient_id, offer, request_id=request_id()) for a in agents),
            return_exceptions=True,
        )
    made = [r for r in results if isinstance(r, Booking)]
    taken = [r for r in results if isinstance(r, SlotTakenError)]
    assert (len(made), len(taken)) == (1, 3), results
    assert str(taken[0]) == TAKEN
    assert [b.appointment_id for b in await on_slot(clinic, offer.slot_id)] == [
        made[0].appointment_id
    ]
    assert offer.slot_id not in await free_ids(clinic)


async def a_slot_taken_since_it_was_offered_is_refused(clinic: Clinic) -> None:
    offer = await first_free(clinic)
    theirs = await book_elsewhere(clinic, offer)
    with pytest.raises(SlotTakenError, match="just taken"):
        await clinic.scheduling.book(clinic.patient_id, offer, request_id=request_id())
    assert [b.appointment_id for b in await on_slot(clinic, offer.slot_id)] == [
        theirs.appointment_id
    ]


async def a_slot_freed_again_is_not_booked_on_its_old_offer(clinic: Clinic) -> None:
    """Free again is not the slot the agent was shown: its version moved on."""
    offer = await first_free(clinic)
    await clinic.scheduling.cancel(await book_elsewhere(clinic, offer), "pat")
    with pytest.raises(SlotTakenError):
        await clinic.scheduling.book(clinic.patient_id, offer, request_id=request_id())
    offers = await clinic.scheduling.free_slots(whole_day(clinic))
    again = next(o for o in offers if o.slot_id == offer.slot_id)
    assert again.version != offer.version
    booking = await clinic.scheduling.book(clinic.patient_id, again, request_id=request_id())
    assert booking.slot_ids == (offer.slot_id,)


async def a_retried_booking_is_found_not_made_twice(clinic: Clinic) -> None:
    offer = await first_free(clinic)
    same = request_id()
    first = await clinic.scheduling.book(clinic.patient_id, offer, request_id=same)
    # The answer was lost; the agent presses Enter again on the offer they still see.
    again = await clinic.scheduling.book(clinic.patient_id, offer, request_id=same)
    assert (again.appointment_id, again.status) == (first.appointment_id, "booked")
    assert [b.appointment_id for b in await on_slot(clinic, offer.slot_id)] == [
        first.appointment_id
    ]


async def cancel_frees_the_slot(clinic: Clinic) -> None:
    offer = await first_free(clinic)
    booking = await clinic.scheduling.book(clinic.patient_id, offer, request_id=request_id())
    cancelled = await clinic.scheduling.cancel(booking, "pat-fb")
    assert (cancelled.appointment_id, cancelled.status) == (booking.appointment_id, "cancelled")
    assert cancelled.version != booking.version
    assert offer.slot_id in await free_ids(clinic)
    assert booking.appointment_id not in [b.appointment_id for b in await booked(clinic)]
    for stale in (booking, cancelled):  # the version shown is gone; it is not booked
        with pytest.raises(EhrConflictError, match="changed in the EHR") as refused:
            await clinic.scheduling.cancel(stale, "pat")
        assert str(refused.value) == CHANGED


async def an_unknown_cancel_reason_is_refused(clinic: Clinic) -> None:
    offer = await first_free(clinic)
    booking = await clinic.scheduling.book(clinic.patient_id, offer, request_id=request_id())
    with pytest.raises(EhrRefusedError, match="Not a cancellation reason"):
        await clinic.scheduling.cancel(booking, "bored")
    assert [b.appointment_id for b in await on_slot(clinic, offer.slot_id)] == [
        booking.appointment_id
    ]
    assert offer.slot_id not in await free_ids(clinic)
    await clinic.scheduling.cancel(booking, "oth-err")  # unchanged: a real reason works


async def a_move_leaves_exactly_one_appointment(clinic: Clinic) -> None:
    old_offer = await first_free(clinic)
    old = await clinic.scheduling.book(clinic.patient_id, old_offer, request_id=request_id())
    new_offer = await first_free(clinic)
    move = request_id()
    moved = await clinic.scheduling.reschedule(old, new_offer, request_id=move)
    # The answer was lost and the agent asks again: the move already made, not a conflict.
    again = await clinic.scheduling.reschedule(old, new_offer, request_id=move)
    assert again.appointment_id == moved.appointment_id
    assert (moved.status, moved.start, moved.slot_ids) == (
        "booked",
        new_offer.start,
        (new_offer.slot_id,),
    )
    at_new_time = [b for b in await booked(clinic) if b.start == new_offer.start]
    assert [b.appointment_id for b in at_new_time] == [moved.appointment_id]
    assert old.appointment_id not in [b.appointment_id for b in await booked(clinic)]
    free = await free_ids(clinic)
    assert old_offer.slot_id in free
    assert new_offer.slot_id not in free

    # Moving the (now cancelled) old booking again changes nothing at all.
    spare = await first_free(clinic)
    with pytest.raises(EhrConflictError, match="changed in the EHR"):
        await clinic.scheduling.reschedule(old, spare, request_id=request_id())
    assert spare.slot_id in await free_ids(clinic)
    assert [b.appointment_id for b in await on_slot(clinic, new_offer.slot_id)] == [
        moved.appointment_id
    ]


async def a_stale_move_target_leaves_the_old_booking(clinic: Clinic) -> None:
    old_offer = await first_free(clinic)
    old = await clinic.scheduling.book(clinic.patient_id, old_offer, request_id=request_id())
    target = await first_free(clinic)
    await book_elsewhere(clinic, target)
    with pytest.raises(SlotTakenError):
        await clinic.scheduling.reschedule(old, target, request_id=request_id())
    still = await on_slot(clinic, old_offer.slot_id)
    assert [(b.appointment_id, b.version, b.status) for b in still] == [
        (old.appointment_id, old.version, "booked")
    ]
    assert old_offer.slot_id not in await free_ids(clinic)


CHECKS: tuple[Check, ...] = (
    free_slots_are_named_in_order_and_in_range,
    booking_takes_the_slot_and_shows_on_the_patient,
    four_agents_racing_for_one_slot_make_one_booking,
    a_slot_taken_since_it_was_offered_is_refused,
    a_slot_freed_again_is_not_booked_on_its_old_offer,
    a_retried_booking_is_found_not_made_twice,
    cancel_frees_the_slot,
    an_unknown_cancel_reason_is_refused,
    a_move_leaves_exactly_one_appointment,
    a_stale_move_target_leaves_the_old_booking,
)
"""Every check, in the order the tests run them."""
