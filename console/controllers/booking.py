# SPDX-License-Identifier: GPL-2.0-or-later
"""Booking from the call: book, move and cancel the verified caller's appointments.

Only with a scheduling backend (the EHR link, or the demo's own) and only
after the caller is verified. When the caller is verified the card's
appointments are read from the backend (an audited view of appointments);
``k`` offers what can be done: book a new one, or move or cancel one of
those listed. Booking happens in the slot picker; what it did is on the card
at once, is an audit row, and is kept per call (:class:`AppointmentChange`)
for the wrap-up, which it pre-fills, and for the guidance pane, which reads
out the preparation for the service booked. When the EHR is down or refuses,
the picker and the ``k`` choices offer to book later: a callback, in the
call's wrap-up, that lands in the callbacks list.

The demo's scheduling (and any set-up with local scheduling) is the local store: a
full disk, a lock or a failing read (which raises the database's own error, not
StoreError) is said like the EHR's refusal, with the disk's condition and never the
data, and never closes the console; the change was not made (its transaction rolled
back), the card still shows the appointments as they are, and the same key tries again.
The log names the error's kind only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from rich.text import Text

from console.controllers.base import Context, Controller
from console.controllers.guidance import GuidanceFlow
from console.controllers.patients import PatientFlow
from console.core.appointment_changes import AppointmentChange, ChangeKind, book_later_pending
from console.core.audit import Action
from console.core.calls import LiveCall
from console.core.ehr.errors import EhrConflictError, EhrError
from console.core.ehr.scheduling import (
    CANCEL_REASONS,
    Booking,
    Scheduling,
    SlotOffer,
    SlotQuery,
)
from console.core.patients.records import PatientSummary
from console.core.patients.verification import first_name
from console.core.records import dataclass
from console.core.store_faults import StoreError, fault_words, store_failure
from console.core.text import safe_text
from console.widgets.patient_card import PatientCard

if TYPE_CHECKING:
    from console.dialogs.choice import ChoicePicker
    from console.dialogs.slot_picker import SlotPicker

NO_SCHEDULING = "Booking needs the EHR link (ehr.base_url in the configuration)."
NOT_VERIFIED = "Verify the caller first (v): booking shows their appointments."
NO_EHR_ID = "This patient has no EHR id (imported without one): book in the EHR itself."
BOOK_LATER_NOTED = (
    "A callback to book when the system is back is in this call's wrap-up "
    "(it lands in the callbacks list, b)."
)
BOOK_LATER_ALREADY = "This call's wrap-up already has the callback to book when the system is back."


def can_book_later(error: Exception) -> bool:
    """The EHR is down or refused (or the local store failed), not "someone was first":
    a later booking may work."""
    return not isinstance(error, EhrConflictError)


@dataclass(frozen=True, slots=True)
class _Choice:
    action: str
    booking: Booking | None = None


class BookingFlow(Controller):
    """The verified caller's appointments, per call, and the key that changes them."""

    def __init__(self, context: Context, patients: PatientFlow, guidance: GuidanceFlow) -> None:
        super().__init__(context)
        self.patients = patients
        self.guidance = guidance
        """Shows the preparation for what was booked."""
        self.bookings: dict[str, tuple[Booking, ...]] = {}
        """The patient's booked appointments per call, as the backend last said."""
        self.notes: dict[str, str] = {}
        """Why a call's appointments are not the backend's (it failed), per call."""
        self.unreachable: set[str] = set()
        """Calls whose appointments the EHR could not give: ``k`` offers to book later."""
        self.changes: dict[str, list[AppointmentChange]] = {}
        """What the agent did to the appointments, per call, in order (for the wrap-up)."""

    @property
    def scheduling(self) -> Scheduling | None:
        """The backend (None: no EHR link and not the demo)."""
        return self.services.scheduling

    def forget(self, call_id: str) -> None:
        """Drop an ended call's appointments: no patient data outlives its call."""
        self.bookings.pop(call_id, None)
        self.notes.pop(call_id, None)
        self.unreachable.discard(call_id)
        self.changes.pop(call_id, None)

    def take(self, call_id: str) -> tuple[AppointmentChange, ...]:
        """What a finished call changed (for its wrap-up), and the rest of it forgotten."""
        changes = tuple(self.changes.get(call_id, ()))
        self.forget(call_id)
        return changes

    def usable(self) -> bool:
        """Whether the key applies: a backend and a verified caller in focus."""
        call = self.patients.focus_call()
        return (
            self.scheduling is not None and call is not None and call.id in self.patients.verified
        )

    def why_not(self) -> str | None:
        """Why ``k`` cannot book now, in words (None: it can); the palette can ask even
        when the key is hidden."""
        if self.scheduling is None:
            return NO_SCHEDULING
        call = self.patients.focus_call()
        if call is None or call.id not in self.patients.verified:
            return NOT_VERIFIED
        if not self.patients.verified[call.id].fhir_id:
            return NO_EHR_ID
        return None

    # --------------------------------------------------------------- reading
    def patient_verified(self, call_id: str) -> None:
        """Read the verified caller's appointments from the backend, in a worker."""
        if self.scheduling is not None and call_id in self.patients.verified:
            self.screen.run_worker(self._read(call_id), group="bookings")

    async def _read(self, call_id: str) -> None:
        scheduling, patient = self.scheduling, self.patients.verified.get(call_id)
        if scheduling is None or patient is None or not patient.fhir_id:
            return
        try:
            found = await scheduling.bookings(patient.fhir_id, since=self.services.clock())
        except EhrError as exc:
            self.notes[call_id] = f"From the directory (the EHR: {exc})"
            self.unreachable.add(call_id)
            await self.services.audit(patient.id, "view", "fail", ("appointments",))
        except Exception as exc:  # the local store: a failing read raises sqlite3's own error
            self.notes[call_id] = f"From the directory ({store_failure(exc, 'bookings')})"
            self.unreachable.add(call_id)
            await self.services.audit(patient.id, "view", "fail", ("appointments",))
        else:
            self.bookings[call_id] = tuple(found)
            self.notes.pop(call_id, None)
            self.unreachable.discard(call_id)
            await self.services.audit(patient.id, "view", "ok", ("appointments",))
        self.refresh()

    def refresh(self) -> None:
        """Show the focused call's bookings (or the directory's appointments) on the card."""
        card = self.screen.query_one(PatientCard)
        call = self.patients.focus_call()
        found = self.bookings.get(call.id) if call is not None else None
        card.bookings = found
        card.schedule_note = self.notes.get(call.id, "") if call is not None else ""

    # --------------------------------------------------------------- changing
    def open(self) -> None:
        """``k``: book a new appointment, or move or cancel a listed one."""
        reason = self.why_not()
        call = self.patients.focus_call()
        if reason is not None or call is None:
            self.screen.notify(reason or NOT_VERIFIED, severity="warning", markup=False)
            return
        patient = self.patients.verified[call.id]
        listed = self.bookings.get(call.id, ())
        choices: list[tuple[_Choice, str | Text]] = [(_Choice("book"), "Book a new appointment")]
        for booking in listed:
            said = when(booking)
            choices.append((_Choice("reschedule", booking), f"Move {said}"))
            choices.append((_Choice("cancel", booking), f"Cancel {said}"))
        if call.id in self.unreachable:
            choices.append((_Choice("later"), "Call back to book when the system is back"))

        def chosen(choice: _Choice | None) -> None:
            if choice is None or self.queue.get(call.id) is None:
                return
            if choice.action == "later":
                self.book_later(call.id)
            elif choice.action == "cancel" and choice.booking is not None:
                self._ask_reason(call, patient, choice.booking)
            else:
                self._pick_slot(call, patient, choice.booking)

        from console.dialogs.choice import ChoicePicker

        name = safe_text(first_name(patient), 30)
        self.screen.app.push_screen(ChoicePicker(f"Appointments for {name}", choices), chosen)

    def _pick_slot(self, call: LiveCall, patient: PatientSummary, moving: Booking | None) -> None:
        context = self.patients.contexts.get(call.id)
        own = {member.name for member in context.care_team} if context is not None else set()

        def taken(booking: Booking) -> None:
            self._shown(call.id, booking, replaced=moving)
            self._changed(call.id, "booked" if moving is None else "moved", booking, moving)

        def booked(booking: Booking | str | None) -> None:
            from console.dialogs.slot_picker import BOOK_LATER  # the picker is loaded

            if booking == BOOK_LATER:
                self.book_later(call.id)
            elif isinstance(booking, Booking):
                verb = "Booked" if moving is None else "Moved to"
                self.screen.notify(f"{verb} {describe(booking)}.", markup=False)

        picker = self.slot_picker(patient, moving, own, taken)
        if picker is not None:
            self.screen.app.push_screen(picker, booked)

    def slot_picker(
        self,
        patient: PatientSummary,
        moving: Booking | None,
        own: set[str],
        taken: Callable[[Booking], None],
    ) -> SlotPicker | None:
        """The picker that books a slot for ``patient`` (or moves ``moving`` to it), the
        ``own`` clinicians' slots first; each attempt is audited and ``taken`` is told of
        the booking made. None without a backend or an EHR id."""
        scheduling = self.scheduling
        if scheduling is None or not patient.fhir_id:
            return None
        patient_ref = patient.fhir_id
        request_id = uuid.uuid4().hex
        """One id for this booking, kept across retries of it: the backend books it once."""

        async def find(first: date, days: int) -> list[SlotOffer]:
            start = _local_midnight(first)
            now = self.services.clock()
            query = SlotQuery(max(start, now), start + timedelta(days=days))
            return own_first(await scheduling.free_slots(query), own)

        async def take(offer: SlotOffer) -> Booking:
            action: Action = "book" if moving is None else "reschedule"
            try:
                if moving is None:
                    booking = await scheduling.book(patient_ref, offer, request_id=request_id)
                else:
                    booking = await scheduling.reschedule(moving, offer, request_id=request_id)
            except Exception:
                # The EHR's refusal, or the local store's (the picker says which, and
                # logs its kind): either way nothing was booked and it is audited.
                await self.services.audit(patient.id, action, "fail", ("appointments",))
                raise
            await self.services.audit(patient.id, action, "ok", ("appointments",))
            taken(booking)
            return booking

        from console.dialogs.slot_picker import SlotPicker

        name = safe_text(first_name(patient), 30)
        title = f"Book for {name}" if moving is None else f"Move {when(moving)} for {name}"
        today = self.services.clock().astimezone().date()
        return SlotPicker(
            title, today, find, take, can_defer=can_book_later, moves=moving is not None
        )

    async def cancel_booking(
        self, patient: PatientSummary, booking: Booking, reason: str
    ) -> Booking:
        """Cancel ``booking`` of ``patient`` with ``reason`` (a :data:`CANCEL_REASONS` code),
        audited either way; EhrError when the backend refuses or cannot be reached,
        StoreError when the local store fails, whatever the database raised (its words
        are the disk's condition: :func:`store_failure`). Either way it is not cancelled."""
        scheduling = self.scheduling
        if scheduling is None:
            raise EhrError(NO_SCHEDULING)
        try:
            cancelled = await scheduling.cancel(booking, reason)
        except EhrError:
            await self.services.audit(patient.id, "cancel", "fail", ("appointments",))
            raise
        except Exception as exc:  # the local store: one transaction, rolled back
            await self.services.audit(patient.id, "cancel", "fail", ("appointments",))
            raise store_failure(exc, "cancel") from None
        await self.services.audit(patient.id, "cancel", "ok", ("appointments",))
        return cancelled

    def _ask_reason(self, call: LiveCall, patient: PatientSummary, booking: Booking) -> None:
        async def cancel(reason: str | None) -> None:
            if reason is None or self.queue.get(call.id) is None:
                return
            try:
                cancelled = await self.cancel_booking(patient, booking, reason)
            except EhrError as exc:
                self.screen.notify(f"Not cancelled: {exc}", severity="error", markup=False)
                return
            except StoreError as exc:
                self.screen.notify(
                    f"Not cancelled ({fault_words(exc)}): the appointment is still booked. "
                    "k tries again.",
                    severity="error",
                    markup=False,
                    timeout=15,
                )
                return
            self._shown(call.id, cancelled, replaced=booking)
            self._changed(call.id, "cancelled", booking, None)
            self.screen.notify(f"Cancelled {describe(booking)}.", markup=False)

        self.screen.app.push_screen(cancel_reasons(booking), cancel)

    def _shown(self, call_id: str, booking: Booking, *, replaced: Booking | None) -> None:
        """The card lists the patient's appointments as they are after ``booking``."""
        listed = [b for b in self.bookings.get(call_id, ()) if b is not replaced]
        if booking.status == "booked":
            listed.append(booking)
        self.bookings[call_id] = tuple(sorted(listed, key=lambda b: b.start))
        self.refresh()

    def _changed(
        self, call_id: str, change: ChangeKind, booking: Booking, replaced: Booking | None
    ) -> None:
        """Keep the change for the wrap-up; after a booking, show its preparation."""
        self.changes.setdefault(call_id, []).append(self.change_made(change, booking, replaced))
        self.guidance.appointment_changed(call_id, tuple(self.changes[call_id]))

    def change_made(
        self, change: ChangeKind, booking: Booking, replaced: Booking | None
    ) -> AppointmentChange:
        """``change`` (to ``booking``, in place of ``replaced``) as the interaction records it."""
        return AppointmentChange(
            change,
            self.services.clock(),
            booking.appointment_id,
            booking.start,
            booking.service,
            booking.clinician,
            booking.location,
            replaced.appointment_id if replaced is not None else "",
        )

    def book_later(self, call_id: str) -> None:
        """The EHR cannot book now: the call's wrap-up gets a callback to book when it is
        back (nothing is sent to the EHR, so nothing can be booked twice)."""
        if self.queue.get(call_id) is None:
            return
        changes = self.changes.setdefault(call_id, [])
        if book_later_pending(changes):
            self.screen.notify(BOOK_LATER_ALREADY, markup=False)
            return
        changes.append(AppointmentChange("book_later", self.services.clock()))
        self.screen.notify(BOOK_LATER_NOTED, markup=False, timeout=8)


def own_first(offers: list[SlotOffer], own: set[str]) -> list[SlotOffer]:
    """``offers`` with the patient's own clinicians' slots first, each part by time."""
    return sorted(offers, key=lambda offer: (offer.clinician not in own, offer.start))


def cancel_reasons(booking: Booking) -> ChoicePicker[str]:
    """The picker of why ``booking`` is cancelled (:data:`CANCEL_REASONS`)."""
    from console.dialogs.choice import ChoicePicker

    reasons = list(CANCEL_REASONS.items())
    return ChoicePicker[str](f"Why is {when(booking)} cancelled?", reasons)


def describe(booking: Booking) -> str:
    """A booking as a toast names it: its service (when the backend gives one), then when."""
    service = safe_text(booking.service or booking.description, 40)
    return f"{service}, {when(booking)}" if service else when(booking)


def when(booking: Booking) -> str:
    """A booking as the agent reads it: day, time and with whom."""
    start = booking.start.astimezone().strftime("%a %d %b %H:%M")
    who = safe_text(booking.clinician, 30)
    return f"{start} with {who}" if who else start


def _local_midnight(day: date) -> datetime:
    """The start of ``day`` in the agent's time zone, as an aware datetime."""
    return datetime.combine(day, time()).astimezone()
