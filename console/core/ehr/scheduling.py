# SPDX-License-Identifier: GPL-2.0-or-later
"""Booking, moving and cancelling appointments: the contract every scheduling backend keeps.

:class:`Scheduling` is what the console asks for, in these plain values; the
EHR's form is :mod:`console.core.ehr.fhir_scheduling` (and the demo's own,
:mod:`console.core.ehr.local_scheduling`). The promises: a slot is booked
only if it is still free and the version the agent was offered (two agents,
one booking; the other gets :class:`SlotTakenError`); a move books the new
and cancels the old at once (never none, never two); a booking asked again
with the same request id returns the first one instead of booking twice.
Nothing here imports an HTTP client: the screens that show these values
load at start, the EHR link only when it is used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from console.core.ehr.errors import (
    EhrConflictError,
)
from console.core.records import dataclass

CANCEL_REASONS: dict[str, str] = {
    "pat": "Patient asked",
    "pat-fb": "Patient feels better",
    "pat-lt": "Patient has no transport",
    "pat-mv": "Patient moved",
    "prov": "Clinic or clinician",
    "oth-err": "Booked in error",
}
"""Cancellation reasons offered to the agent (HL7 appointment-cancellation-reason codes)."""


class SlotTakenError(EhrConflictError):
    """The slot was booked (or changed) by someone else since it was offered."""

    def __init__(self) -> None:
        super().__init__("That slot was just taken: pick another.")


@dataclass(frozen=True, slots=True)
class SlotOffer:
    """A free slot as the agent sees it in the picker."""

    slot_id: str
    version: str
    """The slot's ``meta.versionId`` when offered: a booking succeeds only on this version."""
    start: datetime
    end: datetime
    clinician: str
    location: str
    service: str
    schedule_id: str
    actors: tuple[tuple[str, str], ...] = ()
    """The schedule's clinician and location as (reference, name): the booking names them."""

    @property
    def minutes(self) -> int:
        """How long the appointment is."""
        return int((self.end - self.start).total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class Booking:
    """An appointment careline booked or found for the patient."""

    appointment_id: str
    version: str
    status: str
    start: datetime
    end: datetime
    slot_ids: tuple[str, ...]
    description: str = ""
    """What the appointment is, as the card and toasts say it (the EHR's description,
    else its service)."""
    clinician: str = ""
    location: str = ""
    service: str = ""
    """The service or appointment type (e.g. "Diabetes review"); empty when the
    backend names none. The pre-visit preparation is chosen by it."""


SLOT_LIMIT = 50
"""How many free slots one query gives at most (the earliest)."""


@dataclass(frozen=True, slots=True)
class SlotQuery:
    """What the picker asks for: a date range, optionally some schedules or a service."""

    start: datetime
    end: datetime
    schedule_ids: tuple[str, ...] = ()
    """The patient's own clinicians' schedules first (empty: any)."""
    service_type: str = ""
    """A service type code (empty: any)."""
    limit: int = SLOT_LIMIT


class Scheduling(Protocol):
    """What the console needs from a scheduling backend (the EHR, or the demo's own)."""

    async def free_slots(self, query: SlotQuery) -> list[SlotOffer]:
        """Free slots in the range, earliest first."""
        ...

    async def book(self, patient_id: str, slot: SlotOffer, *, request_id: str) -> Booking:
        """Book ``slot`` for the patient; :class:`SlotTakenError` if it is gone."""
        ...

    async def cancel(self, booking: Booking, reason: str) -> Booking:
        """Cancel ``booking`` with a reason code of :data:`CANCEL_REASONS`; its slots free."""
        ...

    async def reschedule(
        self, booking: Booking, slot: SlotOffer, *, request_id: str, reason: str = "pat"
    ) -> Booking:
        """Book ``slot`` and cancel ``booking`` at once (all or nothing)."""
        ...

    async def bookings(self, patient_id: str, *, since: datetime) -> list[Booking]:
        """The patient's booked appointments from ``since``, earliest first."""
        ...
