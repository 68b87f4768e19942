# SPDX-License-Identifier: GPL-2.0-or-later
"""Refill requests and messages to the care team: the contract every refills backend keeps.

:class:`Refills` is what the console asks for, in these plain values; the EHR's
form is :mod:`console.core.ehr.fhir_refills` (a FHIR ``Task`` to the prescriber,
a ``Communication`` to the care team) and the demo's own is
:mod:`console.core.ehr.local_refills`. The promises: a refill is requested only
for a prescription that is eligible *as the backend has it now* (read again just
before writing, as a slot is before booking), never twice for one request id (a
retry after a lost answer returns the first request), and never while another
request for the same prescription is still open. Nothing here imports an HTTP
client.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from console.core.ehr.errors import EhrRefusedError
from console.core.patients.context import CURRENT_MEDICATION_STATUSES, Medication
from console.core.records import dataclass

MESSAGE_LIMIT = 500
"""Characters of agent-typed text a message to the care team may carry."""


class NotEligibleError(EhrRefusedError):
    """The prescription cannot be refilled as it is now; ``str()`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"No refill request sent: {reason}.", 409)


@dataclass(frozen=True, slots=True, repr=False)
class Prescription:
    """A current prescription as the refills backend has it (hidden from ``repr``: PHI)."""

    prescription_id: str
    """The MedicationRequest's id (the focus of a refill request)."""
    name: str
    status: str
    dosage: str
    refills_allowed: int | None
    valid_until: date | None
    prescriber: str
    """The prescriber's name, for the agent ("" when the EHR names none)."""
    prescriber_ref: str = ""
    """The prescriber as the backend references them (the refill request's owner)."""
    valid_from: date | None = None
    """Not refillable before this day (``dispenseRequest.validityPeriod.start``)."""
    requested_on: date | None = None
    """When a refill request for it was sent that the prescriber has not answered yet."""

    def eligibility(self, today: date) -> tuple[str, bool]:
        """(What the agent can tell the patient about a refill, whether one may be requested)."""
        if self.requested_on is not None:
            return f"refill already requested {self.requested_on:%d %b}: with the prescriber", False
        if self.status not in CURRENT_MEDICATION_STATUSES:
            return f"{self.status}: not a current prescription", False
        if self.valid_from is not None and self.valid_from > today:
            return f"too early: refillable from {self.valid_from:%d %b %Y}", False
        until = self.valid_until.isoformat() if self.valid_until else None
        card = Medication(
            self.name, self.status, self.dosage, self.refills_allowed, until, self.prescriber
        )
        return card.refill(today)


@dataclass(frozen=True, slots=True, repr=False)
class RefillRequest:
    """A refill request sent to the prescriber."""

    request_id: str
    """The backend's id of the request (a FHIR Task id)."""
    prescription_id: str
    status: str
    authored_on: datetime
    owner: str
    """Who it went to (the prescriber's name, or their reference when unnamed)."""


@dataclass(frozen=True, slots=True, repr=False)
class CareTeamMessage:
    """A message the agent sent to the patient's care team."""

    message_id: str
    sent: datetime
    recipient: str
    """Who it went to (the care team or the prescriber), as the agent reads it."""


class Refills(Protocol):
    """What the console needs from a refills backend (the EHR, or the demo's own)."""

    async def prescriptions(self, patient_id: str) -> list[Prescription]:
        """The patient's current prescriptions, each with an open refill request's date."""
        ...

    async def request_refill(
        self, patient_id: str, prescription: Prescription, *, request_id: str, today: date
    ) -> RefillRequest:
        """Ask the prescriber to refill ``prescription`` (read again first);
        :class:`NotEligibleError` when it cannot be refilled now."""
        ...

    async def message_care_team(
        self,
        patient_id: str,
        text: str,
        *,
        request_id: str,
        about: Prescription | None = None,
    ) -> CareTeamMessage:
        """Send ``text`` (at most :data:`MESSAGE_LIMIT` characters) to the patient's care
        team (their prescriber when no team is on file); once per ``request_id``."""
        ...


def message_text(text: str) -> str:
    """``text`` stripped and checked: :class:`EhrRefusedError` when empty or too long."""
    text = text.strip()
    if not text:
        raise EhrRefusedError("The message to the care team is empty.")
    if len(text) > MESSAGE_LIMIT:
        raise EhrRefusedError(f"The message is longer than {MESSAGE_LIMIT} characters.")
    return text
