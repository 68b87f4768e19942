# SPDX-License-Identifier: GPL-2.0-or-later
"""Refill requests and pending tests from the call: the verified caller's prescriptions.

Only with a refills backend (the EHR link, or the demo's own) and only after
the caller is verified. When the caller is verified, their prescriptions and
their pending tests and results are read from the backends (audited views of
medications and orders) and put on the card. ``l`` asks which prescription
(when there are several): an eligible one is sent to the prescriber as a
refill request, and the agent is told what to say to the patient (the
configured turnaround); an ineligible one says why and offers a message to the
care team instead. Every request and message is an audit row; a request
retried on the same call carries the same request id, so the backend never
writes it twice.

The demo's backends are the local store: a full disk, a lock or a failing read (which
raises the database's own error, not StoreError) is said like the EHR's failure, with
the disk's condition and never the data, and never closes the console; nothing was sent
(its transaction rolled back) and the same key tries again. The log names the kind only.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date

from rich.text import Text

from console.controllers.base import Context, Controller
from console.controllers.patients import PatientFlow
from console.core.calls import LiveCall
from console.core.ehr.errors import EhrError
from console.core.ehr.orders import Expectation, Orders, turnaround
from console.core.ehr.refills import NotEligibleError, Prescription, Refills
from console.core.patients.records import PatientSummary
from console.core.patients.verification import first_name
from console.core.store_faults import store_failure
from console.core.text import safe_text
from console.widgets.patient_card import PatientCard

NO_REFILLS = "Refill requests need the EHR link (ehr.base_url in the configuration)."
NOT_VERIFIED = "Verify the caller first (v): refill requests show their prescriptions."
NO_EHR_ID = "This patient has no EHR id (imported without one): request refills in the EHR."
READING = "The prescriptions are still being read from the EHR: try again in a moment."
NONE_CURRENT = "No current prescription on file to refill."


def _why(exc: Exception, doing: str) -> str:
    """What follows "not sent" in a toast: the EHR's words, or the local store's condition
    (never the database's message: it may hold patient data)."""
    return f": {exc}" if isinstance(exc, EhrError) else f" ({store_failure(exc, doing)})."


class RefillFlow(Controller):
    """The verified caller's prescriptions and pending tests, per call, and the refill key."""

    def __init__(self, context: Context, patients: PatientFlow) -> None:
        super().__init__(context)
        self.patients = patients
        self.prescriptions: dict[str, tuple[Prescription, ...]] = {}
        """The patient's current prescriptions per call, as the backend last said."""
        self.expectations: dict[str, tuple[Expectation, ...]] = {}
        """The patient's pending tests and results per call."""
        self.down: dict[str, str] = {}
        """Why a call's prescriptions could not be read (the EHR or the local store failed),
        per call, as the card and the key say it."""
        self.said: dict[str, str] = {}
        """What the agent was last told to tell the patient, per call (on the card)."""
        self.orders_down: dict[str, str] = {}
        """Why a call's pending tests could not be read ("the EHR: …", or the local
        store's condition), per call."""
        self._request_ids: dict[tuple[str, str], str] = {}
        """One request id per call and prescription, kept across retries: sent once."""

    @property
    def refills(self) -> Refills | None:
        """The refills backend (None: no EHR link and not the demo)."""
        return self.services.refills

    @property
    def orders(self) -> Orders | None:
        """The orders backend (None: no EHR link and not the demo)."""
        return self.services.orders

    def forget(self, call_id: str) -> None:
        """Drop an ended call's prescriptions and tests: no patient data outlives its call."""
        for per_call in (self.prescriptions, self.expectations, self.down, self.said):
            per_call.pop(call_id, None)
        self.orders_down.pop(call_id, None)
        for key in [k for k in self._request_ids if k[0] == call_id]:
            del self._request_ids[key]

    def usable(self) -> bool:
        """Whether ``l`` applies: a refills backend and a verified caller in focus. While the
        EHR is down (or still being read) the key stays, and says why it cannot act."""
        call = self.patients.focus_call()
        return self.refills is not None and call is not None and call.id in self.patients.verified

    def why_not(self) -> str | None:
        """Why ``l`` cannot request a refill now, in words (None: it can); the palette can
        ask even when the key is hidden."""
        if self.refills is None:
            return NO_REFILLS
        call = self.patients.focus_call()
        if call is None or call.id not in self.patients.verified:
            return NOT_VERIFIED
        if not self.patients.verified[call.id].fhir_id:
            return NO_EHR_ID
        if call.id in self.down:
            return self.down[call.id]
        if call.id not in self.prescriptions:
            return READING
        return None

    # --------------------------------------------------------------- reading
    def patient_verified(self, call_id: str) -> None:
        """Read the verified caller's prescriptions and pending tests, in a worker."""
        if call_id in self.patients.verified and (self.refills or self.orders):
            self.screen.run_worker(self._read(call_id), group="refills")

    async def _read(self, call_id: str) -> None:
        patient = self.patients.verified.get(call_id)
        if patient is None or not patient.fhir_id:
            return
        refills, orders = self.refills, self.orders
        if refills is not None:
            try:
                found = await refills.prescriptions(patient.fhir_id)
            except EhrError as exc:
                self.down[call_id] = f"Refill requests wait for the EHR: {exc}"
                await self.services.audit(patient.id, "view", "fail", ("medications",))
            except Exception as exc:  # the local store: a failing read raises sqlite3's own
                self.down[call_id] = f"Refill requests wait: {store_failure(exc, 'medications')}"
                await self.services.audit(patient.id, "view", "fail", ("medications",))
            else:
                self.prescriptions[call_id] = tuple(found)
                self.down.pop(call_id, None)
                await self.services.audit(patient.id, "view", "ok", ("medications",))
        if orders is not None:
            try:
                pending = await orders.pending(patient.fhir_id, now=self.services.clock())
            except EhrError as exc:
                self.orders_down[call_id] = f"the EHR: {exc}"
                await self.services.audit(patient.id, "view", "fail", ("orders",))
            except Exception as exc:  # the local store, as above
                self.orders_down[call_id] = str(store_failure(exc, "orders"))
                await self.services.audit(patient.id, "view", "fail", ("orders",))
            else:
                self.expectations[call_id] = tuple(pending)
                self.orders_down.pop(call_id, None)
                await self.services.audit(patient.id, "view", "ok", ("orders",))
        self.refresh()
        self.screen.refresh_bindings()

    def refresh(self) -> None:
        """Show the focused call's prescriptions and pending tests on the card."""
        card = self.screen.query_one(PatientCard)
        call = self.patients.focus_call()
        call_id = call.id if call is not None else ""
        card.prescriptions = self.prescriptions.get(call_id)
        down = self.down.get(call_id)
        card.refill_note = (
            f"{down}\nThese are the directory's prescriptions."
            if down
            else self.said.get(call_id, "")
        )
        ehr = self.services.config.ehr
        pending = self.expectations.get(call_id)
        card.expectations = (
            None
            if pending is None
            else tuple(
                (e.test, e.timeline(turnaround(e, ehr.result_turnarounds, ehr.result_turnaround)))
                for e in pending
            )
        )
        orders_down = self.orders_down.get(call_id, "")
        card.orders_note = f"Cannot show them now ({orders_down})" if orders_down else ""

    # --------------------------------------------------------------- requesting
    def open(self) -> None:
        """``l``: pick a prescription; request its refill, or message the care team."""
        reason = self.why_not()
        call = self.patients.focus_call()
        if reason is not None or call is None:
            self.screen.notify(reason or NOT_VERIFIED, severity="warning", markup=False)
            if call is not None and call.id in self.down:
                self.patient_verified(call.id)  # look again: the next press may work
            return
        patient = self.patients.verified[call.id]
        listed = self.prescriptions.get(call.id, ())
        if not listed:
            self.screen.notify(NONE_CURRENT, severity="warning", markup=False)
            return
        if len(listed) == 1:
            self._chosen(call, patient, listed[0])
            return
        today = self._today()
        choices: list[tuple[Prescription, str | Text]] = []
        for prescription in listed:
            said, eligible = prescription.eligibility(today)
            label = Text(f"{'✓' if eligible else '✗'} ", style="green" if eligible else "yellow")
            label.append(f"{safe_text(prescription.name, 30)} — {safe_text(said, 60)}")
            choices.append((prescription, label))

        def chosen(prescription: Prescription | None) -> None:
            if prescription is not None and self.queue.get(call.id) is not None:
                self._chosen(call, patient, prescription)

        from console.dialogs.choice import ChoicePicker

        name = safe_text(first_name(patient), 30)
        self.screen.app.push_screen(ChoicePicker(f"Refill for {name}: which?", choices), chosen)

    def _chosen(self, call: LiveCall, patient: PatientSummary, prescription: Prescription) -> None:
        said, eligible = prescription.eligibility(self._today())
        if eligible:
            self.screen.run_worker(self._request(call, patient, prescription), group="refills")
        else:
            self._offer_message(call, patient, prescription, said)

    async def _request(
        self, call: LiveCall, patient: PatientSummary, prescription: Prescription
    ) -> None:
        refills = self.refills
        if refills is None or not patient.fhir_id:
            return
        key = (call.id, prescription.prescription_id)
        request_id = self._request_ids.setdefault(key, uuid.uuid4().hex)
        name = safe_text(prescription.name, 40)
        try:
            sent = await refills.request_refill(
                patient.fhir_id, prescription, request_id=request_id, today=self._today()
            )
        except NotEligibleError as exc:
            await self.services.audit(patient.id, "refill", "fail", ("medications",))
            # The EHR's record moved on since the card was read: show it as it is now.
            self.patient_verified(call.id)
            self._offer_message(call, patient, prescription, str(exc))
            return
        except Exception as exc:  # the EHR's refusal, or the local store's (rolled back)
            await self.services.audit(patient.id, "refill", "fail", ("medications",))
            self.screen.notify(
                f"Refill of {name} not sent{_why(exc, 'refill')} "
                "Press l to try again (it is never sent twice).",
                severity="error",
                markup=False,
                timeout=15,
            )
            return
        await self.services.audit(patient.id, "refill", "ok", ("medications",))
        self._request_ids.pop(key, None)
        turnaround_text = self.services.config.ehr.refill_turnaround
        owner = safe_text(sent.owner, 40) or "the prescriber"
        told = (
            f"Refill of {name} requested from {owner}.\nTell the patient: the prescriber "
            f"usually answers within {turnaround_text}."
        )
        self.said[call.id] = told
        listed = self.prescriptions.get(call.id, ())
        self.prescriptions[call.id] = tuple(
            dataclasses.replace(p, requested_on=sent.authored_on.astimezone().date())
            if p.prescription_id == prescription.prescription_id
            else p
            for p in listed
        )
        self.refresh()
        self.screen.notify(told, title="Refill requested", markup=False, timeout=20)

    def _offer_message(
        self, call: LiveCall, patient: PatientSummary, prescription: Prescription, why: str
    ) -> None:
        name = safe_text(prescription.name, 40)
        draft = f"Patient asks for a refill of {name} ({safe_text(why, 120)}). Please review."

        def typed(text: str | None) -> None:
            if text is not None and self.queue.get(call.id) is not None:
                self.screen.run_worker(
                    self._message(call, patient, prescription, text), group="refills"
                )

        from console.dialogs.care_message import CareMessageDialog

        self.screen.app.push_screen(
            CareMessageDialog(
                f"No refill request for {name}", f"Why: {safe_text(why, 120)}", draft
            ),
            typed,
        )

    async def _message(
        self, call: LiveCall, patient: PatientSummary, prescription: Prescription, text: str
    ) -> None:
        refills = self.refills
        if refills is None or not patient.fhir_id:
            return
        key = (call.id, f"message:{prescription.prescription_id}:{text}")
        request_id = self._request_ids.setdefault(key, uuid.uuid4().hex)
        try:
            sent = await refills.message_care_team(
                patient.fhir_id, text, request_id=request_id, about=prescription
            )
        except Exception as exc:  # the EHR's refusal, or the local store's (rolled back)
            await self.services.audit(patient.id, "message", "fail", ("care_team",))
            self.screen.notify(
                f"Message not sent{_why(exc, 'message')}",
                severity="error",
                markup=False,
                timeout=15,
            )
            return
        await self.services.audit(patient.id, "message", "ok", ("care_team",))
        self._request_ids.pop(key, None)
        told = (
            f"Message sent to {safe_text(sent.recipient, 40)}.\n"
            "Tell the patient: the care team gets back to them."
        )
        self.said[call.id] = told
        self.refresh()
        self.screen.notify(told, title="Care team told", markup=False, timeout=15)

    def _today(self) -> date:
        """Today in the agent's time zone (refill dates are days)."""
        return self.services.clock().astimezone().date()
