# SPDX-License-Identifier: GPL-2.0-or-later
"""Scheduling on a FHIR R4 server: Slot, Schedule and Appointment, the IHE way.

Search free ``Slot``\\ s (with their ``Schedule`` for names), re-read the
chosen slot just before booking, then one transaction that creates the
``Appointment`` and marks the slot busy *if the slot is still the version
the agent saw* (``If-Match``). A move is one transaction too (new booked,
old cancelled, both slots updated). Every booking carries careline's own
identifier (the request id): a booking whose answer was lost (a timeout) is
looked up by it before anything is said or tried again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from console.core.ehr.client import FhirClient, Resource
from console.core.ehr.errors import (
    EhrConflictError,
    EhrError,
    EhrRefusedError,
    EhrUnavailableError,
    MalformedResourceError,
)
from console.core.ehr.scheduling import (
    CANCEL_REASONS,
    Booking,
    SlotOffer,
    SlotQuery,
    SlotTakenError,
)

BOOKING_SYSTEM = "urn:careline:booking"
"""Identifier system of careline's request id on every Appointment it books."""
CANCEL_SYSTEM = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
"""The code system of :data:`CANCEL_REASONS` (HL7 appointment-cancellation-reason)."""


class FhirScheduling:
    """:class:`Scheduling` on a FHIR R4 server (Slot, Schedule, Appointment)."""

    def __init__(self, client: FhirClient) -> None:
        self.client = client
        self._names: dict[str, str] = {}
        """Display names of clinicians and locations by reference, read once each."""

    async def free_slots(self, query: SlotQuery) -> list[SlotOffer]:
        """Free slots in ``query``'s range (with their schedules, for names), earliest first."""
        params: dict[str, str | list[str]] = {
            "status": "free",
            "start": [f"ge{_instant(query.start)}", f"lt{_instant(query.end)}"],
            "_sort": "start",
            "_count": str(min(query.limit, 100)),
            "_include": "Slot:schedule",
        }
        if query.schedule_ids:
            params["schedule"] = ",".join(f"Schedule/{i}" for i in query.schedule_ids)
        if query.service_type:
            params["service-type"] = query.service_type
        found = await self.client.search("Slot", params, limit=query.limit * 2)
        schedules = {r.get("id"): r for r in found if r.get("resourceType") == "Schedule"}
        await self._learn_names(schedules.values())
        offers = [
            _offer(r, schedules, self._names) for r in found if r.get("resourceType") == "Slot"
        ]
        # The server was asked for free slots in the range: what is not is dropped, not shown.
        offers = [o for o in offers if query.start <= o.start < query.end]
        return sorted(offers, key=lambda o: o.start)[: query.limit]

    async def book(self, patient_id: str, slot: SlotOffer, *, request_id: str) -> Booking:
        """Re-read the slot, then create the Appointment and mark the slot busy, if unchanged.

        Asked again with the same ``request_id`` (the first answer was lost), it
        returns the booking already made instead of a "slot taken".
        """
        current = await self._current_slot(slot, request_id)
        if isinstance(current, Booking):
            return current
        entries = [
            _create_appointment(patient_id, slot, current, request_id),
            _update(_with(current, status="busy"), slot.version),
        ]
        return await self._book(entries, request_id)

    async def cancel(self, booking: Booking, reason: str) -> Booking:
        """Mark the appointment cancelled with ``reason`` and free its slots, if unchanged."""
        appointment = await self.client.read("Appointment", booking.appointment_id)
        _check_same(appointment, booking)
        entries = [_update(_cancelled(appointment, reason), booking.version)]
        entries += await self._freed_slots(booking.slot_ids)
        try:
            await self.client.transaction(entries)
        except EhrConflictError:
            raise EhrConflictError(
                "The appointment changed in the EHR since it was shown: look again."
            ) from None
        return _booking(await self.client.read("Appointment", booking.appointment_id))

    async def reschedule(
        self, booking: Booking, slot: SlotOffer, *, request_id: str, reason: str = "pat"
    ) -> Booking:
        """One transaction: the new appointment booked, the old one cancelled, slots moved.

        Asked again with the same ``request_id`` (the first answer was lost), it
        returns the move already made.
        """
        appointment = await self.client.read("Appointment", booking.appointment_id)
        try:
            _check_same(appointment, booking)
        except EhrConflictError:
            mine = await self._booked_as(request_id)
            if mine is not None:
                return mine
            raise
        current = await self._current_slot(slot, request_id)
        if isinstance(current, Booking):
            return current
        entries = [
            _create_appointment(patient_id_of(appointment), slot, current, request_id),
            _update(_with(current, status="busy"), slot.version),
            _update(_cancelled(appointment, reason), booking.version),
            *await self._freed_slots(booking.slot_ids),
        ]
        return await self._book(entries, request_id)

    async def bookings(self, patient_id: str, *, since: datetime) -> list[Booking]:
        """The patient's booked appointments from ``since``."""
        found = await self.client.search(
            "Appointment",
            {
                "patient": f"Patient/{patient_id}",
                "status": "booked",
                "date": f"ge{_instant(since)}",
                "_sort": "date",
            },
        )
        return sorted(
            (_booking(r) for r in found if r.get("resourceType") == "Appointment"),
            key=lambda b: b.start,
        )

    # ----------------------------------------------------------------- helpers
    async def _book(self, entries: list[Resource], request_id: str) -> Booking:
        """Run a booking transaction whose first entry creates the Appointment."""
        try:
            answers = await self.client.transaction(entries)
        except EhrConflictError:
            # Someone was first, or this is a retry of a booking that went through.
            mine = await self._booked_as(request_id)
            if mine is not None:
                return mine
            raise SlotTakenError() from None
        except EhrUnavailableError:
            # The answer was lost, not necessarily the booking: look before saying so.
            mine = await self._booked_as(request_id)
            if mine is not None:
                return mine
            raise
        return await self._answered_booking(answers[0], request_id)

    async def _learn_names(self, schedules: Iterable[Resource]) -> None:
        """Read the name of every clinician and location the schedules name without one."""
        for schedule in schedules:
            for actor in schedule.get("actor") or ():
                reference = actor.get("reference") if isinstance(actor, dict) else None
                if not isinstance(reference, str) or reference in self._names:
                    continue
                if isinstance(actor.get("display"), str) and actor["display"]:
                    self._names[reference] = actor["display"]
                    continue
                kind, _, actor_id = reference.partition("/")
                if kind not in ("Practitioner", "Location") or not actor_id:
                    continue
                self._names[reference] = _display_name(await self.client.read(kind, actor_id))

    async def _current_slot(self, slot: SlotOffer, request_id: str) -> Resource | Booking:
        """The slot as it is now if still free and unchanged; the booking when this very
        request booked it already (a retry); :class:`SlotTakenError` otherwise."""
        current = await self.client.read("Slot", slot.slot_id)
        if current.get("status") != "free" or _version(current) != slot.version:
            mine = await self._booked_as(request_id)
            if mine is not None:
                return mine
            raise SlotTakenError()
        return current

    async def _freed_slots(self, slot_ids: Sequence[str]) -> list[Resource]:
        entries = []
        for slot_id in slot_ids:
            slot = await self.client.read("Slot", slot_id)
            entries.append(_update(_with(slot, status="free"), _version(slot)))
        return entries

    async def _booked_as(self, request_id: str) -> Booking | None:
        """The appointment careline booked under ``request_id``, if the EHR has it."""
        try:
            found = await self.client.search(
                "Appointment", {"identifier": f"{BOOKING_SYSTEM}|{request_id}"}
            )
        except EhrError:
            return None
        appointments = [r for r in found if r.get("resourceType") == "Appointment"]
        return _booking(appointments[0]) if len(appointments) == 1 else None

    async def _answered_booking(self, answer: Resource, request_id: str) -> Booking:
        """The booking a transaction created (read back: its answer may omit the body)."""
        resource = answer.get("resource")
        if isinstance(resource, dict) and resource.get("resourceType") == "Appointment":
            return _booking(resource)
        mine = await self._booked_as(request_id)
        if mine is None:
            raise MalformedResourceError("The EHR booked but did not say which appointment.")
        return mine


def patient_id_of(appointment: Resource) -> str:
    """The id of the patient taking part in ``appointment``."""
    for participant in appointment.get("participant") or ():
        reference = ((participant or {}).get("actor") or {}).get("reference", "")
        if isinstance(reference, str) and reference.startswith("Patient/"):
            return reference.removeprefix("Patient/")
    raise MalformedResourceError("The appointment names no patient.")


def _create_appointment(
    patient_id: str, slot: SlotOffer, current: Resource, request_id: str
) -> Resource:
    """A transaction entry creating the Appointment for ``slot`` (once per request id)."""
    participants: list[dict[str, Any]] = [
        {"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"},
        *(
            {"actor": {"reference": reference, "display": name}, "status": "accepted"}
            for reference, name in slot.actors
        ),
    ]
    appointment: Resource = {
        "resourceType": "Appointment",
        "status": "booked",
        "identifier": [{"system": BOOKING_SYSTEM, "value": request_id}],
        "slot": [{"reference": f"Slot/{slot.slot_id}"}],
        "start": current.get("start"),
        "end": current.get("end"),
        "participant": participants,
    }
    if slot.service:
        appointment["serviceType"] = [{"text": slot.service}]
        # What an appointment list shows as its subject line (FHIR's Appointment.description).
        appointment["description"] = slot.service
    return {
        "resource": appointment,
        "request": {
            "method": "POST",
            "url": "Appointment",
            "ifNoneExist": f"identifier={BOOKING_SYSTEM}|{request_id}",
        },
    }


def _update(resource: Resource, version: str) -> Resource:
    """A transaction entry replacing ``resource`` only if it is still ``version``."""
    return {
        "resource": resource,
        "request": {
            "method": "PUT",
            "url": f"{resource['resourceType']}/{resource['id']}",
            "ifMatch": f'W/"{version}"',
        },
    }


def _with(resource: Resource, **fields: Any) -> Resource:
    """A copy of ``resource`` with ``fields`` changed and its server-kept meta dropped."""
    changed = {k: v for k, v in resource.items() if k != "meta"}
    changed.update(fields)
    return changed


def _cancelled(appointment: Resource, reason: str) -> Resource:
    if reason not in CANCEL_REASONS:
        raise EhrRefusedError(
            f"Not a cancellation reason: choose one of {', '.join(CANCEL_REASONS)}."
        )
    return _with(
        appointment,
        status="cancelled",
        cancelationReason={
            "coding": [{"system": CANCEL_SYSTEM, "code": reason, "display": CANCEL_REASONS[reason]}]
        },
    )


def _check_same(appointment: Resource, booking: Booking) -> None:
    if _version(appointment) != booking.version or appointment.get("status") != "booked":
        raise EhrConflictError("The appointment changed in the EHR since it was shown: look again.")


def _version(resource: Resource) -> str:
    meta = resource.get("meta")
    version = meta.get("versionId") if isinstance(meta, dict) else None
    if not isinstance(version, str) or not version:
        raise MalformedResourceError(
            f"The EHR's {resource.get('resourceType', 'resource')} has no version (meta.versionId)."
        )
    return version


def _offer(slot: Resource, schedules: dict[Any, Resource], names: dict[str, str]) -> SlotOffer:
    """A slot as offered, its clinician and location named from its schedule's actors."""
    reference = (slot.get("schedule") or {}).get("reference", "")
    schedule_id = reference.removeprefix("Schedule/") if isinstance(reference, str) else ""
    actors = [
        str(a.get("reference", ""))
        for a in (schedules.get(schedule_id) or {}).get("actor") or ()
        if isinstance(a, dict)
    ]

    def named(kind: str) -> str:
        return next((names.get(a, "") for a in actors if a.startswith(f"{kind}/")), "")

    service = _service(slot)
    return SlotOffer(
        slot_id=_text(slot, "id"),
        version=_version(slot),
        start=_when(slot, "start"),
        end=_when(slot, "end"),
        clinician=named("Practitioner") or named("PractitionerRole"),
        location=named("Location"),
        service=service,
        schedule_id=schedule_id,
        actors=tuple((a, names[a]) for a in actors if names.get(a)),
    )


def _service(resource: Resource) -> str:
    """The first service type's text (or its first coding's display), "" when none."""
    services = resource.get("serviceType")
    first = services[0] if isinstance(services, list) and services else None
    if not isinstance(first, dict):
        return ""
    coding = first.get("coding")
    code = coding[0] if isinstance(coding, list) and coding else None
    display = code.get("display") if isinstance(code, dict) else None
    text = first.get("text") or display
    return text if isinstance(text, str) else ""


def _display_name(resource: Resource) -> str:
    """A Practitioner's name ("Given Family", or its text) or a Location's name."""
    if resource.get("resourceType") == "Location":
        return str(resource.get("name") or "")
    for name in resource.get("name") or ():
        if not isinstance(name, dict):
            continue
        text = name.get("text")
        if isinstance(text, str) and text:
            return text
        given = [g for g in name.get("given") or () if isinstance(g, str)]
        family = str(name.get("family") or "")
        prefix = [p for p in name.get("prefix") or () if isinstance(p, str)]
        return " ".join([*prefix, *given, family]).strip()
    return ""


def _booking(appointment: Resource) -> Booking:
    slots = tuple(
        str(s.get("reference", "")).removeprefix("Slot/")
        for s in appointment.get("slot") or ()
        if isinstance(s, dict)
    )
    named: dict[str, str] = {}
    for participant in appointment.get("participant") or ():
        actor = participant.get("actor") if isinstance(participant, dict) else None
        if isinstance(actor, dict) and isinstance(actor.get("display"), str):
            named.setdefault(str(actor.get("reference", "")).split("/")[0], actor["display"])
    service = _service(appointment)
    description = appointment.get("description")
    return Booking(
        appointment_id=_text(appointment, "id"),
        version=_version(appointment),
        status=_text(appointment, "status"),
        start=_when(appointment, "start"),
        end=_when(appointment, "end"),
        slot_ids=slots,
        description=description if isinstance(description, str) and description else service,
        clinician=named.get("Practitioner", "") or named.get("PractitionerRole", ""),
        location=named.get("Location", ""),
        service=service,
    )


def _text(resource: Resource, field: str) -> str:
    value = resource.get(field)
    if not isinstance(value, str) or not value:
        raise MalformedResourceError(
            f"The EHR's {resource.get('resourceType', 'resource')} has no {field}."
        )
    return value


def _when(resource: Resource, field: str) -> datetime:
    """An instant field as an aware UTC datetime."""
    text = _text(resource, field)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedResourceError(
            f"The EHR's {resource.get('resourceType', 'resource')} has an unreadable {field}."
        ) from None
    if value.tzinfo is None:
        raise MalformedResourceError(
            f"The EHR's {resource.get('resourceType', 'resource')} {field} has no time zone."
        )
    return value.astimezone(UTC)


def _instant(value: datetime) -> str:
    """``value`` as a FHIR instant in UTC (a ``+`` offset would need escaping in a URL)."""
    if value.tzinfo is None:
        raise ValueError("scheduling needs aware datetimes")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
