# SPDX-License-Identifier: GPL-2.0-or-later
"""Reading the clinical context from FHIR R4: Appointment, MedicationRequest,
CareTeam and PractitionerRole.

Only what the patient card shows is kept. Each resource needs an ``id`` (or,
in a Bundle, a ``fullUrl``): it is the key a re-import updates. The patient is
named by a reference — ``Patient/<id>`` (relative or absolute URL), a Bundle
``urn:uuid:`` resolved against the Bundle's own Patient entries, or a logical
reference by identifier (``{"identifier": {"value": MRN}}``). Every problem
raises :class:`RecordError` with a reason that carries no patient data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from console.core.patients.records import (
    AppointmentRecord,
    CareTeamRecord,
    ClinicalRecord,
    MedicationRecord,
    PractitionerRoleRecord,
    RecordError,
)

CLINICAL_TYPES = ("Appointment", "MedicationRequest", "CareTeam", "PractitionerRole")
"""The resource types read here (Patient is read by the importers module)."""

_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_TYPED_REF = re.compile(r"(?:^|/)([A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_MAX_TEXT = 200  # display texts are cut here: a card line, not a document


def clinical_from_fhir(
    resource: Mapping[str, Any], full_url: str | None = None, urls: Mapping[str, str] | None = None
) -> ClinicalRecord:
    """One clinical resource as a record.

    ``full_url`` is the Bundle entry's ``fullUrl``; ``urls`` maps a Bundle's
    Patient ``fullUrl`` values to patient keys, for ``urn:uuid:`` references.
    """
    kind = resource.get("resourceType")
    resource_id = _resource_id(resource, full_url)
    urls = urls or {}
    if kind == "Appointment":
        return _appointment(resource, resource_id, urls)
    if kind == "MedicationRequest":
        return _medication(resource, resource_id, urls)
    if kind == "CareTeam":
        return _care_team(resource, resource_id, urls)
    if kind == "PractitionerRole":
        return _practitioner_role(resource, resource_id)
    raise RecordError(f"unsupported resourceType {kind!r}")


def patient_key(reference: Any, urls: Mapping[str, str], what: str) -> str:
    """The patient key a FHIR Reference gives; ``what`` names the field for errors."""
    if not isinstance(reference, dict):
        raise RecordError(f"{what} is not a Reference")
    target = reference.get("reference")
    if isinstance(target, str) and target.strip():
        target = target.strip()
        if target in urls:
            return urls[target]
        match = _PATIENT_REF.search(target)
        if match:
            return f"id:{match.group(1)}"
        raise RecordError(f"{what} does not reference a Patient")
    identifier = reference.get("identifier")
    value = identifier.get("value") if isinstance(identifier, dict) else None
    if isinstance(value, str) and value.strip():
        return f"mrn:{value.strip()}"
    raise RecordError(f"{what} has neither a reference nor an identifier value")


def _resource_id(resource: Mapping[str, Any], full_url: str | None) -> str:
    kind = str(resource.get("resourceType"))
    value = resource.get("id")
    if isinstance(value, str) and value.strip():
        return f"{kind}/{value.strip()}"
    if full_url:
        return full_url
    raise RecordError(f"{kind} has no id (needed to update it on re-import)")


def _appointment(
    resource: Mapping[str, Any], resource_id: str, urls: Mapping[str, str]
) -> AppointmentRecord:
    status = _required_code(resource, "status")
    participants = resource.get("participant")
    if not isinstance(participants, list):
        raise RecordError("Appointment has no participant list")
    subject: str | None = None
    with_whom = location = ""
    for index, participant in enumerate(participants):
        actor = participant.get("actor") if isinstance(participant, dict) else None
        if not isinstance(actor, dict):
            continue
        target = str(actor.get("reference") or "")
        display = _text(actor.get("display"))
        if subject is None and (
            target in urls or _PATIENT_REF.search(target) or "identifier" in actor
        ):
            subject = patient_key(actor, urls, f"participant {index}")
        elif "Location/" in target:
            location = location or display
        elif display:
            with_whom = with_whom or display
    if subject is None:
        raise RecordError("Appointment has no Patient participant")
    start = resource.get("start")
    return AppointmentRecord(
        resource_id=resource_id,
        subject=subject,
        start=_instant(start, "start") if start is not None else None,
        status=status,
        description=_text(resource.get("description"))
        or _concept(resource.get("serviceType"))
        or _concept(resource.get("appointmentType")),
        with_whom=with_whom,
        location=location,
    )


def _medication(
    resource: Mapping[str, Any], resource_id: str, urls: Mapping[str, str]
) -> MedicationRecord:
    status = _required_code(resource, "status")
    subject = patient_key(resource.get("subject"), urls, "subject")
    name = _concept(resource.get("medicationCodeableConcept")) or _text(
        (resource.get("medicationReference") or {}).get("display")
        if isinstance(resource.get("medicationReference"), dict)
        else None
    )
    if not name:
        raise RecordError("MedicationRequest names no medication (text or display)")
    dispense = resource.get("dispenseRequest")
    dispense = dispense if isinstance(dispense, dict) else {}
    repeats = dispense.get("numberOfRepeatsAllowed")
    if repeats is not None and (
        not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 0
    ):
        raise RecordError("numberOfRepeatsAllowed is not a whole number ≥ 0")
    period = dispense.get("validityPeriod")
    end = period.get("end") if isinstance(period, dict) else None
    dosage = resource.get("dosageInstruction")
    first_dosage = dosage[0] if isinstance(dosage, list) and dosage else {}
    requester = resource.get("requester")
    authored = resource.get("authoredOn")
    return MedicationRecord(
        resource_id=resource_id,
        subject=subject,
        name=name,
        status=status,
        dosage=_text(first_dosage.get("text")) if isinstance(first_dosage, dict) else "",
        authored_on=_day(authored, "authoredOn") if authored is not None else None,
        refills_allowed=repeats,
        valid_until=_day(end, "validityPeriod.end") if end is not None else None,
        prescriber=_text(requester.get("display")) if isinstance(requester, dict) else "",
        quantity=_quantity(dispense.get("quantity")),
        supply_days=_supply_days(dispense.get("expectedSupplyDuration")),
        last_filled=_last_fill(resource.get("extension")),
    )


LAST_FILL_URL = "https://careline.example/fhir/StructureDefinition/last-fill"
"""The extension a MedicationRequest carries its last fill's date in (``valueDate`` or
``valueDateTime``): FHIR keeps fills as MedicationDispense resources, which careline
does not import yet; an EHR export (or the demo) states the latest one here."""
_DAYS_PER_UNIT = {"d": 1, "day": 1, "days": 1, "wk": 7, "week": 7, "weeks": 7, "mo": 30}


def _quantity(value: Any) -> float | None:
    """``dispenseRequest.quantity.value`` when it is a positive number; else unknown."""
    amount = value.get("value") if isinstance(value, dict) else None
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        return None
    return float(amount) if 0 < amount < 1e9 else None


def _supply_days(value: Any) -> int | None:
    """``expectedSupplyDuration`` (a Duration in d, wk or mo) in whole days; else unknown.

    Unknown rather than an error: the prescription is still worth its card line, it
    just cannot be predicted."""
    if not isinstance(value, dict):
        return None
    amount = value.get("value")
    unit = value.get("code") or value.get("unit") or "d"
    per = _DAYS_PER_UNIT.get(unit) if isinstance(unit, str) else None
    if per is None or isinstance(amount, bool) or not isinstance(amount, int | float):
        return None
    days = round(amount * per)
    return days if 1 <= days <= 3660 else None


def _last_fill(extensions: Any) -> str | None:
    """The day of the :data:`LAST_FILL_URL` extension, if it is there and a date."""
    for extension in extensions if isinstance(extensions, list) else []:
        if isinstance(extension, dict) and extension.get("url") == LAST_FILL_URL:
            value = extension.get("valueDate", extension.get("valueDateTime"))
            try:
                return _day(value, "last fill")
            except RecordError:
                return None
    return None


def _care_team(
    resource: Mapping[str, Any], resource_id: str, urls: Mapping[str, str]
) -> CareTeamRecord:
    subject = patient_key(resource.get("subject"), urls, "subject")
    members: list[tuple[str, str, str]] = []
    participants = resource.get("participant")
    for participant in participants if isinstance(participants, list) else []:
        if not isinstance(participant, dict):
            continue
        member = participant.get("member")
        if not isinstance(member, dict):
            continue
        reference = str(member.get("reference") or "")
        match = _TYPED_REF.search(reference)
        members.append(
            (
                _concept(participant.get("role")),
                _text(member.get("display")),
                match.group(1) if match else "",
            )
        )
    status = resource.get("status")
    return CareTeamRecord(
        resource_id=resource_id,
        subject=subject,
        status=status if isinstance(status, str) and status else "active",
        members=tuple(members),
    )


def _practitioner_role(resource: Mapping[str, Any], resource_id: str) -> PractitionerRoleRecord:
    practitioner = resource.get("practitioner")
    practitioner = practitioner if isinstance(practitioner, dict) else {}
    match = _TYPED_REF.search(str(practitioner.get("reference") or ""))
    phone = ""
    telecom = resource.get("telecom")
    for point in telecom if isinstance(telecom, list) else []:
        if isinstance(point, dict) and point.get("system") == "phone":
            phone = _text(point.get("value"))
            break
    return PractitionerRoleRecord(
        resource_id=resource_id,
        practitioner=_text(practitioner.get("display")),
        practitioner_ref=match.group(1) if match else "",
        role=_concept(resource.get("code")),
        specialty=_concept(resource.get("specialty")),
        phone=phone,
    )


def _required_code(resource: Mapping[str, Any], field: str) -> str:
    value = resource.get(field)
    if not isinstance(value, str) or not re.fullmatch(r"[a-z][a-z\-]{0,40}", value):
        raise RecordError(f"missing or bad {field}")
    return value


def _text(value: Any) -> str:
    """A display string, trimmed and cut; anything that is not text is ''."""
    if not isinstance(value, str):
        return ""
    text = " ".join(value.split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _concept(value: Any) -> str:
    """The text of a CodeableConcept (or the first of a list of them)."""
    if isinstance(value, list):
        value = next((item for item in value if isinstance(item, dict)), None)
    if not isinstance(value, dict):
        return ""
    if text := _text(value.get("text")):
        return text
    for coding in value.get("coding") or []:
        if isinstance(coding, dict) and (display := _text(coding.get("display"))):
            return display
    return ""


def _instant(value: Any, field: str) -> str:
    """A FHIR instant (with a time zone) as UTC ISO 8601 ending in Z."""
    if not isinstance(value, str):
        raise RecordError(f"bad {field} (expected a date-time with a time zone)")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"bad {field} (expected a date-time with a time zone)") from None
    if moment.tzinfo is None:
        raise RecordError(f"bad {field} (no time zone)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(value: Any, field: str) -> str:
    """A FHIR date or dateTime as an ISO date (the day is all the card needs)."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC)
            return moment.date().isoformat()
    raise RecordError(f"bad {field} (expected YYYY-MM-DD or a date-time)")
