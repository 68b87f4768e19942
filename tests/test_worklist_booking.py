# SPDX-License-Identifier: GPL-2.0-or-later
"""Rescheduled and cancelled after a reminder call change the appointment it is about
(issue 19), end to end: a real console (Pilot) and engine, a SIPp patient who answers,
and a real FHIR R4 server (sekmet-fhir, SMART sign-in) as the clinic's EHR.

Only after the person who answered is verified; without an EHR link, or when the EHR
cannot do it, the outcome is saved all the same and the agent is told.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.app import CarelineApp
from console.core.ehr.client import FhirClient
from console.core.ehr.fhir_scheduling import FhirScheduling
from console.core.ehr.scheduling import Booking, SlotQuery
from console.core.patients.directory import PatientDirectory
from console.core.store import Store
from console.core.worklists.calling import utc_text
from console.dialogs.choice import ChoicePicker
from console.dialogs.slot_picker import SlotPicker
from console.dialogs.verify import VerifyDialog
from console.dialogs.worklist import OutcomePicker, WorklistPreview
from console.widgets.patient_card import PatientCard
from tests.console_app import make_app, shows_toast, wait_for
from tests.ehr_console import MARIA_BIRTH, ehr_config, ehr_yaml, maria_in_both, tomorrow_nine
from tests.fhir_server import FhirServer
from tests.patients import patient_record
from tests.support import Sipp, free_udp_port
from tests.test_console_booking import clinic as clinic
from tests.test_console_booking import ehr as ehr
from tests.worklist_console import config as worklist_config

TWO_A_DAY = "  max_calls_per_day: 2\n"
"""A second call the same day (the worklists section's last line): a test calls twice."""


async def maria_reminded(ehr: FhirServer, tmp_path: Path) -> tuple[str, Booking]:
    """Maria in the EHR and the console's directory, with an appointment booked in the
    EHR; her EHR id and the booking."""
    fhir_id = await maria_in_both(ehr, tmp_path / "store.sqlite3")
    return fhir_id, await booked_for(ehr, fhir_id)


@asynccontextmanager
async def reminder_call(
    tmp_path: Path,
    ehr_section: str,
    reminded: Booking | None,
    *,
    verify: bool = True,
    hang_up: bool = True,
) -> AsyncIterator[tuple[CarelineApp, Pilot[int], Sipp, str]]:
    """A console (its EHR link ``ehr_section``) with a reminder item about ``reminded``,
    called (see :func:`call_maria`): the app, its pilot, the patient and the item id."""
    port = free_udp_port()
    app = make_app(tmp_path, worklist_config(f"127.0.0.1:{port}") + TWO_A_DAY + ehr_section)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        item = await remind(app, reminded)
        patient = await call_maria(app, pilot, tmp_path, port, verify=verify, hang_up=hang_up)
        yield app, pilot, patient, item


async def booked_for(ehr: FhirServer, fhir_id: str) -> Booking:
    """An appointment for the patient in the EHR (the one the reminder is about)."""
    client = FhirClient.from_config(ehr_config(ehr))
    try:
        scheduling = FhirScheduling(client)
        start = tomorrow_nine()
        offers = await scheduling.free_slots(SlotQuery(start, start + timedelta(days=1)))
        return await scheduling.book(fhir_id, offers[-1], request_id=uuid.uuid4().hex)
    finally:
        await client.aclose()


async def statuses(ehr: FhirServer, fhir_id: str) -> dict[str, str]:
    """The patient's EHR appointments: id → status."""
    client = FhirClient.from_config(ehr_config(ehr))
    try:
        found = await client.search("Appointment", {"patient": f"Patient/{fhir_id}"})
    finally:
        await client.aclose()
    return {str(a["id"]): str(a["status"]) for a in found}


async def remind(app: CarelineApp, booking: Booking | None) -> str:
    """A reminder item for Maria (the directory's patient MRN-7), about ``booking``; its id."""
    item = uuid.uuid4().hex
    store = app.services.store
    now = utc_text(app.services.clock())
    [(patient_id,)] = await store.fetch_all("SELECT id FROM patients WHERE mrn = 'MRN-7'")
    async with store.transaction() as db:
        await db.execute(
            """INSERT INTO worklist_items (id, list_id, kind, dedupe_key, patient_id, reason,
                   script_id, due_from, due_until, generated_on, attempts, max_attempts,
                   spacing_minutes, next_attempt_at, state, updated_at, appointment_id,
                   appointment_start, appointment_service, appointment_clinician)
               VALUES (?, 'appointment-reminders', 'appointment_reminder', ?, ?,
                   'Reminder: general', 'appointment-reminder-confirmation', ?, '2999-01-01',
                   ?, 0, 3, 120, ?, 'pending', ?, ?, ?, 'general', 'Dr Amara Osei')""",
            (
                item,
                item,
                patient_id,
                now[:10],
                now[:10],
                now,
                now,
                f"Appointment/{booking.appointment_id}" if booking else None,
                utc_text(booking.start) if booking else None,
            ),
        )
    return item


async def call_maria(
    app: CarelineApp,
    pilot: Pilot[int],
    tmp_path: Path,
    port: int,
    *,
    verify: bool = True,
    hang_up: bool = True,
) -> Sipp:
    """W, Enter: Maria (SIPp) answers; verified with two identifiers if ``verify``; if
    ``hang_up``, the agent hangs up and the outcome picker is up."""
    patient = Sipp(tmp_path, "uas_target_answers.xml", port=port)
    patient.wait_listening()
    await pilot.press("W")
    await wait_for(pilot, lambda: isinstance(app.screen, WorklistPreview), what="preview")
    await pilot.press("enter")
    screen = app.agent_screen
    await wait_for(pilot, lambda: screen.guidance.current() is not None, 15, "answered")
    card = screen.query_one(PatientCard)
    await wait_for(pilot, lambda: card.matches is not None, what="screen pop")
    if verify:
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, VerifyDialog), what="verify form")
        await pilot.press(*MARIA_BIRTH, "enter", *"lopez", "enter")
        await wait_for(pilot, lambda: card.context is not None, what="verified")
    if hang_up:
        await hang_up_and_pick(app, pilot)
    return patient


async def hang_up_and_pick(app: CarelineApp, pilot: Pilot[int]) -> None:
    await pilot.press("h")
    await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), 15, "outcome picker")


async def saved(app: CarelineApp, pilot: Pilot[int], item: str) -> tuple[str, list[dict[str, str]]]:
    """Once the outcome is saved: the item's outcome and the appointments the call's
    interaction records."""
    await wait_for(pilot, lambda: app.agent_screen.worklist.attempt is None, 15, "saved")
    await pilot.pause(0.3)
    [(outcome,)] = await app.services.store.fetch_all(
        "SELECT outcome FROM worklist_items WHERE id = ?", (item,)
    )
    [(appointments,)] = await app.services.store.fetch_all(
        "SELECT appointments FROM interactions ORDER BY rowid DESC LIMIT 1"
    )
    return str(outcome), json.loads(appointments)


async def audited(app: CarelineApp, action: str) -> list[str]:
    rows = await app.services.store.fetch_all(
        "SELECT outcome FROM audit WHERE action = ? AND category = 'appointments' ORDER BY seq",
        (action,),
    )
    return [str(row[0]) for row in rows]


@pytest.mark.usefixtures("clinic")
async def test_rescheduled_moves_the_reminded_appointment(tmp_path: Path, ehr: FhirServer) -> None:
    fhir_id, reminded = await maria_reminded(ehr, tmp_path)
    async with reminder_call(tmp_path, ehr_yaml(ehr), reminded) as (app, pilot, patient, item):
        await pilot.press("2")  # rescheduled: the slot picker, to move the appointment
        await wait_for(pilot, lambda: isinstance(app.screen, SlotPicker), what="slot picker")
        picker = app.screen
        assert isinstance(picker, SlotPicker)
        await wait_for(pilot, lambda: bool(picker.offers), what="free slots")
        assert "Move" in picker.title_text
        new_start = picker.offers[0].start
        await pilot.press("enter")
        outcome, appointments = await saved(app, pilot, item)
        assert shows_toast(app, "Moved to")
        assert await audited(app, "reschedule") == ["ok"]
        assert patient.wait() == 0, patient.report()
    assert outcome == "rescheduled"
    [moved] = appointments
    assert (moved["change"], moved["replaces"]) == ("moved", reminded.appointment_id)
    now = await statuses(ehr, fhir_id)
    assert now[reminded.appointment_id] == "cancelled"
    assert now[moved["id"]] == "booked"
    assert new_start != reminded.start


@pytest.mark.usefixtures("clinic")
async def test_moved_with_k_on_the_call_is_not_moved_again_by_the_outcome(
    tmp_path: Path, ehr: FhirServer
) -> None:
    """Once verified, k works on the worklist call as on a call in; what it did is
    recorded with the outcome, which then changes nothing twice."""
    fhir_id, reminded = await maria_reminded(ehr, tmp_path)
    on_call = reminder_call(tmp_path, ehr_yaml(ehr), reminded, hang_up=False)
    async with on_call as (app, pilot, patient, item):
        card = app.agent_screen.query_one(PatientCard)
        await wait_for(pilot, lambda: card.bookings is not None, what="the EHR's appointments")
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="choices")
        await pilot.press("down", "enter")  # Move the (one) listed appointment
        await wait_for(pilot, lambda: isinstance(app.screen, SlotPicker), what="slot picker")
        picker = app.screen
        assert isinstance(picker, SlotPicker)
        await wait_for(pilot, lambda: bool(picker.offers), what="free slots")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, SlotPicker), what="moved")
        await hang_up_and_pick(app, pilot)
        await pilot.press("2")  # rescheduled: already done on the call
        outcome, appointments = await saved(app, pilot, item)
        assert not isinstance(app.screen, SlotPicker)
        assert patient.wait() == 0, patient.report()
    assert outcome == "rescheduled"
    [moved] = appointments
    assert (moved["change"], moved["replaces"]) == ("moved", reminded.appointment_id)
    now = await statuses(ehr, fhir_id)
    assert sorted(now.values()) == ["booked", "cancelled"]


@pytest.mark.usefixtures("clinic")
async def test_cancelled_cancels_it_with_a_reason_and_not_before_verification(
    tmp_path: Path, ehr: FhirServer
) -> None:
    fhir_id, reminded = await maria_reminded(ehr, tmp_path)
    unverified = reminder_call(tmp_path, ehr_yaml(ehr), reminded, verify=False)
    async with unverified as (app, pilot, patient, item):
        await pilot.press("3")  # cancelled, but nobody was verified: nothing changes
        await wait_for(pilot, lambda: shows_toast(app, "not verified"), what="said")
        await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), what="asked again")
        assert (await statuses(ehr, fhir_id))[reminded.appointment_id] == "booked"
        await pilot.press("b", "3")  # with a callback to verify and change it: saved
        outcome, appointments = await saved(app, pilot, item)
        later = app.services.clock() + timedelta(days=1)
        assert len(await app.services.interactions.callbacks(later)) == 1
        assert patient.wait() == 0, patient.report()
    assert (outcome, appointments) == ("cancelled", [])
    assert (await statuses(ehr, fhir_id))[reminded.appointment_id] == "booked"

    # Called again: verified, so cancelled cancels it, with a reason.
    async with reminder_call(tmp_path, ehr_yaml(ehr), reminded) as (app, pilot, patient, item):
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="reasons")
        await pilot.press("down", "enter")  # patient feels better
        outcome, appointments = await saved(app, pilot, item)
        assert shows_toast(app, "Cancelled")
        assert await audited(app, "cancel") == ["ok"]
        assert patient.wait() == 0, patient.report()
    assert outcome == "cancelled"
    assert [(a["id"], a["change"]) for a in appointments] == [
        (reminded.appointment_id, "cancelled")
    ]
    assert (await statuses(ehr, fhir_id))[reminded.appointment_id] == "cancelled"


@pytest.mark.usefixtures("clinic")
async def test_an_ehr_that_cannot_change_it_never_loses_the_outcome(
    tmp_path: Path, ehr: FhirServer
) -> None:
    """The EHR link points at a port nobody answers: verification still works (the local
    directory), the change cannot be made, the outcome is saved and the failure said."""
    fhir_id, reminded = await maria_reminded(ehr, tmp_path)
    dead = ehr_yaml(ehr).replace(ehr.base_url, f"http://127.0.0.1:{free_udp_port()}/fhir")
    async with reminder_call(tmp_path, dead, reminded) as (app, pilot, patient, item):
        await pilot.press("2")
        outcome, appointments = await saved(app, pilot, item)
        assert shows_toast(app, "The appointment was not changed")
        assert shows_toast(app, "Outcome saved: Rescheduled")
        assert patient.wait() == 0, patient.report()
    assert (outcome, appointments) == ("rescheduled", [])
    assert (await statuses(ehr, fhir_id))[reminded.appointment_id] == "booked"


async def test_without_an_ehr_link_the_outcome_is_recorded_and_said(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        record = patient_record("MRN-7", "Maria", "Lopez", MARIA_BIRTH, phone="+12025550142")
        await PatientDirectory(store, "US").import_records([record])
    finally:
        await store.close()
    async with reminder_call(tmp_path, "", None) as (app, pilot, patient, item):
        await pilot.press("3")
        outcome, appointments = await saved(app, pilot, item)
        assert shows_toast(app, "No EHR link here")
        assert patient.wait() == 0, patient.report()
    assert (outcome, appointments) == ("cancelled", [])
