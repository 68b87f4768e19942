# SPDX-License-Identifier: GPL-2.0-or-later
"""The appointment a reminder item is about, for the call that works the item.

Generation keeps it with the item (the directory's resource id, start, service
and clinician; ``migrations/0017_worklist_appointments.sql``, and the hub's
``0005``). The call reads it once the item is claimed: its day and time fill
the reminder script's ``{patient.next_appointment}`` (what a reminder may say
to the number the patient gave, as a voicemail may); the service and the
clinician are shown only once the person who answered is verified, and the id
is what ``rescheduled`` moves and ``cancelled`` cancels.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from console.core.records import dataclass
from console.core.store import Store
from console.core.text import safe_text
from console.core.worklists.store import Claim

RESOURCE_PREFIX = "Appointment/"
"""How the directory names an EHR appointment (``Appointment/<id>``)."""


@dataclass(frozen=True, slots=True, repr=False)
class ItemAppointment:
    """A reminder's appointment (plain values; the text is the directory's, cleaned)."""

    resource_id: str
    """The directory's id, ``Appointment/<EHR id>`` for one synced from the EHR."""
    start: datetime
    """When it starts (aware)."""
    service: str = ""
    clinician: str = ""

    def __repr__(self) -> str:
        return "ItemAppointment(...)"  # no patient data in a log line or a traceback

    @property
    def ehr_id(self) -> str:
        """The id the scheduling backend knows it by (the resource id without its type)."""
        return self.resource_id.removeprefix(RESOURCE_PREFIX)

    def spoken(self) -> str:
        """Its day and time as the agent says them ("Tuesday 03 March at 09:00")."""
        return self.start.astimezone().strftime("%A %d %B at %H:%M")


def item_appointment(
    resource_id: object, start: object, service: object, clinician: object
) -> ItemAppointment | None:
    """The appointment of a stored item's columns; None when it has none (another kind,
    generated before items carried it) or its start does not read as an instant."""
    if not resource_id or not isinstance(start, str | datetime):
        return None
    if isinstance(start, datetime):
        moment = start
    else:
        try:
            moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ItemAppointment(
        str(resource_id),
        moment,
        safe_text(service or "", 60),
        safe_text(clinician or "", 60),
    )


@runtime_checkable
class ClaimAppointments(Protocol):
    """A claimer that keeps items elsewhere than the local store (the hub) reads a held
    item's appointment itself."""

    async def appointment(self, claim: Claim) -> ItemAppointment | None:
        """The appointment of the item ``claim`` holds (None: the item has none)."""
        ...


async def local_appointment(store: Store, claim: Claim) -> ItemAppointment | None:
    """The appointment of the local item ``claim`` holds (None: it has none)."""
    rows = await store.fetch_all(
        "SELECT appointment_id, appointment_start, appointment_service, appointment_clinician "
        "FROM worklist_items WHERE id = ?",
        (claim.item_id,),
    )
    return item_appointment(*rows[0]) if rows else None
