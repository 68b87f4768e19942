# SPDX-License-Identifier: GPL-2.0-or-later
"""The EHR link's settings: where the clinic's FHIR R4 server is and how careline signs in.

careline authorises as a SMART Backend Services client: it signs a short
client assertion (RS384 or ES384) with a private key that never leaves this
machine, and trades it at the server's token endpoint for an access token.
The key lives in a 0600 file; this file only says where.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from console.core.config.base import Section
from console.core.schema import Field, field_validator, model_validator

DEFAULT_SCOPES = (
    "system/Patient.rs system/Appointment.cruds system/Slot.rus system/Schedule.rs "
    "system/Practitioner.rs system/PractitionerRole.rs system/Location.rs "
    "system/HealthcareService.rs system/MedicationRequest.rs system/CareTeam.rs "
    "system/Task.cr system/Communication.c system/ServiceRequest.rs system/DiagnosticReport.rs"
)
"""SMART v2 scopes for what careline reads and writes (the server may grant fewer)."""


class EhrConfig(Section):
    """The clinic's FHIR R4 server (scheduling, refills, the patient directory)."""

    base_url: Annotated[str, Field(max_length=500)] = ""
    """FHIR base, e.g. ``https://ehr.example.org/fhir``; empty: no EHR link."""
    client_id: Annotated[str, Field(max_length=200)] = ""
    """careline's client id, registered with the EHR for SMART Backend Services."""
    private_key_file: Path | None = None
    """The PEM private key that signs the client assertion (mode 0600, yours)."""
    algorithm: Literal["RS384", "ES384"] = "RS384"
    """Signature of the client assertion: RS384 (RSA key) or ES384 (P-384 key)."""
    key_id: Annotated[str, Field(max_length=200)] = ""
    """The ``kid`` the EHR knows the public key by (its JWKS); empty: none sent."""
    scopes: Annotated[str, Field(max_length=2000)] = DEFAULT_SCOPES
    """Scopes asked for with each token."""
    timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    """Seconds an EHR request may take before the agent is told it is slow."""
    connect_timeout: Annotated[float, Field(gt=0, le=60)] = 3.0
    """Seconds to reach the EHR before it counts as unreachable."""
    verify_tls: bool = True
    """Check the EHR's certificate (never turn off outside a lab)."""
    ca_file: Path | None = None
    """CA bundle for the EHR's certificate; None: the system's CAs."""
    refill_turnaround: Annotated[str, Field(min_length=1, max_length=80)] = "2 working days"
    """What the agent tells a patient after a refill request: the prescriber answers within…"""
    result_turnaround: Annotated[str, Field(min_length=1, max_length=80)] = "5 working days"
    """How long results usually take, for a test not in ``result_turnarounds``."""
    result_turnarounds: dict[
        Annotated[str, Field(min_length=1, max_length=100)],
        Annotated[str, Field(min_length=1, max_length=80)],
    ] = {}
    """Per test, by its code (e.g. LOINC ``24331-1``) or its name (``Lipid panel``, any
    case): how long results usually take (``3 working days``)."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an http(s) URL, e.g. https://ehr.example.org/fhir")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("must be a plain base URL: no credentials, query or fragment")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.base_url and not (self.client_id and self.private_key_file):
            raise ValueError("an EHR link needs client_id and private_key_file")
        return self

    @property
    def enabled(self) -> bool:
        """Whether an EHR is configured."""
        return bool(self.base_url)
