# SPDX-License-Identifier: GPL-2.0-or-later
"""What a worklist offer shows besides its claim: the list's rule (its title, script and
voicemail text), the patient's first name and the appointment the item is about.

Read once an item is claimed, before it is previewed; a patient or an appointment that
cannot be found still gives an offer ("the patient", "the upcoming appointment").
"""

from __future__ import annotations

import asyncio

from console.controllers.worklist_attempt import Attempt
from console.core.patients.directory import SUMMARY_COLUMNS, summary_from_row
from console.core.patients.records import PatientSummary
from console.core.patients.verification import first_name
from console.core.scripts.loader import load_library
from console.core.scripts.worklist_rules import WorklistRule
from console.core.worklists.claims import UNREACHABLE, WorklistClaimer
from console.core.worklists.item_appointment import (
    ClaimAppointments,
    ItemAppointment,
    local_appointment,
)
from console.core.worklists.store import Claim
from console.services import Services


class OfferReader:
    """Builds the :class:`Attempt` a claimed item is previewed and worked as."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._rules: dict[str, WorklistRule] | None = None

    async def attempt(self, claims: WorklistClaimer, claim: Claim) -> Attempt:
        """The claimed item, with its rule, patient and appointment, ready to preview."""
        from console.dialogs.worklist import Preview

        rule = (await self.rules()).get(claim.list_id)
        patient = await self.patient(claim.patient_id)
        appointment = await self.appointment(claims, claim)
        preview = Preview(
            rule.title if rule else claim.list_id,
            first_name(patient) if patient is not None else "the patient",
            claim.reason,
            claim.numbers[0] if claim.numbers else "",
            claim.attempt,
            claim.max_attempts,
        )
        return Attempt(claim, preview, rule, patient, appointment)

    async def rules(self) -> dict[str, WorklistRule]:
        """The worklist rules by id: the shipped ones, then the configured library's."""
        if self._rules is None:
            libraries = [await asyncio.to_thread(load_library)]
            custom = self.services.config.guidance.scripts
            if custom is not None:
                libraries.append(await asyncio.to_thread(load_library, custom.expanduser()))
            self._rules = {rule.id: rule for lib in libraries for rule in lib.worklists}
        return self._rules

    async def patient(self, patient_id: str) -> PatientSummary | None:
        """The claimed patient's summary, or None if the directory no longer has them."""
        rows = await self.services.store.fetch_all(
            f"SELECT {SUMMARY_COLUMNS} FROM patients p WHERE p.id = ?", (patient_id,)
        )
        return summary_from_row(rows[0]) if rows else None

    async def appointment(self, claims: WorklistClaimer, claim: Claim) -> ItemAppointment | None:
        """The appointment the item is about: from the hub for the hub's items."""
        try:
            if isinstance(claims, ClaimAppointments):
                return await claims.appointment(claim)
            return await local_appointment(self.services.store, claim)
        except UNREACHABLE:
            return None  # the call still works; the script says "the upcoming appointment"
