# SPDX-License-Identifier: GPL-2.0-or-later
"""A FHIR R4 Patient resource as a patient record.

FHIR Patient mapping: the MRN is the identifier whose type has the v2-0203
code ``MR``, else the first identifier; the official name (else the first);
``birthDate``; ``telecom`` phones and SMS numbers (``use: old`` is skipped:
an old number may belong to someone else now); the preferred
``communication`` language; the ``patient-interpreterRequired`` extension;
flags as ``meta.tag`` codes in the :data:`FLAG_SYSTEM` code system; the
resource ``id``, which Appointment, MedicationRequest and CareTeam resources
name as ``Patient/<id>`` (those are read by :mod:`fhir_clinical`, in any order
and from any file: a Bundle, NDJSON, or FHIR bulk export's per-type files).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from console.core.patients.fhir_clinical import CLINICAL_TYPES, clinical_from_fhir
from console.core.patients.phones import normalise
from console.core.patients.record_checks import (
    check_date,
    check_language,
    check_mrn,
    check_names,
    short,
)
from console.core.patients.records import FLAGS, ImportItem, PatientRecord, RecordError

FLAG_SYSTEM = "https://careline.invalid/fhir/CodeSystem/patient-flag"
"""``meta.tag`` system of careline's patient flags (codes as in :data:`FLAGS`)."""
INTERPRETER_EXTENSION = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
"""The standard FHIR extension for "needs an interpreter" (``valueBoolean``)."""

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def record_from_fhir(
    resource: Mapping[str, Any],
    region: str,
    *,
    today: date | None = None,
    full_url: str | None = None,
    urls: Mapping[str, str] | None = None,
) -> ImportItem:
    """Any resource careline imports as a record; raises :class:`RecordError`."""
    if resource.get("resourceType") in CLINICAL_TYPES:
        return clinical_from_fhir(resource, full_url, urls)
    return patient_from_fhir(resource, region, today=today)


def patient_from_fhir(
    resource: Mapping[str, Any], region: str, *, today: date | None = None
) -> PatientRecord:
    """A FHIR R4 Patient resource as a record; raises :class:`RecordError` if it is bad."""
    today = today or datetime.now(UTC).date()
    kind = resource.get("resourceType")
    if kind != "Patient":
        if not isinstance(kind, str) or not kind:
            raise RecordError("no resourceType")
        raise RecordError(
            f"unsupported resourceType {short(kind)!r} "
            f"(imported: Patient, {', '.join(CLINICAL_TYPES)})"
        )
    mrn = check_mrn(fhir_mrn(resource.get("identifier")))
    family, given = check_names(*_fhir_name(resource.get("name")))
    birth = resource.get("birthDate")
    if birth is not None:
        birth = check_date(birth, today, full=False)
    return PatientRecord(
        mrn=mrn,
        family_name=family,
        given_names=given,
        birth_date=birth,
        preferred_language=check_language(_fhir_language(resource.get("communication"))),
        interpreter_needed=_fhir_interpreter(resource.get("extension")),
        flags=_fhir_flags(resource.get("meta")),
        phones=_fhir_phones(resource.get("telecom"), region),
        source="fhir",
        fhir_id=fhir_id(resource),
    )


def fhir_id(resource: Mapping[str, Any]) -> str | None:
    """The resource's ``id``, checked; None when it has none."""
    value = resource.get("id")
    if not isinstance(value, str) or not value.strip():
        return None
    if not _FHIR_ID.match(value.strip()):
        raise RecordError("bad resource id (expected 1 to 64 letters, digits, '-' or '.')")
    return value.strip()


def fhir_mrn(identifiers: Any) -> str:
    """The MRN among a Patient's identifiers: the ``MR``-typed one, else the first."""
    if not isinstance(identifiers, list) or not identifiers:
        raise RecordError("missing MRN (no identifier)")
    chosen = identifiers[0]
    for identifier in identifiers:
        if not isinstance(identifier, dict):
            continue
        coding = (identifier.get("type") or {}).get("coding") or []
        if any(isinstance(c, dict) and c.get("code") == "MR" for c in coding):
            chosen = identifier
            break
    value = chosen.get("value") if isinstance(chosen, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise RecordError("missing MRN (the identifier has no value)")
    return value.strip()


def _fhir_name(names: Any) -> tuple[str, str]:
    if not isinstance(names, list) or not names:
        return "", ""
    usable = [n for n in names if isinstance(n, dict)]
    if not usable:
        raise RecordError("name is not a list of HumanName objects")
    chosen = next((n for n in usable if n.get("use") == "official"), usable[0])
    family = chosen.get("family", "")
    given = chosen.get("given", [])
    if not isinstance(family, str) or not isinstance(given, list):
        raise RecordError("name has a family that is not text or a given that is not a list")
    return family.strip(), " ".join(str(g).strip() for g in given if str(g).strip())


def _fhir_language(communication: Any) -> str | None:
    if not isinstance(communication, list):
        return None
    items = [c for c in communication if isinstance(c, dict)]
    chosen = next((c for c in items if c.get("preferred") is True), items[0] if items else None)
    if chosen is None:
        return None
    language = chosen.get("language") or {}
    for coding in language.get("coding") or []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return str(coding["code"]).strip() or None
    text = language.get("text")
    return text.strip() if isinstance(text, str) and text.strip() else None


def _fhir_interpreter(extensions: Any) -> bool:
    for extension in extensions if isinstance(extensions, list) else []:
        if isinstance(extension, dict) and extension.get("url") == INTERPRETER_EXTENSION:
            return extension.get("valueBoolean") is True
    return False


def _fhir_flags(meta: Any) -> frozenset[str]:
    tags = meta.get("tag") if isinstance(meta, dict) else None
    return frozenset(
        tag["code"]
        for tag in (tags if isinstance(tags, list) else [])
        if isinstance(tag, dict) and tag.get("system") == FLAG_SYSTEM and tag.get("code") in FLAGS
    )


def _fhir_phones(telecom: Any, region: str) -> tuple[tuple[str, str], ...]:
    phones: dict[str, str] = {}
    for index, point in enumerate(telecom if isinstance(telecom, list) else []):
        if not isinstance(point, dict) or point.get("system") not in ("phone", "sms"):
            continue
        use = point.get("use") or ("mobile" if point.get("system") == "sms" else "home")
        if use == "old":
            continue
        value = point.get("value")
        e164 = normalise(value, region) if isinstance(value, str) else None
        if e164 is None:
            raise RecordError(f"unparseable phone number (telecom {index})")
        phones.setdefault(e164, str(use))
    return tuple(phones.items())
