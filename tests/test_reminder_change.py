# SPDX-License-Identifier: GPL-2.0-or-later
"""Rescheduled and cancelled after a reminder call, on the demo's own scheduling: a real
console and engine, a SIPp patient who answers, and LocalScheduling on the console's
store (whose bookings are numbered apart from the directory's copy, so the reminded
appointment is found by its start). One that cannot be told apart from another booking
at that time is left alone; a store that refuses the change or its lookup never closes
the console and never loses the outcome."""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.app import CarelineApp
from console.controllers.reminder_change import CHANGE_LATER, matching_bookings
from console.core.ehr.local_scheduling import LocalScheduling
from console.core.ehr.scheduling import Booking, SlotQuery
from console.core.patients.directory import PatientDirectory
from console.core.store import Store
from console.core.worklists.item_appointment import ItemAppointment
from console.dialogs.choice import ChoicePicker
from console.dialogs.worklist import OutcomePicker
from tests.console_app import make_app, shows_toast, wait_for
from tests.ehr_console import MARIA_BIRTH, tomorrow_nine
from tests.patients import patient_record
from tests.support import Sipp, free_udp_port
from tests.test_worklist_booking import TWO_A_DAY, call_maria, remind, saved
from tests.tiny_disk import TinyDisk
from tests.worklist_console import config as worklist_config

FHIR_ID = "mrn-7"
"""Maria's id in the demo's scheduling (the demo's: the MRN in lower case)."""


async def maria_booked(path: Path, clinicians: tuple[str, ...]) -> list[Booking]:
    """Maria in the directory, and one booking of hers tomorrow at nine with each of
    ``clinicians`` in the demo's scheduling (on the store at ``path``)."""
    store = await Store.open(path)
    try:
        record = patient_record("MRN-7", "Maria", "Lopez", MARIA_BIRTH, phone="+12025550142")
        await PatientDirectory(store, "US").import_records(
            [dataclasses.replace(record, fhir_id=FHIR_ID)]
        )
        scheduling = LocalScheduling(store)
        start = tomorrow_nine()
        booked = []
        for clinician in clinicians:
            schedule = await scheduling.add_schedule(
                clinician, "Riverside Clinic", "general", start, 1, 20
            )
            query = SlotQuery(start, start + timedelta(minutes=1), schedule_ids=(schedule,))
            [offer] = await scheduling.free_slots(query)
            booked.append(await scheduling.book(FHIR_ID, offer, request_id=uuid.uuid4().hex))
        return booked
    finally:
        await store.close()


@asynccontextmanager
async def demo_reminder_call(
    tmp_path: Path, store_path: Path, booked: Booking
) -> AsyncIterator[tuple[CarelineApp, Pilot[int], Sipp, str]]:
    """A console on the demo's scheduling (its store at ``store_path``) with a reminder
    item about ``booked`` as the directory names it, called and verified, hung up: the
    outcome picker is up. The app, its pilot, the patient and the item id."""
    port = free_udp_port()
    app = make_app(tmp_path, worklist_config(f"127.0.0.1:{port}") + TWO_A_DAY)
    app.wiring = dataclasses.replace(app.wiring, local_scheduling=True, store_path=store_path)
    app.held.retry_s = 0.3
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        # The directory's copy: another id than the scheduling's, the same start.
        item = await remind(app, dataclasses.replace(booked, appointment_id=FHIR_ID))
        patient = await call_maria(app, pilot, tmp_path, port)
        yield app, pilot, patient, item


async def statuses(app: CarelineApp) -> list[str]:
    """Every booking's status in the demo's scheduling, the earliest first."""
    rows = await app.services.store.fetch_all("SELECT status FROM bookings ORDER BY starts_at, id")
    return [str(row[0]) for row in rows]


async def callback_reasons(app: CarelineApp) -> list[str]:
    """The reasons of the callbacks due in the next two days."""
    later = app.services.clock() + timedelta(days=2)
    return [callback.reason for callback in await app.services.interactions.callbacks(later)]


def test_the_reminded_id_picks_its_booking_and_a_start_only_one_alone() -> None:
    start = tomorrow_nine()
    ours = Booking("a-1", "1", "booked", start, start + timedelta(minutes=20), ("s-1",))
    other = dataclasses.replace(ours, appointment_id="a-2", slot_ids=("s-2",))
    by_id = ItemAppointment("Appointment/a-1", start)
    assert matching_bookings([other, ours], by_id) == [ours]
    unknown = ItemAppointment("Appointment/mrn-7", start)  # the demo's directory copy
    assert matching_bookings([ours], unknown) == [ours]
    assert matching_bookings([other, ours], unknown) == [other, ours]  # which? neither
    later = ItemAppointment("Appointment/mrn-7", start + timedelta(hours=1))
    assert matching_bookings([ours], later) == []


async def test_an_appointment_not_told_apart_from_another_at_its_time_is_left_alone(
    tmp_path: Path,
) -> None:
    """Maria has two bookings at the reminded time, neither by the reminded id: which one
    the reminder is about cannot be known, so neither is cancelled (the outcome is saved,
    and the agent told to change it in the EHR)."""
    path = tmp_path / "store.sqlite3"
    booked = await maria_booked(path, ("Dr Amara Osei", "Dr Ben Carter"))
    async with demo_reminder_call(tmp_path, path, booked[0]) as (app, pilot, patient, item):
        await pilot.press("3")  # cancelled: which of the two nine o'clocks?
        outcome, appointments = await saved(app, pilot, item)
        assert not isinstance(app.screen, ChoicePicker)  # no reason asked: nothing cancelled
        assert shows_toast(app, "cannot be identified")
        assert await statuses(app) == ["booked", "booked"]
        assert patient.wait() == 0, patient.report()
    assert (outcome, appointments) == ("cancelled", [])


async def test_a_full_disk_while_cancelling_is_said_and_the_outcome_asked_again(
    tmp_path: Path, tiny_disk: TinyDisk
) -> None:
    """The store's disk fills while the agent picks the cancellation's reason: neither the
    cancellation nor the outcome can be written. The console stays up, says so and asks
    for the outcome again, the appointment still booked; once space returns, cancelled
    picked again cancels it and the outcome is saved (nothing left to do later)."""
    path = tiny_disk.path / "store.sqlite3"
    [booked] = await maria_booked(path, ("Dr Amara Osei",))
    async with demo_reminder_call(tmp_path, path, booked) as (app, pilot, patient, item):
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="reasons")
        tiny_disk.fill()
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: shows_toast(app, "Outcome not saved"), 10, "said")
        assert shows_toast(app, "is full")
        await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), what="asked again")
        assert app.is_running
        assert await statuses(app) == ["booked"]
        tiny_disk.free()
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="reasons")
        await pilot.press("down", "enter")
        outcome, appointments = await saved(app, pilot, item)
        assert shows_toast(app, "Cancelled")
        await wait_for(pilot, lambda: app.held.count == 0, 10, "held writes saved")
        assert await statuses(app) == ["cancelled"]
        assert CHANGE_LATER not in await callback_reasons(app)
        assert patient.wait() == 0, patient.report()
    assert outcome == "cancelled"
    assert [(a["id"], a["change"]) for a in appointments] == [(booked.appointment_id, "cancelled")]


async def test_a_store_that_cannot_read_the_bookings_is_said_and_the_outcome_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's scheduling cannot read Maria's bookings (the disk fails the read: SQLite's
    own error, as a read raises it): the console stays up, the appointment is left as it
    is and the outcome is saved, with why."""
    path = tmp_path / "store.sqlite3"
    [booked] = await maria_booked(path, ("Dr Amara Osei",))

    async def refused(self: LocalScheduling, patient_id: str, *, since: datetime) -> list[Booking]:
        del self, patient_id, since
        raise sqlite3.OperationalError("disk I/O error")

    async with demo_reminder_call(tmp_path, path, booked) as (app, pilot, patient, item):
        monkeypatch.setattr(LocalScheduling, "bookings", refused)
        await pilot.press("3")
        outcome, appointments = await saved(app, pilot, item)
        assert not isinstance(app.screen, ChoicePicker)  # no reason asked: nothing to cancel
        assert shows_toast(app, "Outcome saved: Cancelled")
        assert shows_toast(app, "The appointment was not changed (the disk")
        assert await statuses(app) == ["booked"]
        assert patient.wait() == 0, patient.report()
    assert (outcome, appointments) == ("cancelled", [])
