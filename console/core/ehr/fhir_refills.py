# SPDX-License-Identifier: GPL-2.0-or-later
"""Refill requests on a FHIR R4 server: a ``Task`` to the prescriber, a ``Communication``
to the care team.

A refill request is a ``Task`` (status ``requested``, intent ``order``, code
``fulfill`` of HL7's task codes plus careline's ``refill``) whose focus is the
``MedicationRequest``, ``for`` the patient and owner the prescriber (the
prescription's requester): the pattern of the big EHR APIs' refill inboxes.
Just before it is written, the prescription is read again and its open refill
Tasks looked up: what the card showed may be stale. A message to the care team
is a ``Communication`` (status ``completed``, category ``notification``) to the
patient's active ``CareTeam`` (else, or when the EHR cannot search care teams,
the prescriber), about the prescription,
with the agent's text: it is a note for people, not work careline tracks.

Both carry careline's request id as an identifier and are created with
``ifNoneExist`` on it; an answer lost (a timeout, a server gone) or unreadable
is looked up by that identifier before anything is said or tried again, so a
retry never writes a second one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from console.core.ehr.client import FhirClient, Resource
from console.core.ehr.errors import (
    EhrError,
    EhrRefusedError,
    EhrUnavailableError,
    MalformedResourceError,
)
from console.core.ehr.fhir_fields import moment, required_text
from console.core.ehr.refills import (
    CareTeamMessage,
    NotEligibleError,
    Prescription,
    RefillRequest,
    message_text,
)
from console.core.patients.context import CURRENT_MEDICATION_STATUSES

REFILL_SYSTEM = "urn:careline:refill"
"""Identifier system of careline's request id on every refill Task it creates."""
MESSAGE_SYSTEM = "urn:careline:care-message"
"""Identifier system of careline's request id on every Communication it sends."""
TASK_CODES = "http://hl7.org/fhir/CodeSystem/task-code"
CARELINE_TASKS = "urn:careline:task"
"""careline's own task code system: ``refill`` says what the ``fulfill`` Task is for."""
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/communication-category"
OPEN_TASK_STATUSES = ("requested", "received", "accepted", "in-progress")
"""A refill Task in one of these is still with the prescriber."""


class FhirRefills:
    """:class:`~console.core.ehr.refills.Refills` on a FHIR R4 server."""

    def __init__(self, client: FhirClient) -> None:
        self.client = client
        self._names: dict[str, str] = {}
        """Display names of prescribers and care teams by reference, read once each."""

    async def prescriptions(self, patient_id: str) -> list[Prescription]:
        """The patient's current MedicationRequests, each with its open refill request."""
        found = await self.client.search(
            "MedicationRequest",
            {
                "patient": f"Patient/{patient_id}",
                "status": ",".join(CURRENT_MEDICATION_STATUSES),
            },
            limit=50,
        )
        requested = await self._open_requests({"patient": f"Patient/{patient_id}"})
        prescriptions = []
        for resource in found:
            if resource.get("resourceType") != "MedicationRequest":
                continue
            prescription = await self._prescription(resource)
            day = requested.get(prescription.prescription_id)
            prescriptions.append(_with_request(prescription, day))
        return sorted(prescriptions, key=lambda p: (p.status != "active", p.name.casefold()))

    async def request_refill(
        self, patient_id: str, prescription: Prescription, *, request_id: str, today: date
    ) -> RefillRequest:
        """Read the prescription again; if it may be refilled, create the refill Task.

        Asked again with the same ``request_id`` (the first answer was lost), it
        returns the request already made instead of a second one.
        """
        mine = await self._sent_as(request_id)
        if mine is not None:
            return mine
        resource = await self.client.read("MedicationRequest", prescription.prescription_id)
        current = await self._prescription(resource)
        focus = f"MedicationRequest/{current.prescription_id}"
        requested = await self._open_requests({"focus": focus})
        current = _with_request(current, requested.get(current.prescription_id))
        if _subject(resource) != f"Patient/{patient_id}":
            raise EhrRefusedError("That prescription is not this patient's.", 409)
        reason, eligible = current.eligibility(today)
        if not eligible:
            raise NotEligibleError(reason)
        if not current.prescriber_ref:
            raise NotEligibleError("the prescription names no prescriber to send it to")
        task: Resource = {
            "resourceType": "Task",
            "status": "requested",
            "intent": "order",
            "priority": "routine",
            "identifier": [{"system": REFILL_SYSTEM, "value": request_id}],
            "code": {
                "coding": [
                    {"system": TASK_CODES, "code": "fulfill"},
                    {"system": CARELINE_TASKS, "code": "refill", "display": "Refill request"},
                ],
                "text": "Refill request",
            },
            "description": "Refill requested by the patient through the call centre",
            "focus": {"reference": focus},
            "for": {"reference": f"Patient/{patient_id}"},
            "owner": _reference(current.prescriber_ref, current.prescriber),
            "authoredOn": _instant(datetime.now(UTC)),
        }
        answer = await self._create(task, REFILL_SYSTEM, request_id)
        return _refill_request(answer, self._names)

    async def message_care_team(
        self,
        patient_id: str,
        text: str,
        *,
        request_id: str,
        about: Prescription | None = None,
    ) -> CareTeamMessage:
        """Send ``text`` to the patient's active CareTeam (else the prescriber), once."""
        body = message_text(text)
        mine = await self._message_as(request_id)
        if mine is not None:
            return mine
        recipient = await self._care_team(patient_id)
        if recipient is None and about is not None and about.prescriber_ref:
            recipient = (about.prescriber_ref, about.prescriber or "the prescriber")
        if recipient is None:
            raise EhrRefusedError("No care team or prescriber on file to send the message to.")
        reference, name = recipient
        message: Resource = {
            "resourceType": "Communication",
            "status": "completed",
            "identifier": [{"system": MESSAGE_SYSTEM, "value": request_id}],
            "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": "notification"}]}],
            "subject": {"reference": f"Patient/{patient_id}"},
            "recipient": [_reference(reference, name)],
            "sent": _instant(datetime.now(UTC)),
            "payload": [{"contentString": body}],
        }
        if about is not None:
            message["about"] = [{"reference": f"MedicationRequest/{about.prescription_id}"}]
        answer = await self._create(message, MESSAGE_SYSTEM, request_id)
        return _message(answer, self._names)

    # ----------------------------------------------------------------- helpers
    async def _create(self, resource: Resource, system: str, request_id: str) -> Resource:
        """Create ``resource`` once per ``request_id``; the resource as the EHR keeps it.

        A lost or unreadable answer is looked up by the identifier before it is
        reported: the write may have happened.
        """
        kind = resource["resourceType"]
        entry = {
            "resource": resource,
            "request": {
                "method": "POST",
                "url": kind,
                "ifNoneExist": f"identifier={system}|{request_id}",
            },
        }
        try:
            answers = await self.client.transaction([entry])
            created = answers[0].get("resource")
            if isinstance(created, dict) and created.get("resourceType") == kind:
                return created
        except (EhrUnavailableError, MalformedResourceError):
            mine = await self._found(kind, system, request_id)
            if mine is not None:
                return mine
            raise
        mine = await self._found(kind, system, request_id)  # the answer had no body
        if mine is None:
            raise MalformedResourceError(f"The EHR took the {kind} but did not say which.")
        return mine

    async def _sent_as(self, request_id: str) -> RefillRequest | None:
        """The refill Task careline created under ``request_id`` (None: none yet)."""
        found = await self._found("Task", REFILL_SYSTEM, request_id)
        return _refill_request(found, self._names) if found is not None else None

    async def _message_as(self, request_id: str) -> CareTeamMessage | None:
        """The Communication careline sent under ``request_id`` (None: none yet)."""
        found = await self._found("Communication", MESSAGE_SYSTEM, request_id)
        return _message(found, self._names) if found is not None else None

    async def _found(self, kind: str, system: str, request_id: str) -> Resource | None:
        """The one ``kind`` with careline's identifier ``request_id`` (None: none, or the
        EHR cannot say now)."""
        try:
            found = await self.client.search(kind, {"identifier": f"{system}|{request_id}"})
        except EhrError:
            return None
        mine = [r for r in found if r.get("resourceType") == kind]
        return mine[0] if len(mine) == 1 else None

    async def _open_requests(self, where: dict[str, str]) -> dict[str, date]:
        """Open refill Tasks by the MedicationRequest id they are for: when each was asked."""
        found = await self.client.search(
            "Task", {**where, "status": ",".join(OPEN_TASK_STATUSES)}, limit=100
        )
        requested: dict[str, date] = {}
        for task in found:
            if task.get("resourceType") != "Task" or not _is_refill(task):
                continue
            focus = str((task.get("focus") or {}).get("reference") or "")
            prescription_id = focus.removeprefix("MedicationRequest/")
            if prescription_id == focus or task.get("status") not in OPEN_TASK_STATUSES:
                continue
            day = _when(task, "authoredOn").date()
            requested[prescription_id] = max(day, requested.get(prescription_id, day))
        return requested

    async def _prescription(self, resource: Resource) -> Prescription:
        requester = resource.get("requester")
        reference = display = ""
        if isinstance(requester, dict):
            reference = str(requester.get("reference") or "")
            display = str(requester.get("display") or "")
        if reference and not display:
            display = await self._name(reference)
        dispense = resource.get("dispenseRequest")
        dispense = dispense if isinstance(dispense, dict) else {}
        period = dispense.get("validityPeriod")
        period = period if isinstance(period, dict) else {}
        repeats = dispense.get("numberOfRepeatsAllowed")
        if repeats is not None and (type(repeats) is not int or repeats < 0):
            raise MalformedResourceError(
                "The EHR's MedicationRequest has an unreadable numberOfRepeatsAllowed."
            )
        dosage = resource.get("dosageInstruction") or [{}]
        return Prescription(
            prescription_id=required_text(resource, "id"),
            name=_medication_name(resource),
            status=required_text(resource, "status"),
            dosage=str((dosage[0] if isinstance(dosage[0], dict) else {}).get("text") or ""),
            refills_allowed=repeats,
            valid_until=_day(period.get("end"), "validityPeriod.end"),
            prescriber=display,
            prescriber_ref=reference,
            valid_from=_day(period.get("start"), "validityPeriod.start"),
        )

    async def _care_team(self, patient_id: str) -> tuple[str, str] | None:
        """The patient's active care team as (reference, name), if one is on file."""
        try:
            found = await self.client.search(
                "CareTeam", {"patient": f"Patient/{patient_id}", "status": "active"}, limit=5
            )
        except EhrRefusedError as exc:
            if exc.status != 400:
                raise
            # An EHR that cannot search care teams (sekmet 0.1 cannot): the prescriber.
            return None
        for team in found:
            if team.get("resourceType") == "CareTeam" and isinstance(team.get("id"), str):
                return f"CareTeam/{team['id']}", str(team.get("name") or "the care team")
        return None

    async def _name(self, reference: str) -> str:
        """The name of a Practitioner, PractitionerRole or Organization, read once."""
        if reference not in self._names:
            kind, _, resource_id = reference.partition("/")
            name = ""
            if kind in ("Practitioner", "Organization") and resource_id:
                try:
                    name = _person(await self.client.read(kind, resource_id))
                except EhrRefusedError:
                    name = ""  # a prescriber the EHR no longer has: shown without a name
            self._names[reference] = name
        return self._names[reference]


def _with_request(prescription: Prescription, day: date | None) -> Prescription:
    if day is None:
        return prescription
    return Prescription(
        prescription.prescription_id,
        prescription.name,
        prescription.status,
        prescription.dosage,
        prescription.refills_allowed,
        prescription.valid_until,
        prescription.prescriber,
        prescription.prescriber_ref,
        prescription.valid_from,
        day,
    )


def _is_refill(task: Resource) -> bool:
    code = task.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    return any(
        isinstance(c, dict) and c.get("system") == CARELINE_TASKS and c.get("code") == "refill"
        for c in codings or ()
    )


def _refill_request(task: Resource, names: dict[str, str]) -> RefillRequest:
    """A refill Task as careline reads it; :class:`MalformedResourceError` naming the field."""
    if task.get("resourceType") != "Task":
        raise MalformedResourceError("The EHR did not answer with a Task.")
    focus = (
        (task.get("focus") or {}).get("reference") if isinstance(task.get("focus"), dict) else None
    )
    if not isinstance(focus, str) or not focus.startswith("MedicationRequest/"):
        raise MalformedResourceError("The EHR's Task has no MedicationRequest focus.")
    owner = task.get("owner")
    reference = str(owner.get("reference") or "") if isinstance(owner, dict) else ""
    display = str(owner.get("display") or "") if isinstance(owner, dict) else ""
    return RefillRequest(
        request_id=required_text(task, "id"),
        prescription_id=focus.removeprefix("MedicationRequest/"),
        status=required_text(task, "status"),
        authored_on=_when(task, "authoredOn"),
        owner=display or names.get(reference, "") or reference,
    )


def _message(communication: Resource, names: dict[str, str]) -> CareTeamMessage:
    if communication.get("resourceType") != "Communication":
        raise MalformedResourceError("The EHR did not answer with a Communication.")
    recipients = communication.get("recipient") or [{}]
    first = (
        recipients[0] if isinstance(recipients, list) and isinstance(recipients[0], dict) else {}
    )
    reference = str(first.get("reference") or "")
    return CareTeamMessage(
        message_id=required_text(communication, "id"),
        sent=_when(communication, "sent"),
        recipient=str(first.get("display") or "") or names.get(reference, "") or reference,
    )


def _reference(reference: str, display: str) -> dict[str, str]:
    return {"reference": reference, "display": display} if display else {"reference": reference}


def _subject(resource: Resource) -> str:
    subject = resource.get("subject")
    return str(subject.get("reference") or "") if isinstance(subject, dict) else ""


def _medication_name(resource: Resource) -> str:
    concept = resource.get("medicationCodeableConcept")
    if isinstance(concept, dict):
        codings = [c for c in concept.get("coding") or () if isinstance(c, dict)]
        name = concept.get("text") or next((c.get("display") for c in codings), None)
    else:
        medication = resource.get("medicationReference")
        name = medication.get("display") if isinstance(medication, dict) else None
    if not isinstance(name, str) or not name:
        raise MalformedResourceError("The EHR's MedicationRequest names no medication.")
    return name


def _person(resource: Resource) -> str:
    """A Practitioner's name as written ("Dr Ines Moreau"), or an Organization's."""
    if isinstance(resource.get("name"), str):
        return str(resource["name"])
    for name in resource.get("name") or ():
        if isinstance(name, dict):
            if isinstance(name.get("text"), str):
                return str(name["text"])
            parts = [*(name.get("prefix") or ()), *(name.get("given") or ()), name.get("family")]
            return " ".join(p for p in parts if isinstance(p, str))
    return ""


def _when(resource: Resource, field: str) -> datetime:
    """A required dateTime field as an aware UTC datetime."""
    value = moment(required_text(resource, field), resource["resourceType"], field)
    assert value is not None  # required_text gave a string
    return value


def _day(value: Any, field: str) -> date | None:
    """A FHIR date or dateTime as its day (None when absent)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise MalformedResourceError(
            f"The EHR's MedicationRequest has an unreadable {field}."
        ) from None


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
