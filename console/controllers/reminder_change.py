# SPDX-License-Identifier: GPL-2.0-or-later
"""Rescheduled and cancelled after a reminder call: the appointment it is about, changed.

When the agent picks ``rescheduled`` or ``cancelled`` for a worklist call about an
appointment, that appointment is changed in the scheduling backend (the EHR link, or
the demo's own) with the booking controller's picker, reasons and audit: rescheduled
moves it (the slot picker, the same clinician's slots first), cancelled cancels it
with a reason (its slot frees). Only for a patient verified on the call. Without a
backend the outcome is recorded and the agent told to change the appointment
elsewhere. The appointment is the backend's booking with its id; only when none has it
(the demo's own scheduling numbers its bookings apart from the directory's copy), the
one booking at its start: with more than one there, none is changed. Nothing here
loses the outcome: a failed change (the backend refused, or the local store: a full
disk) is said and the outcome saved all the same (so is one whose appointment cannot
be told apart); only backing out of a picker (Esc) asks for the outcome again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from console.controllers.base import Context, Controller
from console.controllers.booking import BookingFlow, cancel_reasons, describe
from console.core.appointment_changes import AppointmentChange
from console.core.ehr.errors import EhrError
from console.core.ehr.scheduling import Booking, Scheduling
from console.core.patients.records import PatientSummary
from console.core.records import dataclass
from console.core.store_faults import StoreError, fault_words
from console.core.worklists.item_appointment import ItemAppointment
from console.core.worklists.store import Outcome

log = logging.getLogger(__name__)

CHANGES = frozenset({Outcome.RESCHEDULED, Outcome.CANCELLED})
"""The outcomes that change the appointment a reminder is about."""
ELSEWHERE = (
    "No EHR link here: the outcome is recorded; change the appointment in the EHR "
    "(or the clinic's booking system)."
)
NOT_VERIFIED = (
    "The person who answered was not verified on the call, so the appointment cannot be "
    "changed here. Pick another outcome, or press b (a callback to verify and change it) "
    "and pick it again."
)
NOT_VERIFIED_CALLBACK = (
    "Not verified: the appointment was not changed. The callback to verify and change it "
    "is in the callbacks list (b)."
)
NO_APPOINTMENT = (
    "This item names no appointment: the outcome is recorded; change the appointment in the EHR."
)
NO_EHR_ID = (
    "This patient has no EHR id: the outcome is recorded; change the appointment in the EHR."
)
NOT_BOOKED = (
    "The reminded appointment is no longer booked in the EHR (changed already?): the "
    "outcome is recorded; check it there."
)
NOT_TOLD_APART = (
    "The reminded appointment cannot be identified (the patient has more than one booking "
    "at that time): nothing was changed; the outcome is recorded; change it in the EHR."
)
CHANGE_LATER = "Change the reminded appointment when the system is back"
"""The reason of the callback left when the backend cannot move the appointment now."""
_LOOK_BACK = timedelta(hours=12)
"""How far back the patient's bookings are read: a reminder is about a coming appointment,
but the call may end a little after it started (a same-day list)."""


@dataclass(frozen=True, slots=True, repr=False)
class Settled:
    """What became of the appointment for a picked outcome."""

    changes: tuple[AppointmentChange, ...] = ()
    """What was changed in the backend (recorded with the call)."""
    note: str = ""
    """What the agent is told after the outcome is saved ("" when all went as asked)."""
    callbacks: tuple[str, ...] = ()
    """Reasons of callbacks to leave (the change must be made later)."""

    def __repr__(self) -> str:
        # The note names the service and the day: never in a log line or a traceback.
        return f"Settled(changes={len(self.changes)}, callbacks={len(self.callbacks)})"


def already_changed(appointment: ItemAppointment | None, made: Sequence[AppointmentChange]) -> bool:
    """Whether ``made`` (on the call, or by an earlier pick) already moved or cancelled the
    appointment (with none named: any change at all)."""
    if appointment is None:
        return any(change.change in ("moved", "cancelled") for change in made)
    ehr_id = appointment.ehr_id
    return any(
        change.replaces == ehr_id
        or (change.change == "cancelled" and change.appointment_id == ehr_id)
        for change in made
    )


def matching_bookings(found: Sequence[Booking], appointment: ItemAppointment) -> list[Booking]:
    """The backend's bookings that may be ``appointment``: the one with its id; only when
    the backend knows no booking by that id (the demo's own scheduling numbers its
    bookings apart from the directory's copy), those at its start. More than one means
    it cannot be told which: the caller changes none."""
    by_id = [booking for booking in found if booking.appointment_id == appointment.ehr_id]
    if by_id:
        return by_id[:1]
    return [booking for booking in found if booking.start == appointment.start]


class ReminderChange(Controller):
    """Changes the appointment a reminder call is about, for the outcome picked."""

    def __init__(self, context: Context, booking: BookingFlow) -> None:
        super().__init__(context)
        self.booking = booking
        """The picker, the cancellation and their audit rows."""

    def settle(
        self,
        outcome: Outcome,
        patient: PatientSummary | None,
        appointment: ItemAppointment | None,
        made: Sequence[AppointmentChange],
        *,
        callback: bool,
        done: Callable[[Settled], None],
        again: Callable[[str], None],
    ) -> None:
        """Make the change ``outcome`` asks for, then ``done``; ``again`` (with why) asks for
        the outcome anew (not verified, or a picker backed out of)."""
        scheduling = self.booking.scheduling
        if outcome not in CHANGES or already_changed(appointment, made):
            done(Settled())
        elif scheduling is None:
            done(Settled(note=ELSEWHERE))
        elif patient is None:
            if callback:
                done(Settled(note=NOT_VERIFIED_CALLBACK))
            else:
                again(NOT_VERIFIED)
        elif appointment is None:
            done(Settled(note=NO_APPOINTMENT))
        elif not patient.fhir_id:
            done(Settled(note=NO_EHR_ID))
        else:
            work = self._change(scheduling, outcome, patient, appointment, done, again)
            self.screen.run_worker(work, group="worklist")

    async def _change(
        self,
        scheduling: Scheduling,
        outcome: Outcome,
        patient: PatientSummary,
        appointment: ItemAppointment,
        done: Callable[[Settled], None],
        again: Callable[[str], None],
    ) -> None:
        try:
            found = await scheduling.bookings(
                patient.fhir_id or "", since=self.services.clock() - _LOOK_BACK
            )
        except EhrError as exc:
            await self.services.audit(patient.id, "view", "fail", ("appointments",))
            done(Settled(note=f"The appointment was not changed: the EHR: {exc}"))
            return
        except Exception as exc:  # the outcome is saved whatever failed
            # The demo's scheduling reads the local store, and a failing read raises the
            # database's own error (not StoreError): fault_words says the disk's condition.
            # The kind only in the log: the message may carry patient data.
            log.warning("the reminded appointment could not be read: %s", type(exc).__name__)
            done(Settled(note=f"The appointment was not changed ({fault_words(exc)})."))
            return
        await self.services.audit(patient.id, "view", "ok", ("appointments",))
        matches = matching_bookings(found, appointment)
        if not matches:
            done(Settled(note=NOT_BOOKED))
        elif len(matches) > 1:
            done(Settled(note=NOT_TOLD_APART))
        elif outcome is Outcome.RESCHEDULED:
            self._move(patient, matches[0], appointment, done, again)
        else:
            self._cancel(patient, matches[0], done, again)

    def _move(
        self,
        patient: PatientSummary,
        booking: Booking,
        appointment: ItemAppointment,
        done: Callable[[Settled], None],
        again: Callable[[str], None],
    ) -> None:
        own = {appointment.clinician} if appointment.clinician else set()
        made: list[AppointmentChange] = []

        def taken(moved: Booking) -> None:
            made.append(self.booking.change_made("moved", moved, booking))

        def closed(result: Booking | str | None) -> None:
            from console.dialogs.slot_picker import BOOK_LATER  # the picker is loaded

            if isinstance(result, Booking):
                done(Settled(tuple(made), f"Moved to {describe(result)}."))
            elif result == BOOK_LATER:
                done(
                    Settled(
                        note="The appointment was not moved (the EHR cannot now): a callback "
                        "to move it is in the callbacks list.",
                        callbacks=(CHANGE_LATER,),
                    )
                )
            else:
                again("Not moved: pick the outcome again.")

        picker = self.booking.slot_picker(patient, booking, own, taken)
        if picker is None:
            done(Settled(note=NO_EHR_ID))
        else:
            self.screen.app.push_screen(picker, closed)

    def _cancel(
        self,
        patient: PatientSummary,
        booking: Booking,
        done: Callable[[Settled], None],
        again: Callable[[str], None],
    ) -> None:
        async def chosen(reason: str | None) -> None:
            if reason is None:
                again("Not cancelled: pick the outcome again.")
                return
            try:
                await self.booking.cancel_booking(patient, booking, reason)
            except (EhrError, StoreError) as exc:
                # The demo's scheduling writes to the local store: its refusal (a full disk)
                # is said like the EHR's; the words name the disk's condition, never the data.
                why = fault_words(exc) if isinstance(exc, StoreError) else str(exc)
                done(
                    Settled(
                        note=f"Not cancelled ({why}): the outcome is recorded; cancel it in "
                        "the EHR, or a callback does it later.",
                        callbacks=(CHANGE_LATER,),
                    )
                )
                return
            change = self.booking.change_made("cancelled", booking, None)
            done(Settled((change,), f"Cancelled {describe(booking)}."))

        self.screen.app.push_screen(cancel_reasons(booking), chosen)
